// The studio page's entry point: loads the models, shows only the pages they support (each its own
// URL: #/generate, #/breed, ...), restores the saved session, runs the Generate page and the keyboard
// shortcuts. Breed lives in breed.js (photo in: photo.js), the tree in tree.js, Mix in mix.js, Edit in
// edit.js, the large view and share links in viewer.js, Interpolate and the image tools in tools.js.

import { setupBreed } from "./breed.js";
import {
  $, addEntry, attempt, canDo, card, changed, el, fillSelect, history, keep, modelInfo, pixelClass, randomSeed,
  record, redo, setStatus, state, toggleParent, toggleStar, undo,
} from "./common.js";
import { setupEdit } from "./edit.js";
import { cancelNewest, runJob } from "./jobs.js";
import { setupMix } from "./mix.js";
import { setupPhoto } from "./photo.js";
import { load, save } from "./store.js";
import { setupImageTools, setupInterpolate, showImageTask } from "./tools.js";
import { renderFavourites, renderTree } from "./tree.js";
import { openViewer, setupViewer, showShared, shownId, step } from "./viewer.js";

const PAGES = [
  ["generate", "Generate", "generate"], ["breed", "Breed", "breed"], ["interpolate", "Interpolate", "interpolate"],
  ["mix", "Mix", "mix"], ["edit", "Edit", "generate"], ["translate", "Translate", "translate"],
  ["upscale", "Upscale", "upscale"], ["colorize", "Colorize", "colorize"], ["inpaint", "Inpaint", "inpaint"],
];
const IMAGE_TASKS = ["translate", "upscale", "colorize", "inpaint"];
let pages = [];  // the pages the loaded models support, in order

function showTab(name) {
  for (const button of $("tabs").children) button.setAttribute("aria-selected", String(button.dataset.tab === name));
  const section = IMAGE_TASKS.includes(name) ? "image" : name;
  for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.id !== `tab-${section}`;
  if (IMAGE_TASKS.includes(name)) showImageTask(name);
  document.body.dataset.tab = name;
  const title = PAGES.find(([page]) => page === name)?.[1] ?? "Shared image";
  document.title = `${title} · ganforge studio`;
}

// #/<page>, or #/image?<recipe> for a share link; anything else shows the first page.
function route() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  if (path === "image" && query) {
    showTab("shared");
    showShared(new URLSearchParams(query));
    return;
  }
  const page = pages.includes(path) ? path : pages[0];
  if (page) showTab(page);
}

