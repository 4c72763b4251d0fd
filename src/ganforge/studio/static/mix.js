// Mix page (style-based models): a grid of row and column parents, each cell the row parent with the
// chosen layer groups (coarse / middle / fine) from the column parent, as `ganforge mix` draws it.
// Parents are seeds ("12") or images of the session ("#5"); any cell can join the family tree.

import { $, addEntry, attempt, canDo, card, changed, el, fillSelect, modelInfo, state, styleBased } from "./common.js";
import { runJob } from "./jobs.js";

let grid = null;  // {rows: [id], cols: [id], cells: [[id]]}

function parse(text, what) {
  const tokens = text.split(",").map((t) => t.trim()).filter(Boolean);
  if (!tokens.length) throw new Error(`give at least one ${what} parent: seeds like 4,5 or images like #3`);
  return tokens.map((token) => {
    if (token.startsWith("#")) {
      const entry = state.entries.get(Number(token.slice(1)));
      if (!entry) throw new Error(`${what} parent ${token}: no such image in this session`);
      return { entry };
    }
    const seed = Number(token);
    if (!Number.isInteger(seed) || seed < 0) throw new Error(`${what} parent ${token}: not a seed or #image`);
    return { seed };
  });
}

function asParent(p) { return p.entry ? { z: p.entry.z } : { seed: p.seed }; }

async function mix() {
  const model = modelInfo($("mix-model").value);
  const layers = [...document.querySelectorAll("#mix-layers input:checked")].map((i) => i.value);
  const result = await attempt("Mixing styles", async () => {
    const rows = parse($("mix-rows").value, "row");
    const cols = parse($("mix-cols").value, "column");
    if (!layers.length) throw new Error("choose at least one layer group");
    const request = { model: model.name, rows: rows.map(asParent), cols: cols.map(asParent), layers };
    if (model.truncation) request.truncation = Number($("mix-trunc").value);
    const out = await runJob("mix", request, "Mixing styles");
    return { out, rows, cols, request };
  });
  if (!result) return;
  const { out, rows, cols, request } = result;
  const make = (image, parent) => parent.entry || addEntry({ model: model.name, kind: "seed", seed: parent.seed,
    z: image.z, class_index: image.class_index, truncation: request.truncation ?? null, png: image.png });
  const rowIds = out.rows.map((image, i) => make(image, rows[i]).id);
  const colIds = out.cols.map((image, j) => make(image, cols[j]).id);
  const cells = out.cells.map((line, i) => line.map((image, j) => addEntry({
    model: model.name, kind: "mix", seed: null, z: image.z, class_index: image.class_index,
    truncation: request.truncation ?? null, png: image.png, parents: [rowIds[i], colIds[j]], layers,
  }).id));
  grid = { rows: rowIds, cols: colIds, cells };
  changed();
}

function renderGrid() {
  const box = $("mix-grid");
  if (!grid) { box.replaceChildren(); return; }
  const all = [...grid.cols, ...grid.rows, ...grid.cells.flat()];
  const show = (id, extra) => {
    const entry = state.entries.get(id);
    const node = card(entry, "", all);
    node.classList.add(extra);
    return node;
  };
  box.style.setProperty("--mix-cols", String(grid.cols.length + 1));
  box.replaceChildren(el("div", { class: "mix-corner" }, `${grid.rows.length} × ${grid.cols.length}`),
    ...grid.cols.map((id) => show(id, "mix-col")),
    ...grid.rows.flatMap((id, i) => [show(id, "mix-row"), ...grid.cells[i].map((c) => show(c, "mix-cell"))]));
}

export function setupMix() {
  const models = canDo("generate").filter(styleBased);
  if (!models.length) return false;
  fillSelect($("mix-model"), models.map((m) => [m.name, m.name]));
  const onModel = () => {
    const model = modelInfo($("mix-model").value);
    $("mix-layers").replaceChildren(...model.layer_groups.map((g, i) => el("label", {},
      el("input", { type: "checkbox", value: g, checked: i === 0 ? "" : null }), g)));
    $("mix-trunc-label").hidden = !model.truncation;
  };
  $("mix-model").addEventListener("change", onModel);
  $("mix-trunc").addEventListener("input", () => { $("mix-trunc-value").textContent = $("mix-trunc").value; });
  $("mix-parents").addEventListener("click", () => {
    if (state.parents.length) $("mix-rows").value = state.parents.map((id) => `#${id}`).join(",");
  });
  $("mix-go").addEventListener("click", mix);
  state.listeners.push(renderGrid);
  onModel();
  return true;
}
