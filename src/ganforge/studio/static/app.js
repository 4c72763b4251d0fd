// The studio page's entry point: loads the models, shows only the tabs they support, and runs the
// Generate tab. Breed and lineage live in breed.js; Interpolate and the image tools in tools.js.

import { setupBreed } from "./breed.js";
import {
  $, addEntry, attempt, canDo, card, changed, el, fillSelect, modelInfo, postJSON, randomSeed, setStatus, state,
  toggleParent,
} from "./common.js";
import { setupImageTools, setupInterpolate, showImageTask } from "./tools.js";

const TABS = [
  ["generate", "Generate"], ["breed", "Breed"], ["interpolate", "Interpolate"],
  ["translate", "Translate"], ["upscale", "Upscale"], ["colorize", "Colorize"], ["inpaint", "Inpaint"],
];
const IMAGE_TASKS = ["translate", "upscale", "colorize", "inpaint"];

function showTab(name) {
  for (const button of $("tabs").children) button.setAttribute("aria-selected", String(button.dataset.tab === name));
  const section = IMAGE_TASKS.includes(name) ? "image" : name;
  for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.id !== `tab-${section}`;
  if (IMAGE_TASKS.includes(name)) showImageTask(name);
  document.body.dataset.tab = name;
}

function listModels() {
  $("models").replaceChildren(...state.models.map((m) => el("li", { dataset: { model: m.name } },
    el("strong", {}, m.name), " ", el("span", { class: "caps" }, `${m.recipe}: ${m.capabilities.join(", ")}`))));
  const tabs = TABS.filter(([capability]) => canDo(capability).length > 0);
  $("tabs").replaceChildren(...tabs.map(([capability, title]) =>
    el("button", { type: "button", role: "tab", dataset: { tab: capability }, onclick: () => showTab(capability) }, title)));
  if (tabs.length) showTab(tabs[0][0]);
  else setStatus("No model can be used in the studio.", true);
}

// Generate -----------------------------------------------------------------------------------------

function genModel() { return modelInfo($("gen-model").value); }

function genOptions() {
  const model = genModel();
  const options = { model: model.name };
  if (model.num_classes) options.class_index = Number($("gen-class").value);
  if (model.truncation) options.truncation = Number($("gen-trunc").value);
  return options;
}

function onGenModel() {
  const model = genModel();
  $("gen-class-label").hidden = !model.num_classes;
  fillSelect($("gen-class"), model.class_names.map((name, i) => [String(i), name]));
  $("gen-trunc-label").hidden = !model.truncation;
}

function entriesFrom(result, options) {
  return result.images.map((image) => addEntry({
    model: result.model, kind: "seed", seed: image.seed, z: image.z, class_index: image.class_index,
    truncation: options.truncation ?? null, png: image.png,
  }));
}

async function newImage() {
  const options = genOptions();
  const seed = randomSeed();
  const result = await attempt("Generating", () => postJSON("/api/generate", { ...options, seeds: [seed] }));
  if (!result) return;
  const [entry] = entriesFrom(result, options);
  const img = $("hero-img");
  img.src = entry.png;
  img.dataset.id = String(entry.id);
  img.dataset.seed = String(seed);
  $("hero-caption").textContent = `seed ${seed}` + (entry.class_index !== null ? `, class ${genModel().class_names[entry.class_index]}` : "");
  const query = new URLSearchParams({ model: options.model, seed: String(seed), scale: "8" });
  if (options.class_index !== undefined) query.set("class_index", String(options.class_index));
  if (options.truncation !== undefined) query.set("truncation", String(options.truncation));
  $("hero-download").href = `/api/generate.png?${query}`;
  $("hero-download").download = `${options.model}-seed${seed}.png`;
  changed();
}

async function seedGrid() {
  const options = genOptions();
  const first = Math.max(0, Number($("grid-seed").value) || 0);
  const count = Math.min(Math.max(1, Number($("grid-count").value) || 1), state.limits.max_images || 64);
  const result = await attempt("Drawing the seed grid",
    () => postJSON("/api/generate", { ...options, seed: first, count }));
  if (!result) return;
  const entries = entriesFrom(result, options);
  $("grid").dataset.ids = entries.map((e) => e.id).join(",");
  changed();
}

function renderGrid() {
  const ids = ($("grid").dataset.ids || "").split(",").filter(Boolean).map(Number);
  $("grid").replaceChildren(...ids.map((id) => card(state.entries.get(id))));
  const heroId = Number($("hero-img").dataset.id);
  $("hero-img").classList.toggle("selected", state.parents.includes(heroId));
}

function setupGenerate() {
  const generators = canDo("generate");
  if (!generators.length) return;
  fillSelect($("gen-model"), generators.map((m) => [m.name, m.name]));
  $("gen-model").addEventListener("change", () => { onGenModel(); newImage(); });
  $("gen-class").addEventListener("change", newImage);
  $("gen-trunc").addEventListener("input", () => { $("gen-trunc-value").textContent = $("gen-trunc").value; });
  $("gen-trunc").addEventListener("change", newImage);
  $("gen-new").addEventListener("click", newImage);
  $("grid-go").addEventListener("click", seedGrid);
  $("hero-img").addEventListener("click", () => {
    const id = Number($("hero-img").dataset.id);
    if (id) toggleParent(id);
  });
  state.listeners.push(renderGrid);
  onGenModel();
  newImage();  // a new image on every visit
}

async function main() {
  try {
    const response = await fetch("/api/models");
    const body = await response.json();
    state.models = body.models;
    state.limits = body.limits;
  } catch (err) {
    setStatus(`Could not list the models: ${err.message}`, true);
    return;
  }
  listModels();
  setupGenerate();
  setupBreed();
  setupInterpolate();
  setupImageTools();
  document.body.dataset.ready = "true";
}

main();
