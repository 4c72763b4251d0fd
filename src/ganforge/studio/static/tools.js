// Interpolate tab, and the image-to-image tabs (Translate, Upscale, Colorize, Inpaint), which share
// one panel: upload an image (paint a mask for inpainting), see input and result side by side and
// before/after under one slider. Model calls run as jobs (tiles done / total, cancel).

import { $, attempt, canDo, describe, el, fillSelect, modelInfo, state } from "./common.js";
import { runJob } from "./jobs.js";

// Interpolate --------------------------------------------------------------------------------------

const chosenByUser = new Set();  // ends the user picked stay; the others follow the newest images

function renderEnds() {
  const options = [...state.entries.values()].map((e) => [String(e.id), `${describe(e)} (${e.model})`]);
  const defaults = { "interp-a": options.at(-2) ?? options.at(-1), "interp-b": options.at(-1) };
  for (const id of ["interp-a", "interp-b"]) {
    const select = $(id);
    const before = select.value;
    fillSelect(select, options);
    if (chosenByUser.has(id) && options.some(([value]) => value === before)) select.value = before;
    else if (defaults[id]) select.value = defaults[id][0];
  }
}

async function interpolate() {
  const a = state.entries.get(Number($("interp-a").value));
  const b = state.entries.get(Number($("interp-b").value));
  if (!a || !b) return;
  if (a.model !== b.model) {
    await attempt("Interpolating", async () => { throw new Error("both ends must come from the same model"); });
    return;
  }
  const request = {
    model: a.model, z: [a.z, b.z], frames: Number($("interp-frames").value) || 8,
    format: $("interp-format").value, scale: 4,
  };
  if (a.class_index !== null && a.class_index !== undefined) request.class_index = a.class_index;
  if (a.truncation !== null && a.truncation !== undefined) request.truncation = a.truncation;
  const blob = await attempt("Interpolating", () => runJob("interpolate", request, "Interpolating"));
  if (!blob) return;
  const img = $("interp-result");
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(blob);
  img.dataset.format = request.format;
  img.hidden = false;
}

export function setupInterpolate() {
  if (!canDo("interpolate").length) return;
  $("interp-go").addEventListener("click", interpolate);
  for (const id of ["interp-a", "interp-b"]) $(id).addEventListener("change", () => chosenByUser.add(id));
  state.listeners.push(renderEnds);
}

// Image to image -----------------------------------------------------------------------------------

const HINTS = {
  translate: "Upload an image; the model translates it into its other domain.",
  upscale: "Upload an image; the model returns it at a higher resolution.",
  colorize: "Upload a gray (or color) image; the model colors it.",
  inpaint: "Upload an image, then paint over the part to fill in.",
};
const MASK_LEVEL = 40;  // a pixel the brush covers even partly (anti-aliased edges) is part of the hole
let task = "translate";
let upload = null;      // the uploaded File
let maskCanvas = null;  // an offscreen canvas at the image's own size: white where to fill in
let painting = false;

function onModel() {
  const model = modelInfo($("img-model").value);
  $("img-direction-label").hidden = !(model && model.directions.length);
  if (model) fillSelect($("img-direction"), model.directions.map((d) => [d, d.replace("to", " → ")]));
}

export function showImageTask(name) {
  task = name;
  fillSelect($("img-model"), canDo(name).map((m) => [m.name, m.name]));
  onModel();
  $("img-hint").textContent = HINTS[name];
  const inpaint = name === "inpaint";
  $("brush-label").hidden = !inpaint;
  $("mask-clear").hidden = !inpaint;
  $("mask-canvas").hidden = !(inpaint && upload);
  $("img-input").hidden = inpaint || !upload;
  $("img-result").hidden = true;
  $("img-download").hidden = true;
  $("compare").hidden = true;
  document.getElementById("tab-image").dataset.task = name;
}

function drawMaskView() {
  const view = $("mask-canvas");
  const ctx = view.getContext("2d");
  ctx.drawImage($("img-input"), 0, 0);
  ctx.globalAlpha = 0.7;
  ctx.drawImage(tinted(), 0, 0);
  ctx.globalAlpha = 1;
}

function tinted() {  // the mask in red over transparency, to show what will be filled in
  const tint = el("canvas", { width: maskCanvas.width, height: maskCanvas.height });
  const ctx = tint.getContext("2d");
  ctx.drawImage(maskCanvas, 0, 0);
  const pixels = ctx.getImageData(0, 0, tint.width, tint.height);
  for (let i = 0; i < pixels.data.length; i += 4) {
    const on = pixels.data[i] > MASK_LEVEL;
    pixels.data.set(on ? [255, 0, 60, 255] : [0, 0, 0, 0], i);
  }
  ctx.putImageData(pixels, 0, 0);
  return tint;
}

