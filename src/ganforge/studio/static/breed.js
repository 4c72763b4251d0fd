// Breed tab: parents with shares (per layer group for style-based models), mutation, children, and the
// lineage, which exports and imports as JSON that reproduces every image.

import {
  $, addEntry, attempt, card, changed, describe, el, keep, modelInfo, pixelClass, postJSON, randomSeed, record,
  setStatus,
  state, toggleParent,
} from "./common.js";
import { runJob } from "./jobs.js";

const LINEAGE_FORMAT = "ganforge-lineage/1";
const shareValues = new Map();  // parent id -> {group: 0..100}

function groupsOf(model) { return model.layer_groups.length ? model.layer_groups : ["all"]; }

function shareSlider(id, group) {
  const values = shareValues.get(id);
  const output = el("output", {}, String(values[group]));
  const input = el("input", { type: "range", min: "0", max: "100", step: "1", value: String(values[group]),
    dataset: { parent: String(id), group } });
  input.addEventListener("input", () => { values[group] = Number(input.value); output.textContent = input.value; });
  return el("label", {}, group === "all" ? "share" : group, input, output);
}

function renderParents() {
  const parents = state.parents.map((id) => state.entries.get(id));
  $("parents").replaceChildren(...parents.map((entry) => {
    const model = modelInfo(entry.model);
    if (!shareValues.has(entry.id)) shareValues.set(entry.id, Object.fromEntries(groupsOf(model).map((g) => [g, 50])));
    return el("div", { class: "parent", dataset: { id: String(entry.id) } },
      el("img", { src: entry.png, alt: describe(entry), class: pixelClass(entry) }),
      el("div", { class: "shares" }, el("span", {}, describe(entry)),
        ...groupsOf(model).map((g) => shareSlider(entry.id, g))),
      el("button", { type: "button", title: "remove", onclick: () => toggleParent(entry.id) }, "×"));
  }));
  $("parents-hint").hidden = parents.length > 0;
  $("breed-go").disabled = parents.length < 1;
}

function sharesFor(parents, model) {
  const groups = groupsOf(model);
  if (groups[0] === "all") return parents.map((e) => shareValues.get(e.id).all);
  return Object.fromEntries(groups.map((g) => [g, parents.map((e) => shareValues.get(e.id)[g])]));
}

const hasGenes = (entry) => Boolean(entry.genes && Object.keys(entry.genes).length);

// Children of parents with genes come from /api/edit/breed (each child carries its parents' genes
// mixed by share); plain breeding runs as a job with progress.
function breedRequest(request) {
  return request.parents.some((p) => p.genes) ? postJSON("/api/edit/breed", request) : runJob("breed", request, "Breeding");
}

