// Edit page: the current image large, and the Genes panel of the latent-editing work (genes.js, when
// it is installed) in #genes-panel. The page tells the panel which image is current with a
// "ganforge:image" event on document ({detail: {model, seed | latent, class, truncation}}); "Keep
// this edit" reads the panel's sliders (inputs with data-gene), renders the edit through
// POST /api/edit and puts it in the family tree as a child of the image (undoable).

import { $, addEntry, attempt, changed, describe, keep, pixelClass, record, setCurrent, state } from "./common.js";
import { runJob } from "./jobs.js";

let lastShown = null;

const baseOf = (entry) => (entry.kind === "edit" ? state.entries.get(entry.parents[0]) || entry : entry);

function imageDetail(entry) {
  const base = baseOf(entry);
  const detail = { model: base.model, class: base.class_index ?? null, truncation: base.truncation ?? null };
  if (base.kind === "seed") detail.seed = base.seed;
  else detail.latent = base.z;
  return detail;
}

function renderEdit() {
  const entry = state.entries.get(state.current);
  $("edit-empty").hidden = Boolean(entry);
  $("edit-figure").hidden = !entry;
  if (!entry) return;
  $("edit-img").src = entry.png;
  $("edit-img").className = pixelClass(entry);
  $("edit-caption").textContent = describe(entry);
  if (lastShown !== entry.id && document.body.dataset.tab === "edit") {
    lastShown = entry.id;
    document.dispatchEvent(new CustomEvent("ganforge:image", { detail: imageDetail(entry) }));
  }
}

async function keepEdit() {
  const entry = state.entries.get(state.current);
  if (!entry) return;
  const genes = Object.fromEntries([...$("genes-panel").querySelectorAll("input[data-gene]")]
    .map((input) => [input.dataset.gene, Number(input.value)]).filter(([, v]) => v !== 0));
  if (!Object.keys(genes).length) { $("edit-note").textContent = "move a gene slider first"; return; }
  const base = baseOf(entry);
  const detail = imageDetail(entry);
  const body = { model: base.model, genes, ...(detail.seed !== undefined ? { seed: detail.seed } : { latent: detail.latent }) };
  if (detail.class !== null) body.class = detail.class;
  if (detail.truncation !== null) body.truncation = detail.truncation;
  const out = await attempt("Keeping the edit", () => runJob("edit", body, "Editing"));
  if (!out) return;
  record(`edit #${base.id}`);
  const edited = addEntry({ model: base.model, kind: "edit", parents: [base.id], genes: out.genes || genes,
    layers: null, seed: null, z: base.z, class_index: base.class_index, truncation: base.truncation, png: out.image });
  keep(edited.id);
  setCurrent(edited.id);
}

export async function setupEdit() {
  state.listeners.push(renderEdit);
  window.addEventListener("hashchange", () => setTimeout(() => { lastShown = null; renderEdit(); }));
  $("edit-keep").addEventListener("click", keepEdit);
  try {
    await import("./genes.js");  // the latent-editing work's panel, when installed; it mounts itself
    $("genes-panel").dataset.loaded = "true";
  } catch {
    $("genes-panel").append(Object.assign(document.createElement("p"), {
      className: "hint", textContent: "Genes (sliders along latent directions) appear here once the " +
        "latent-editing panel (static/genes.js) is installed.",
    }));
    $("edit-keep").hidden = true;
  }
  renderEdit();
}
