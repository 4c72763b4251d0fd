// The session survives a reload or a closed tab: the family tree, favourites, parents, the current
// image and the last brood are saved in localStorage after every change and restored at start.
// Images are saved with their PNGs; when the browser's quota is full they are saved without and
// re-rendered from their latents on load (every image is reproducible from its recipe).

import { runJob } from "./jobs.js";
import { changed, modelInfo, state } from "./common.js";

export const STORE_KEY = "ganforge-studio/1";

function savedIds() {
  const ids = new Set([...state.kept, ...state.parents, ...state.favourites, ...state.children]);
  if (state.current !== null) ids.add(state.current);
  for (const id of [...ids]) for (const p of state.entries.get(id)?.parents || []) ids.add(p);
  return [...ids].filter((id) => state.entries.has(id)).sort((a, b) => a - b);
}

export function save() {
  const ids = savedIds();
  const session = {
    format: STORE_KEY, nextId: state.nextId, parents: state.parents, kept: [...state.kept],
    favourites: state.favourites, current: state.current, children: state.children,
    entries: ids.map((id) => state.entries.get(id)),
  };
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(session));
  } catch {  // over quota: keep the recipes, drop the pictures
    session.entries = session.entries.map(({ png, ...rest }) => (rest.kind === "edit" ? { png, ...rest } : rest));
    try { localStorage.setItem(STORE_KEY, JSON.stringify(session)); } catch { /* nothing more to shed */ }
  }
}

// Restore the saved session (entries of models no longer served are left out); true when one was found.
export async function load() {
  let session;
  try {
    session = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
  } catch {
    return false;
  }
  if (!session || session.format !== STORE_KEY || !Array.isArray(session.entries)) return false;
  const entries = session.entries.filter((e) => modelInfo(e.model));
  const known = new Set(entries.map((e) => e.id));
  const missing = entries.filter((e) => !e.png && e.z);
  for (const e of missing) {  // one render per image is fine: this only happens after a full quota
    const request = { model: e.model, z: [e.z] };
    if (e.class_index !== null && e.class_index !== undefined) request.classes = [e.class_index];
    if (e.truncation !== null && e.truncation !== undefined) request.truncation = e.truncation;
    e.png = (await runJob("generate", request, "Restoring the session")).images[0].png;
  }
  state.entries = new Map(entries.filter((e) => e.png).map((e) => [e.id, e]));
  const ok = (id) => state.entries.has(id) && known.has(id);
  state.nextId = Math.max(session.nextId || 1, ...[...state.entries.keys()].map((id) => id + 1));
  state.parents = (session.parents || []).filter(ok);
  state.kept = new Set((session.kept || []).filter(ok));
  state.favourites = (session.favourites || []).filter(ok);
  state.children = (session.children || []).filter(ok);
  state.current = ok(session.current) ? session.current : null;
  changed();
  return state.entries.size > 0;
}

export function forget() {
  localStorage.removeItem(STORE_KEY);
}
