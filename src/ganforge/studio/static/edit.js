// Edit page: the current image large, and the Genes panel of the latent-editing work (genes.js, when
// it is installed) in #genes-panel. The page tells the panel which image is current with a
// "studio:current" event ({detail: entry}); the panel reports an edit with "genes:edited"
// ({detail: {image, genes, layers}}), which enters the family tree as a child of the image and can
// be undone.

import { $, addEntry, changed, describe, keep, pixelClass, record, setCurrent, state } from "./common.js";

let lastShown = null;

function renderEdit() {
  const entry = state.entries.get(state.current);
  $("edit-empty").hidden = Boolean(entry);
  $("edit-figure").hidden = !entry;
  if (!entry) return;
  $("edit-img").src = entry.png;
  $("edit-img").className = pixelClass(entry);
  $("edit-caption").textContent = describe(entry);
  if (lastShown !== entry.id) {
    lastShown = entry.id;
    $("genes-panel").dispatchEvent(new CustomEvent("studio:current", { detail: entry }));
  }
}

export async function setupEdit() {
  const panel = $("genes-panel");
  panel.addEventListener("genes:edited", (event) => {
    const base = state.entries.get(state.current);
    if (!base) return;
    const { image, genes, layers = null } = event.detail;
    record(`edit #${base.id}`);
    const entry = addEntry({ model: base.model, kind: "edit", parents: [base.kind === "edit" ? base.parents[0] : base.id],
      genes, layers, seed: null, z: base.z, class_index: base.class_index, truncation: base.truncation, png: image });
    keep(entry.id);
    setCurrent(entry.id);
  });
  state.listeners.push(renderEdit);
  try {
    const genes = await import("./genes.js");  // the latent-editing work's panel, when installed
    if (typeof genes.mount === "function") genes.mount(panel, { state, changed });
    panel.dataset.loaded = "true";
  } catch {
    panel.append(Object.assign(document.createElement("p"), {
      className: "hint", textContent: "Genes (latent directions: sliders per direction) appear here once the " +
        "latent-editing panel is installed.",
    }));
  }
  renderEdit();
}