async function breed() {
  const parents = state.parents.map((id) => state.entries.get(id));
  if (!parents.length) return;
  const model = modelInfo(parents[0].model);
  const inherit = parents.some(hasGenes);  // edited parents pass their genes on, mixed by share
  const request = {
    model: model.name,
    parents: parents.map((e) => ({ z: e.z, class_index: e.class_index, ...(inherit ? { genes: e.genes || {} } : {}) })),
    shares: sharesFor(parents, model),
    mutation: Number($("mutation").value),
    seed: Math.max(0, Number($("breed-seed").value) || 0),
    count: Math.min(Math.max(1, Number($("children-count").value) || 1), state.limits.max_images || 64),
  };
  if (model.truncation && parents[0].truncation !== null) request.truncation = parents[0].truncation;
  const result = await attempt("Breeding", () => breedRequest(request));
  if (!result) return;
  record(`breed ${request.count} children of ${parents.map((e) => `#${e.id}`).join(" × ")}`);
  for (const e of parents) keep(e.id);  // what was bred from enters the family tree
  const children = result.children.map((child, index) => addEntry({
    model: model.name, kind: "child", seed: null, z: child.z, class_index: child.class_index,
    truncation: request.truncation ?? null, png: child.png, parents: parents.map((e) => e.id),
    shares: request.shares, mutation: request.mutation, breed_seed: request.seed, count: request.count, index,
    ...(child.genes && Object.keys(child.genes).length ? { genes: child.genes } : {}),
  }));
  state.children = children.map((e) => e.id);
  $("breed-seed").value = String(request.seed + 1);  // breeding again gives new children
  changed();
}

function renderChildren() {
  const ids = state.children.filter((id) => state.entries.has(id));
  $("children").replaceChildren(...ids.map((id) => card(state.entries.get(id), "", ids)));
  $("children-empty").hidden = ids.length > 0;
}

// The lineage file holds the tree, the favourites, the parents and the last brood, with every
// ancestor: enough to re-render and replay all of it.
function exportLineage() {
  const ids = new Set([...state.kept, ...state.favourites, ...state.parents, ...state.children]);
  for (const id of [...ids]) for (const p of state.entries.get(id)?.parents || []) ids.add(p);
  const entries = [...ids].sort((a, b) => a - b).map((id) => state.entries.get(id)).filter(Boolean)
    .map(({ png, ...rest }) => ({ ...rest, kept: state.kept.has(rest.id), favourite: state.favourites.includes(rest.id) }));
  const text = JSON.stringify({ format: LINEAGE_FORMAT, entries }, null, 1);
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const link = el("a", { href: url, download: "ganforge-lineage.json" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  setStatus(`Exported ${entries.length} images`);
}

// Re-render every imported image from its latent, then replay each breeding to check it gives the
// same child: the file holds everything needed to reproduce the whole lineage.
async function importLineage(file) {
  const data = JSON.parse(await file.text());
  if (data.format !== LINEAGE_FORMAT || !Array.isArray(data.entries)) {
    throw new Error(`not a ${LINEAGE_FORMAT} file`);
  }
  const missing = data.entries.find((e) => !modelInfo(e.model));
  if (missing) throw new Error(`model ${missing.model} is not loaded here`);
  const fresh = new Map();
  const batches = new Map();
  // edits and children with genes re-run their edit (an edit's latent is its base image's)
  for (const entry of data.entries.filter((e) => e.kind === "edit" || hasGenes(e))) {
    const base = entry.kind === "edit" ? data.entries.find((e) => e.id === entry.parents[0]) : null;
    const body = { model: entry.model, genes: entry.genes, latent: base ? base.z : entry.z };
    if (entry.class_index !== null && entry.class_index !== undefined) body.class = entry.class_index;
    if (entry.layers) body.layers = entry.layers;
    fresh.set(entry.id, { ...entry, png: (await runJob("edit", body, "Re-applying genes")).image });
  }
  for (const entry of data.entries.filter((e) => e.kind !== "edit" && !hasGenes(e))) {
    const key = `${entry.model}|${entry.truncation}`;
    if (!batches.has(key)) batches.set(key, []);
    batches.get(key).push(entry);
  }
  const step = state.limits.max_images || 64;
  for (const group of batches.values()) {
    for (let start = 0; start < group.length; start += step) {
      const chunk = group.slice(start, start + step);
      const model = modelInfo(chunk[0].model);
      const request = { model: model.name, z: chunk.map((e) => e.z) };
      if (model.num_classes) request.classes = chunk.map((e) => e.class_index);
      if (chunk[0].truncation !== null && chunk[0].truncation !== undefined) request.truncation = chunk[0].truncation;
      const result = await runJob("generate", request, "Re-rendering the lineage");
      chunk.forEach((entry, i) => fresh.set(entry.id, { ...entry, png: result.images[i].png }));
    }
  }
  let replayed = 0;
  let exact = 0;
  for (const entry of fresh.values()) {
    if (entry.kind !== "child" || !entry.parents.every((p) => fresh.has(p))) continue;
    const parents = entry.parents.map((p) => fresh.get(p));
    const request = {
      model: entry.model,
      parents: parents.map((p) => ({ z: p.z, class_index: p.class_index, ...(hasGenes(entry) ? { genes: p.genes || {} } : {}) })),
      shares: entry.shares, mutation: entry.mutation, seed: entry.breed_seed, count: entry.index + 1,
    };
    if (entry.truncation !== null && entry.truncation !== undefined) request.truncation = entry.truncation;
    const result = await breedRequest(request);
    replayed += 1;
    if (JSON.stringify(result.children[entry.index].z) === JSON.stringify(entry.z)) exact += 1;
  }
  record("import a lineage");
  state.entries = fresh;
  state.nextId = Math.max(0, ...fresh.keys()) + 1;
  state.parents = [];
  state.children = [];
  const flagged = [...fresh.values()].some((e) => e.kept !== undefined);
  state.kept = new Set();
  for (const e of fresh.values()) if (!flagged || e.kept) keep(e.id);
  state.favourites = [...fresh.values()].filter((e) => e.favourite).map((e) => e.id);
  if (fresh.size === 1) state.parents = [...fresh.keys()];  // a projected photo from `ganforge project`
  $("grid").dataset.ids = [...fresh.values()].filter((e) => e.kind === "seed").map((e) => e.id).join(",");
  $("lineage-note").textContent = `imported ${fresh.size} images; ${exact} of ${replayed} children replayed exactly`;
  changed();
}

export function setupBreed() {
  $("mutation").addEventListener("input", () => { $("mutation-value").textContent = $("mutation").value; });
  $("breed-seed").value = String(randomSeed() % 100000);
  $("breed-go").addEventListener("click", breed);
  $("lineage-export").addEventListener("click", exportLineage);
  $("lineage-import").addEventListener("change", async (event) => {
    const [file] = event.target.files;
    if (file) await attempt("Importing the lineage", () => importLineage(file));
    event.target.value = "";
  });
  state.listeners.push(renderParents, renderChildren);
  renderParents();
}
