// The large view of an image (a dialog with its actions) and share links: a URL that holds an image's
// recipe (model, seed or exact latent, class, truncation, genes, lineage step), so the same studio
// renders the same image from it.

import {
  $, addEntry, attempt, changed, describe, el, keep, modelInfo, pixelClass, record, setCurrent, setViewer, state,
  toggleParent, toggleStar,
} from "./common.js";
import { runJob } from "./jobs.js";
import { setTreeViewer } from "./tree.js";

let shown = null;     // the entry id in the viewer
let gallery = [];     // ids the arrows step through

// Latents travel as base64url of their float32 bytes: exact, unlike decimal text.
export function encodeLatent(z) {
  const flat = new Float32Array(z.flat());
  let text = "";
  for (const byte of new Uint8Array(flat.buffer)) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

export function decodeLatent(text, zDim) {
  const raw = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = Uint8Array.from(raw, (c) => c.charCodeAt(0));
  const flat = [...new Float32Array(bytes.buffer)];
  if (!zDim || flat.length % zDim) throw new Error(`the link's latent does not fit this model (z_dim ${zDim})`);
  if (flat.length === zDim) return flat;
  const rows = [];
  for (let i = 0; i < flat.length; i += zDim) rows.push(flat.slice(i, i + zDim));
  return rows;
}

export function lineageStep(entry) {
  const parents = (entry.parents || []).map((p) => state.entries.get(p)).filter(Boolean);
  return parents.length ? 1 + Math.max(...parents.map(lineageStep)) : 0;
}

export function shareLink(entry) {
  const query = new URLSearchParams({ model: entry.model });
  const base = entry.kind === "edit" ? state.entries.get(entry.parents[0]) : entry;
  if (base.kind === "seed") query.set("seed", String(base.seed));
  else query.set("z", encodeLatent(base.z));
  if (base.class_index !== null && base.class_index !== undefined) query.set("class", String(base.class_index));
  if (base.truncation !== null && base.truncation !== undefined) query.set("trunc", String(base.truncation));
  if (entry.kind === "edit") {
    query.set("genes", Object.entries(entry.genes).map(([g, v]) => `${g}:${v}`).join(","));
    if (entry.layers) query.set("layers", entry.layers);
  }
  query.set("step", String(lineageStep(entry)));
  return `${location.origin}${location.pathname}#/image?${query}`;
}

// Render the image a share link describes; returns a new (unkept) entry.
export async function openShare(params) {
  const model = modelInfo(params.get("model"));
  if (!model) throw new Error(`model ${params.get("model")} is not served here`);
  const request = { model: model.name };
  const fields = { model: model.name, seed: null, class_index: null, truncation: null };
  if (params.has("seed")) { request.seeds = [Number(params.get("seed"))]; fields.seed = request.seeds[0]; }
  else request.z = [decodeLatent(params.get("z") || "", model.z_dim)];
  if (params.has("class")) { fields.class_index = Number(params.get("class")); request.classes = [fields.class_index]; }
  if (params.has("trunc")) { fields.truncation = Number(params.get("trunc")); request.truncation = fields.truncation; }
  const image = (await runJob("generate", request, "Rendering the shared image")).images[0];
  let entry = addEntry({ ...fields, kind: fields.seed !== null ? "seed" : "shared", z: image.z,
    class_index: image.class_index, png: image.png, source: "a share link" });
  if (params.get("genes")) {
    const genes = Object.fromEntries(params.get("genes").split(",").map((pair) => {
      const [name, value] = pair.split(":");
      return [name, Number(value)];
    }));
    const body = { model: model.name, genes };
    if (fields.seed !== null) body.seed = fields.seed; else body.latent = image.z;
    if (fields.class_index !== null) body.class = fields.class_index;
    if (params.get("layers")) body.layers = params.get("layers");
    const edited = await runJob("edit", body, "Applying the genes");
    entry = addEntry({ model: model.name, kind: "edit", parents: [entry.id], genes, z: entry.z,
      class_index: entry.class_index, truncation: entry.truncation, png: edited.image, layers: body.layers ?? null });
  }
  entry.step = Number(params.get("step") || 0);
  return entry;
}

function renderViewer() {
  if (shown === null || !$("viewer").open) return;
  const entry = state.entries.get(shown);
  if (!entry) { $("viewer").close(); return; }
  const img = $("viewer-img");
  img.src = entry.png;
  img.className = pixelClass(entry);
  img.alt = describe(entry);
  $("viewer-caption").textContent = `${describe(entry)} · ${entry.model}` +
    (entry.class_index !== null && entry.class_index !== undefined ? ` · class ${modelInfo(entry.model)?.class_names[entry.class_index] ?? entry.class_index}` : "") +
    ` · generation ${lineageStep(entry)}`;
  const isParent = state.parents.includes(shown);
  $("viewer-parent").textContent = isParent ? "Parent ✓" : "Use as parent";
  $("viewer-parent").setAttribute("aria-pressed", String(isParent));
  const starred = state.favourites.includes(shown);
  $("viewer-star").textContent = starred ? "★ Starred" : "☆ Star";
  $("viewer-star").setAttribute("aria-pressed", String(starred));
  $("viewer-keep").disabled = state.kept.has(shown);
  $("viewer-keep").textContent = state.kept.has(shown) ? "In the tree" : "Keep in tree";
  $("viewer-current").disabled = state.current === shown;
  $("viewer-download").href = entry.png;
  $("viewer-download").download = `ganforge-${entry.model}-${entry.id}.png`;
  const at = gallery.indexOf(shown);
  $("viewer-prev").disabled = at <= 0;
  $("viewer-next").disabled = at < 0 || at >= gallery.length - 1;
}

export function openViewer(id, ids = null) {
  shown = id;
  gallery = ids || [id];
  $("share-url").hidden = true;
  if (!$("viewer").open) $("viewer").showModal();
  renderViewer();
}

export function step(delta) {
  const at = gallery.indexOf(shown);
  if (at >= 0 && gallery[at + delta] !== undefined) { shown = gallery[at + delta]; renderViewer(); }
}

export function shownId() { return $("viewer").open ? shown : null; }

export function setupViewer() {
  setViewer(openViewer);
  setTreeViewer(openViewer);
  $("viewer-close").addEventListener("click", () => $("viewer").close());
  $("viewer-prev").addEventListener("click", () => step(-1));
  $("viewer-next").addEventListener("click", () => step(1));
  $("viewer-parent").addEventListener("click", () => toggleParent(shown));
  $("viewer-star").addEventListener("click", () => toggleStar(shown));
  $("viewer-keep").addEventListener("click", () => { record(`keep #${shown}`); keep(shown); changed(); });
  $("viewer-current").addEventListener("click", () => setCurrent(shown));
  $("viewer-edit").addEventListener("click", () => { setCurrent(shown); $("viewer").close(); location.hash = "#/edit"; });
  $("viewer-share").addEventListener("click", async () => {
    const url = shareLink(state.entries.get(shown));
    $("share-url").value = url;
    $("share-url").hidden = false;
    $("share-url").select();
    try { await navigator.clipboard.writeText(url); $("viewer-note").textContent = "link copied"; }
    catch { $("viewer-note").textContent = "copy the link above"; }
  });
  $("viewer").addEventListener("click", (event) => { if (event.target === $("viewer")) $("viewer").close(); });
  state.listeners.push(renderViewer);
}

// The #/image?... page: the shared image, with a button to keep it.
export async function showShared(params) {
  const entry = await attempt("Opening the shared image", () => openShare(params));
  if (!entry) return;
  $("shared-img").src = entry.png;
  $("shared-img").className = pixelClass(entry);
  $("shared-img").dataset.id = String(entry.id);
  $("shared-caption").textContent = `${entry.model}` + (entry.seed !== null && entry.seed !== undefined ? `, seed ${entry.seed}` : ", exact latent") +
    (entry.genes ? `, genes ${Object.entries(entry.genes).map(([g, v]) => `${g} ${v}`).join(", ")}` : "") +
    `, lineage step ${entry.step}`;
  $("shared-keep").onclick = () => { record("keep the shared image"); keep(entry.id); setCurrent(entry.id); };
  $("shared-parent").onclick = () => toggleParent(entry.id);
  state.current = entry.id;
  changed();
}