function binaryMask() {  // white where the brush went, black elsewhere: what the server reads
  const out = el("canvas", { width: maskCanvas.width, height: maskCanvas.height });
  const ctx = out.getContext("2d");
  ctx.drawImage(maskCanvas, 0, 0);
  const pixels = ctx.getImageData(0, 0, out.width, out.height);
  for (let i = 0; i < pixels.data.length; i += 4) {
    const value = pixels.data[i] > MASK_LEVEL ? 255 : 0;
    pixels.data.set([value, value, value, 255], i);
  }
  ctx.putImageData(pixels, 0, 0);
  return out;
}

function clearMask() {
  if (!maskCanvas) return;
  const ctx = maskCanvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, maskCanvas.width, maskCanvas.height);
  drawMaskView();
}

let last = null;  // the previous point of the stroke, in image pixels

function paintAt(event) {
  const view = $("mask-canvas");
  const box = view.getBoundingClientRect();
  const perScreenPixel = view.width / box.width;  // image pixels per screen pixel
  const point = [(event.clientX - box.left) * perScreenPixel, (event.clientY - box.top) * perScreenPixel];
  const ctx = maskCanvas.getContext("2d");
  ctx.strokeStyle = "#fff";
  ctx.fillStyle = "#fff";
  ctx.lineCap = "round";
  ctx.lineWidth = Math.max(1, Number($("brush").value) * perScreenPixel);  // the brush is in screen pixels
  ctx.beginPath();
  if (last) {
    ctx.moveTo(...last);
    ctx.lineTo(...point);
    ctx.stroke();
  } else {
    ctx.arc(...point, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
  }
  last = point;
  drawMaskView();
}

async function onFile(file) {
  upload = file;
  const img = $("img-input");
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);
  await img.decode().catch(() => null);
  $("img-go").disabled = false;
  if (img.naturalWidth) {
    maskCanvas = el("canvas", { width: img.naturalWidth, height: img.naturalHeight });
    const view = $("mask-canvas");
    view.width = img.naturalWidth;
    view.height = img.naturalHeight;
    clearMask();
  }
  showImageTask(task);
}

async function run() {
  if (!upload) return;
  const form = new FormData();
  form.append("image", upload, upload.name);
  form.append("model", $("img-model").value);
  const model = modelInfo($("img-model").value);
  if (model.directions.length) form.append("direction", $("img-direction").value);
  if (task === "inpaint") {
    if (!maskCanvas) return;
    const mask = await new Promise((resolve) => binaryMask().toBlob(resolve, "image/png"));
    form.append("mask", mask, "mask.png");
  }
  const title = task[0].toUpperCase() + task.slice(1);
  const blob = await attempt(title, () => runJob(task, form, title));
  if (!blob) return;
  const url = URL.createObjectURL(blob);
  const result = $("img-result");
  if (result.src) URL.revokeObjectURL(result.src);
  result.src = url;
  result.hidden = false;
  $("img-download").href = url;
  $("img-download").hidden = false;
  showCompare(url);
}

// Before / after: the result over the input, cut at the slider (drag it, or use the arrow keys).
function showCompare(url) {
  $("compare-before").src = $("img-input").src;
  $("compare-after").src = url;
  $("compare").hidden = false;
  const input = $("img-input");
  if (input.naturalWidth) $("compare-frame").style.setProperty("--ratio", `${input.naturalWidth} / ${input.naturalHeight}`);
  setSplit(Number($("compare-split").value));
}

function setSplit(percent) {
  $("compare-frame").style.setProperty("--split", `${percent}%`);
}

export function setupImageTools() {
  if (!["translate", "upscale", "colorize", "inpaint"].some((t) => canDo(t).length)) return;
  $("img-model").addEventListener("change", onModel);
  $("img-file").addEventListener("change", (event) => event.target.files[0] && onFile(event.target.files[0]));
  $("img-go").addEventListener("click", run);
  $("mask-clear").addEventListener("click", clearMask);
  $("compare-split").addEventListener("input", () => setSplit(Number($("compare-split").value)));
  const view = $("mask-canvas");
  view.addEventListener("pointerdown", (event) => {
    painting = true;
    last = null;
    view.setPointerCapture(event.pointerId);
    paintAt(event);
  });
  view.addEventListener("pointermove", (event) => painting && paintAt(event));
  view.addEventListener("pointerup", () => { painting = false; last = null; });
}
