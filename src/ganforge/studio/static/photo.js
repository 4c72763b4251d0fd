// Your own photo in (Breed page): the upload is projected into the parents' model (GAN inversion,
// POST /api/project as a job: steps done / total, cancel) and becomes a parent in the family tree.

import { $, addEntry, attempt, canDo, changed, fillSelect, keep, modelInfo, record, state } from "./common.js";
import { runJob } from "./jobs.js";

async function project() {
  const file = $("photo-file").files[0];
  if (!file) return;
  const model = modelInfo($("photo-model").value);
  const form = new FormData();
  form.append("image", file, file.name);
  form.append("model", model.name);
  form.append("steps", String(Math.min(2000, Math.max(1, Number($("photo-steps").value) || 200))));
  form.append("perceptual", String($("photo-perceptual").checked));
  const out = await attempt("Projecting your photo", () => runJob("project", form, "Projecting your photo"));
  if (!out) return;
  record(`add photo ${file.name}`);
  const entry = addEntry({ model: out.model, kind: "photo", seed: null, z: out.z, class_index: out.class_index,
    truncation: null, png: out.png, source: file.name, space: out.space, psnr_db: out.psnr_db });
  keep(entry.id);
  const first = state.parents.length ? state.entries.get(state.parents[0]) : null;
  if (first && first.model !== entry.model) state.parents = [];
  state.parents.push(entry.id);
  state.current = entry.id;
  $("photo-target").src = out.target;
  $("photo-result").src = out.png;
  $("photo-note").textContent = `${file.name}: ${out.steps} steps, ${out.psnr_db} dB; it is now a parent`;
  $("photo-pair").hidden = false;
  changed();
}

export function setupPhoto() {
  const generators = canDo("breed");
  if (!generators.length) return;
  fillSelect($("photo-model"), generators.map((m) => [m.name, m.name]));
  const follow = () => {  // project into the parents' model when there are parents
    const first = state.parents.length ? state.entries.get(state.parents[0]) : null;
    if (first && $("photo-model").value !== first.model) $("photo-model").value = first.model;
  };
  state.listeners.push(follow);
  $("photo-file").addEventListener("change", () => { $("photo-go").disabled = !$("photo-file").files.length; });
  $("photo-go").addEventListener("click", project);
}
