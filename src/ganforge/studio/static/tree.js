// The family tree (hand-written SVG: a layered layout of at most a few hundred nodes needs no library)
// and the Favourites strip. Generations run top to bottom; each edge carries the share the parent gave (or the layers a style mix took, or the genes of an edit); a bred child's label
// carries its breeding's mutation.

import { $, card, describe, el, pixelClass, setCurrent, state, toggleParent } from "./common.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE = 88;     // node image side, px
const GAP_X = 48;    // between nodes of a generation
const GAP_Y = 84;    // between generations (room for edge labels)
const PAD = 12;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

const pct = (values, i) => {
  const total = values.reduce((a, b) => a + Number(b), 0);
  return total > 0 ? `${Math.round((100 * values[i]) / total)}%` : "–";
};

// What an edge from parent slot `i` into `entry` says (the breeding's mutation is on the child's label).
export function edgeLabel(entry, i) {
  if (entry.kind === "child") {
    const shares = entry.shares;
    return Array.isArray(shares)
      ? pct(shares, i)
      : Object.entries(shares).map(([g, v]) => `${g[0]}${pct(v, i)}`).join(" ");
  }
  if (entry.kind === "mix") return i === 0 ? "base" : entry.layers.join("+");
  if (entry.kind === "edit") {
    return Object.entries(entry.genes || {}).map(([g, v]) => `${g} ${v > 0 ? "+" : ""}${v}`).join(", ") || "edit";
  }
  return "";
}

function nodeLabel(entry) {
  let text = `#${entry.id}`;
  if (entry.kind === "child") text += ` μ${entry.mutation}`;
  if (entry.kind === "photo") text += " photo";
  if (state.favourites.includes(entry.id)) text += " ★";
  return text;
}

export function layout(ids) {
  const inTree = new Set(ids);
  const depth = new Map();
  const depthOf = (id) => {
    if (depth.has(id)) return depth.get(id);
    const parents = (state.entries.get(id).parents || []).filter((p) => inTree.has(p));
    const d = parents.length ? 1 + Math.max(...parents.map(depthOf)) : 0;
    depth.set(id, d);
    return d;
  };
  const rows = [];
  for (const id of ids) (rows[depthOf(id)] ||= []).push(id);
  const x = new Map();
  rows.forEach((row, d) => {
    if (d > 0) {  // under the parents: order by their mean position, so edges cross less
      const mean = (id) => {
        const ps = (state.entries.get(id).parents || []).filter((p) => x.has(p));
        return ps.length ? ps.reduce((a, p) => a + x.get(p), 0) / ps.length : 0;
      };
      row.sort((a, b) => mean(a) - mean(b) || a - b);
    }
    row.forEach((id, i) => x.set(id, i));
  });
  const widest = Math.max(1, ...rows.map((r) => r.length));
  const pos = new Map();
  rows.forEach((row, d) => {
    const offset = ((widest - row.length) * (NODE + GAP_X)) / 2;
    row.forEach((id, i) => pos.set(id, { x: PAD + offset + i * (NODE + GAP_X), y: PAD + d * (NODE + 18 + GAP_Y) }));
  });
  return { pos, width: 2 * PAD + widest * (NODE + GAP_X) - GAP_X, height: 2 * PAD + rows.length * (NODE + 18 + GAP_Y) - GAP_Y };
}

let openViewer = () => {};
export function setTreeViewer(fn) { openViewer = fn; }

export function renderTree() {
  const box = $("tree");
  const ids = [...state.kept].filter((id) => state.entries.has(id)).sort((a, b) => a - b);
  $("tree-empty").hidden = ids.length > 0;
  if (!ids.length) { box.replaceChildren(); return; }
  const { pos, width, height } = layout(ids);
  const edges = svg("g", { class: "edges" });
  const labels = svg("g", { class: "edge-labels" });
  const nodes = svg("g", { class: "nodes" });
  const outgoing = new Map(ids.map((id) => [id, []]));  // parent -> its children in the tree, left to right
  for (const id of [...ids].sort((a, b) => pos.get(a).x - pos.get(b).x)) {
    for (const p of state.entries.get(id).parents || []) if (outgoing.has(p)) outgoing.get(p).push(id);
  }
  for (const id of ids) {
    const entry = state.entries.get(id);
    const to = pos.get(id);
    const slots = (entry.parents || []).filter((p) => pos.has(p));
    slots.forEach((p, k) => {
      const i = entry.parents.indexOf(p);
      const from = pos.get(p);
      const out = outgoing.get(p);  // spread a parent's edges along its bottom, a child's along its top
      const x1 = from.x + (NODE * (out.indexOf(id) + 1)) / (out.length + 1), y1 = from.y + NODE + 18;
      const x2 = to.x + (NODE * (k + 1)) / (slots.length + 1), y2 = to.y;
      const mid = (y1 + y2) / 2;
      edges.append(svg("path", { d: `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}`,
        class: "edge", "data-from": p, "data-to": id }));
      const text = edgeLabel(entry, i);
      if (text) {
        labels.append(svg("text", { x: x2, y: y2 - 6 - 12 * (k % 2), class: "edge-label", "data-from": p,
          "data-to": id, "text-anchor": "middle" }, text));
      }
    });
    const classes = ["node"];
    if (state.parents.includes(id)) classes.push("parent");
    if (state.current === id) classes.push("current");
    if (state.favourites.includes(id)) classes.push("starred");
    const title = svg("title", {}, describe(entry));
    nodes.append(svg("g", { class: classes.join(" "), "data-id": id, transform: `translate(${to.x},${to.y})`,
      tabindex: "0", role: "button", "aria-label": describe(entry),
      onclick: (event) => {
        if (event.shiftKey) toggleParent(id);  // shift-click: a parent at once
        else if (event.altKey) setCurrent(id);
        else openViewer(id, ids);
      },
      onkeydown: (event) => { if (event.key === "Enter") openViewer(id, ids); } },
    title,
    svg("rect", { x: -3, y: -3, width: NODE + 6, height: NODE + 24, rx: 6, class: "frame" }),
    svg("image", { href: entry.png, width: NODE, height: NODE, class: pixelClass(entry),
      preserveAspectRatio: "xMidYMid meet" }),
    svg("text", { x: NODE / 2, y: NODE + 14, "text-anchor": "middle", class: "node-label" }, nodeLabel(entry))));
  }
  box.replaceChildren(svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `family tree of ${ids.length} images` }, edges, labels, nodes));
}

export function renderFavourites() {
  const strip = $("favourites");
  const ids = state.favourites.filter((id) => state.entries.has(id));
  strip.hidden = ids.length === 0;
  $("favourites-list").replaceChildren(...ids.map((id) => card(state.entries.get(id), "", ids)));
}