function listModels() {
  $("models").replaceChildren(...state.models.map((m) => el("li", { dataset: { model: m.name } },
    el("strong", {}, m.name), " ", el("span", { class: "caps" }, `${m.recipe}: ${m.capabilities.join(", ")}`))));
  const styleModels = canDo("generate").filter((m) => m.layer_groups && m.layer_groups.length);
  const tabs = PAGES.filter(([page, , capability]) => (page === "mix" ? styleModels.length : canDo(capability).length) > 0);
  pages = tabs.map(([page]) => page);
  $("tabs").replaceChildren(...tabs.map(([page, title], i) => el("button", {
    type: "button", role: "tab", dataset: { tab: page }, title: `${title} (${i + 1})`,
    onclick: () => { location.hash = `#/${page}`; },
  }, title)));
  if (!tabs.length) setStatus("No model can be used in the studio.", true);
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

async function newImage(makeCurrent = true) {
  const options = genOptions();
  const seed = randomSeed();
  const result = await attempt("Generating", () => runJob("generate", { ...options, seeds: [seed] }, "Generating"));
  if (!result) return;
  const [entry] = entriesFrom(result, options);
  const img = $("hero-img");
  img.src = entry.png;
  img.className = pixelClass(entry);
  img.dataset.id = String(entry.id);
  img.dataset.seed = String(seed);
  $("hero-caption").textContent = `seed ${seed}` + (entry.class_index !== null ? `, class ${genModel().class_names[entry.class_index]}` : "");
  const query = new URLSearchParams({ model: options.model, seed: String(seed), scale: "8" });
  if (options.class_index !== undefined) query.set("class_index", String(options.class_index));
  if (options.truncation !== undefined) query.set("truncation", String(options.truncation));
  $("hero-download").href = `/api/generate.png?${query}`;
  $("hero-download").download = `${options.model}-seed${seed}.png`;
  if (makeCurrent || state.current === null) state.current = entry.id;
  changed();
}

async function seedGrid() {
  const options = genOptions();
  const first = Math.max(0, Number($("grid-seed").value) || 0);
  const count = Math.min(Math.max(1, Number($("grid-count").value) || 1), state.limits.max_images || 64);
  const result = await attempt("Drawing the seed grid",
    () => runJob("generate", { ...options, seed: first, count }, "Drawing the seed grid"));
  if (!result) return;
  const entries = entriesFrom(result, options);
  $("grid").dataset.ids = entries.map((e) => e.id).join(",");
  changed();
}

function renderGrid() {
  const ids = ($("grid").dataset.ids || "").split(",").filter(Boolean).map(Number).filter((id) => state.entries.has(id));
  $("grid").replaceChildren(...ids.map((id) => card(state.entries.get(id), "", ids)));
  const heroId = Number($("hero-img").dataset.id);
  $("hero-img").classList.toggle("selected", state.parents.includes(heroId));
  $("hero-parent").textContent = state.parents.includes(heroId) ? "Parent ✓" : "Use as parent";
  $("hero-star").textContent = state.favourites.includes(heroId) ? "★ Starred" : "☆ Star";
}

function setupGenerate() {
  const generators = canDo("generate");
  if (!generators.length) return false;
  fillSelect($("gen-model"), generators.map((m) => [m.name, m.name]));
  $("gen-model").addEventListener("change", () => { onGenModel(); newImage(); });
  $("gen-class").addEventListener("change", newImage);
  $("gen-trunc").addEventListener("input", () => { $("gen-trunc-value").textContent = $("gen-trunc").value; });
  $("gen-trunc").addEventListener("change", newImage);
  $("gen-new").addEventListener("click", () => newImage());
  $("grid-go").addEventListener("click", seedGrid);
  const hero = () => Number($("hero-img").dataset.id) || null;
  $("hero-img").addEventListener("click", () => hero() && openViewer(hero()));
  $("hero-parent").addEventListener("click", () => hero() && toggleParent(hero()));
  $("hero-star").addEventListener("click", () => hero() && toggleStar(hero()));
  state.listeners.push(renderGrid);
  onGenModel();
  return true;
}

// Keyboard shortcuts -------------------------------------------------------------------------------

function subject() { return shownId() ?? state.current; }

function onKey(event) {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName) && event.target.type !== "range";
  const key = event.key;
  if ((event.ctrlKey || event.metaKey) && !typing) {
    if (key.toLowerCase() === "z") { event.preventDefault(); (event.shiftKey ? redo : undo)(); }
    else if (key.toLowerCase() === "y") { event.preventDefault(); redo(); }
    return;
  }
  if (key === "Escape") {  // the open dialog closes itself; otherwise the newest job is cancelled
    if (!$("viewer").open && !$("help").open) cancelNewest();
    return;
  }
  if (typing || event.altKey || event.ctrlKey || event.metaKey) return;
  if (shownId() !== null && (key === "ArrowLeft" || key === "ArrowRight")) { step(key === "ArrowLeft" ? -1 : 1); return; }
  const id = subject();
  const actions = {
    n: () => newImage(), b: () => $("breed-go").click(), z: undo, Z: redo, y: redo,
    s: () => id && toggleStar(id), p: () => id && toggleParent(id),
    k: () => { if (id) { record(`keep #${id}`); keep(id); changed(); } },
    "?": () => $("help").showModal(),
  };
  if (/^[1-9]$/.test(key) && pages[Number(key) - 1]) { location.hash = `#/${pages[Number(key) - 1]}`; return; }
  if (actions[key]) { event.preventDefault(); actions[key](); }
}

function renderHistory() {
  const { undo: u, redo: r } = history();
  $("undo").disabled = u === 0;
  $("redo").disabled = r === 0;
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
  const canGenerate = setupGenerate();
  setupBreed();
  setupPhoto();
  setupMix();
  setupInterpolate();
  setupImageTools();
  setupViewer();
  state.listeners.push(renderTree, renderFavourites, renderHistory);
  const restored = await load().catch(() => false);
  if (restored) $("lineage-note").textContent = `Restored your session: ${state.kept.size} images in the tree, ${state.favourites.length} starred`;
  state.listeners.push(save);
  await setupEdit();
  $("undo").addEventListener("click", undo);
  $("redo").addEventListener("click", redo);
  $("help-open").addEventListener("click", () => $("help").showModal());
  $("help-close").addEventListener("click", () => $("help").close());
  $("session-clear").addEventListener("click", () => {
    record("clear the tree");
    state.kept = new Set();
    state.favourites = [];
    state.parents = [];
    changed();
  });
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", route);
  route();
  changed();
  if (canGenerate) await newImage(false);  // a new image on every visit
  document.body.dataset.ready = "true";
}

main();
