// Shared state and helpers of the studio page. Plain ES modules: no build step, nothing from elsewhere.

export const state = {
  models: [],          // from /api/models
  limits: {},
  entries: new Map(),  // lineage: id -> entry {id, model, kind, seed, z, class_index, truncation, ...}
  nextId: 1,
  parents: [],         // ids of the entries picked as parents, in order
  listeners: [],       // called after the lineage or the parent choice changes
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

async function errorOf(response) {
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

export async function attempt(what, fn) {
  setStatus(`${what}…`);
  try {
    const result = await fn();
    setStatus(`${what}: done`);
    return result;
  } catch (err) {
    setStatus(`${what} failed: ${err.message}`, true);
    return undefined;
  }
}

export const modelInfo = (name) => state.models.find((m) => m.name === name);
export const canDo = (capability) => state.models.filter((m) => m.capabilities.includes(capability));

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

export function toggleParent(id) {
  const entry = state.entries.get(id);
  const first = state.parents.length ? state.entries.get(state.parents[0]) : null;
  if (first && first.model !== entry.model) state.parents = [];  // parents share one model
  const at = state.parents.indexOf(id);
  if (at >= 0) state.parents.splice(at, 1);
  else state.parents.push(id);
  changed();
}

// A clickable thumbnail of an entry; selected while it is a parent.
export function card(entry, extraLabel = "") {
  const selected = state.parents.includes(entry.id);
  const text = entry.kind === "seed" ? `seed ${entry.seed}` : `#${entry.id}`;
  const download = el("a", { href: entry.png, download: `ganforge-${entry.id}.png`, title: "download PNG",
    onclick: (event) => event.stopPropagation() }, "PNG");
  return el("div", {
    class: selected ? "card selected" : "card",
    dataset: { id: String(entry.id), seed: entry.seed ?? "" },
    title: describe(entry),
    onclick: () => toggleParent(entry.id),
  }, el("img", { src: entry.png, alt: describe(entry) }),
  el("div", { class: "label" }, el("span", {}, text + extraLabel), download));
}
