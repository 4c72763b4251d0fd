// Genes panel: sliders for the current model's directions (PCA, SeFa, attributes) and class genes,
// applied live to the current image through POST /api/edit. Mounts into #genes-panel if the page has
// one. The current image comes from a "ganforge:image" event on document
// (detail: {model, seed | latent, class, truncation}) or, failing that, from #hero-img's data-seed
// with the model and class chosen in #gen-model / #gen-class.

const panel = document.getElementById("genes-panel");
let current = null;   // {model, seed?, latent?, class?, truncation?}
let genes = {};       // name -> strength; what the sliders show
let timer = null;

function make(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

async function errorText(response) {
  try { return (await response.json()).error || response.statusText; } catch { return response.statusText; }
}

function slider(name, label, min, max, step) {
  const input = make("input", { type: "range", min, max, step, value: "0", "data-gene": name, "aria-label": label });
  const output = make("output", {}, "0");
  input.addEventListener("input", () => {
    genes[name] = Number(input.value);
    output.textContent = input.value;
    schedule();
  });
  return make("div", { class: "gene" }, make("label", {}, `${label} `, input), " ", output);
}

async function loadDirections(model) {
  const response = await fetch(`/api/directions?model=${encodeURIComponent(model)}`);
  if (!response.ok) throw new Error(await errorText(response));
  return response.json();
}

async function build() {
  panel.replaceChildren(make("h2", {}, "Genes"));
  genes = {};
  if (!current) {
    panel.append(make("p", { class: "hint" }, "Generate an image to edit it with genes."));
    return;
  }
  let info;
  try {
    info = await loadDirections(current.model);
  } catch (err) {
    panel.append(make("p", { class: "hint error" }, String(err.message || err)));
    return;
  }
  const sliders = make("div", { class: "genes" });
  for (const d of info.directions) sliders.append(slider(d.name, `${d.name} ${d.label || ""}`.trim(), "-3", "3", "0.1"));
  for (let k = 0; k < (info.classes || 0); k += 1) sliders.append(slider(`class:${k}`, `class ${k}`, "0", "1", "0.05"));
  if (!sliders.children.length) {
    panel.append(make("p", { class: "hint" }, "This model has no directions yet: run `ganforge directions RUN --method pca`."));
    return;
  }
  const reset = make("button", { type: "button" }, "Reset genes");
  reset.addEventListener("click", () => { build(); });
  const img = make("img", { id: "genes-result", alt: "the image edited by its genes", width: "256", height: "256" });
  const note = make("p", { id: "genes-note", class: "hint", "aria-live": "polite" });
  panel.append(sliders, reset, make("figure", {}, img, note));
  render();
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(render, 120);  // at most a few requests a second while a slider moves
}

async function render() {
  if (!current) return;
  const body = { model: current.model, genes: Object.fromEntries(Object.entries(genes).filter(([, v]) => v !== 0)) };
  if (current.latent) body.latent = current.latent; else body.seed = current.seed;
  if (current.class !== undefined && current.class !== null) body.class = current.class;
  if (current.truncation !== undefined && current.truncation !== null) body.truncation = current.truncation;
  const response = await fetch("/api/edit", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const note = document.getElementById("genes-note");
  if (!response.ok) {
    if (note) note.textContent = await errorText(response);
    return;
  }
  const result = await response.json();
  const img = document.getElementById("genes-result");
  if (img) img.src = result.image;
  if (note) note.textContent = Object.keys(result.genes).length
    ? Object.entries(result.genes).map(([n, v]) => `${n} ${v}`).join(", ")
    : "unedited";
}

function setImage(detail) {
  const changedModel = !current || current.model !== detail.model;
  current = detail;
  if (changedModel) build(); else render();
}

function fromHero() {
  const hero = document.getElementById("hero-img");
  const model = document.getElementById("gen-model");
  if (!hero || !model || !hero.dataset.seed) return;
  const classLabel = document.getElementById("gen-class-label");
  const classSelect = document.getElementById("gen-class");
  const withClass = classLabel && !classLabel.hidden && classSelect && classSelect.value !== "";
  const truncLabel = document.getElementById("gen-trunc-label");
  const trunc = document.getElementById("gen-trunc");
  setImage({
    model: model.value,
    seed: Number(hero.dataset.seed),
    class: withClass ? Number(classSelect.value) : null,
    truncation: truncLabel && !truncLabel.hidden && trunc ? Number(trunc.value) : null,
  });
}

if (panel) {
  build();
  document.addEventListener("ganforge:image", (event) => setImage(event.detail));
  const hero = document.getElementById("hero-img");
  if (hero) new MutationObserver(fromHero).observe(hero, { attributes: true, attributeFilter: ["data-seed", "src"] });
  window.ganforgeGenes = { setImage };
}
