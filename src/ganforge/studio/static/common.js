// Shared state and helpers of the studio page. Plain ES modules: no build step, nothing from elsewhere.

export const state = {
  models: [],          // from /api/models
  limits: {},
  entries: new Map(),  // every image seen: id -> entry {id, model, kind, seed, z, class_index, truncation, png, ...}
  nextId: 1,
  parents: [],         // ids of the entries picked as parents, in order
  kept: new Set(),     // ids in the family tree: kept, starred or bred from (with their ancestors)
  favourites: [],      // starred ids, in the order starred
  current: null,       // the id of the current image (Edit, share, shortcuts)
  children: [],        // ids of the last brood
  listeners: [],       // called after the lineage, tree or parent choice changes
};

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

export function setStatus(message, isError = false) {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

export async function errorOf(response) {
  try {
    const body = await response.json();
    return body.error || response.statusText;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

// POST JSON, return parsed JSON; throws Error(message from the server's {"error": ...}).
export async function postJSON(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await errorOf(response));
  return response.json();
}

// POST JSON or form data, return the image as a Blob.
export async function postForImage(path, body) {
  const init = body instanceof FormData
    ? { method: "POST", body }
    : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, init);
  if (!response.ok) throw new Error(await errorOf(response));
  return response.blob();
}

export class CancelledError extends Error {}

export async function attempt(what, fn) {
  setStatus(`${what}…`);
  try {
    const result = await fn();
    setStatus(`${what}: done`);
    return result;
  } catch (err) {
    if (err instanceof CancelledError) setStatus(`${what}: cancelled`);
    else setStatus(`${what} failed: ${err.message}`, true);
    return undefined;
  }
}

export const modelInfo = (name) => state.models.find((m) => m.name === name);
export const canDo = (capability) => state.models.filter((m) => m.capabilities.includes(capability));
export const styleBased = (model) => Boolean(model && model.layer_groups && model.layer_groups.length);

export function randomSeed() {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

export function fillSelect(select, options) {
  select.replaceChildren(...options.map(([value, text]) => el("option", { value }, text)));
}

// Lineage ---------------------------------------------------------------------------------------

export function describe(entry) {
  if (entry.kind === "seed") return `#${entry.id} seed ${entry.seed}`;
  if (entry.kind === "child") {
    const parents = entry.parents.map((p) => `#${p}`).join(" × ");
    return `#${entry.id} child ${entry.index + 1} of ${parents} (mutation ${entry.mutation}, seed ${entry.breed_seed})`;
  }
  if (entry.kind === "mix") return `#${entry.id} mix: #${entry.parents[0]} with ${entry.layers.join("+")} of #${entry.parents[1]}`;
  if (entry.kind === "edit") return `#${entry.id} #${entry.parents[0]} edited`;
  return `#${entry.id} ${entry.kind}` + (entry.source ? ` from ${entry.source}` : "");  // e.g. a projected photo
}

export function addEntry(fields) {
  const entry = { id: state.nextId++, ...fields };
  state.entries.set(entry.id, entry);
  return entry;
}

export function changed() {
  for (const listener of state.listeners) listener();
}

// Undo / redo: snapshots of the session (entries are never changed once made, so a snapshot is cheap).
const undoStack = [];
const redoStack = [];
const HISTORY = 100;

function snapshot() {
  return {
    entries: new Map(state.entries), nextId: state.nextId, parents: [...state.parents], kept: new Set(state.kept),
    favourites: [...state.favourites], current: state.current, children: [...state.children],
  };
}

function restore(snap) {
  Object.assign(state, { ...snap, entries: new Map(snap.entries), parents: [...snap.parents],
    kept: new Set(snap.kept), favourites: [...snap.favourites], children: [...snap.children] });
}

// Call before a change the user may want to undo (breeding, keeping, starring, edits, imports).
export function record(label) {
  undoStack.push({ label, snap: snapshot() });
  if (undoStack.length > HISTORY) undoStack.shift();
  redoStack.length = 0;
}

export function undo() {
  const step = undoStack.pop();
  if (!step) { setStatus("Nothing to undo"); return; }
  redoStack.push({ label: step.label, snap: snapshot() });
  restore(step.snap);
  setStatus(`Undid: ${step.label}`);
  changed();
}

export function redo() {
  const step = redoStack.pop();
  if (!step) { setStatus("Nothing to redo"); return; }
  undoStack.push({ label: step.label, snap: snapshot() });
  restore(step.snap);
  setStatus(`Redid: ${step.label}`);
  changed();
}

export const history = () => ({ undo: undoStack.length, redo: redoStack.length });

// The family tree holds what was kept, starred or bred from, and everything it came from.
export function keep(id) {
  const stack = [id];
  while (stack.length) {
    const entry = state.entries.get(stack.pop());
    if (!entry || state.kept.has(entry.id)) continue;
    state.kept.add(entry.id);
    for (const p of entry.parents || []) stack.push(p);
  }
}

export function toggleParent(id) {
  const entry = state.entries.get(id);
  const first = state.parents.length ? state.entries.get(state.parents[0]) : null;
  if (first && first.model !== entry.model) state.parents = [];  // parents share one model
  const at = state.parents.indexOf(id);
  if (at >= 0) state.parents.splice(at, 1);
  else state.parents.push(id);
  changed();
}

export function toggleStar(id) {
  const at = state.favourites.indexOf(id);
  record(at >= 0 ? `unstar #${id}` : `star #${id}`);
  if (at >= 0) state.favourites.splice(at, 1);
  else { state.favourites.push(id); keep(id); }
  changed();
}

export function setCurrent(id) {
  state.current = id;
  changed();
}

// Small models are drawn crisp (nearest neighbour); large ones smooth.
export function pixelClass(entry) {
  const model = modelInfo(entry.model);
  return model && model.img_size && model.img_size < 128 ? "pixelated" : "smooth";
}

let openViewer = () => {};
export function setViewer(fn) { openViewer = fn; }

// A thumbnail of an entry: click the picture for the large view; the buttons star it and pick it as a parent.
export function card(entry, extraLabel = "", gallery = null) {
  const selected = state.parents.includes(entry.id);
  const starred = state.favourites.includes(entry.id);
  const text = entry.kind === "seed" ? `seed ${entry.seed}` : `#${entry.id}`;
  const stop = (fn) => (event) => { event.stopPropagation(); fn(); };
  return el("div", {
    class: "card" + (selected ? " selected" : "") + (state.current === entry.id ? " current" : ""),
    dataset: { id: String(entry.id), seed: entry.seed ?? "" },
    title: describe(entry),
  }, el("img", { src: entry.png, alt: describe(entry), class: pixelClass(entry),
    onclick: () => openViewer(entry.id, gallery) }),
  el("div", { class: "label" },
    el("button", { type: "button", class: "star" + (starred ? " on" : ""), title: starred ? "unstar" : "star",
      "aria-pressed": String(starred), onclick: stop(() => toggleStar(entry.id)) }, starred ? "★" : "☆"),
    el("span", {}, text + extraLabel),
    el("button", { type: "button", class: "pick" + (selected ? " on" : ""), "aria-pressed": String(selected),
      title: selected ? "remove from the parents" : "use as a parent", onclick: stop(() => toggleParent(entry.id)) },
    selected ? "parent ✓" : "parent")));
}
