// Every model request runs as a job (POST /api/jobs/<route>): the page stays free, a progress row
// shows tiles or steps done (or a running clock for work without steps), and Cancel stops it.

import { $, CancelledError, el, errorOf } from "./common.js";

const SHOW_AFTER_MS = 300;  // quick jobs finish before their row would flicker into view

// Run `route` (generate, breed, mix, project, upscale, ...) with a JSON body or FormData; resolves
// to the parsed JSON or the image Blob; rejects with CancelledError when the user cancels.
export async function runJob(route, body, label = route) {
  const init = body instanceof FormData
    ? { method: "POST", body }
    : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(`/api/jobs/${route}`, init);
  if (response.status !== 202) throw new Error(await errorOf(response));
  let info = await response.json();
  const started = performance.now();
  const bar = el("progress", { max: "1" });
  const text = el("span", { class: "job-text" }, label);
  let cancelled = false;
  const cancel = el("button", { type: "button", class: "cancel", title: "cancel (Esc)", onclick: async () => {
    cancelled = true;
    cancel.disabled = true;
    await fetch(`/api/jobs/${info.id}`, { method: "DELETE" });
  } }, "Cancel");
  const row = el("div", { class: "job", dataset: { route, id: info.id } }, text, bar, cancel);
  const timer = setTimeout(() => $("jobs").append(row), SHOW_AFTER_MS);
  try {
    while (!["done", "error", "cancelled"].includes(info.status)) {
      const poll = await fetch(`/api/jobs/${info.id}?wait=0.5&since=${info.version}`);
      if (!poll.ok) throw new Error(await errorOf(poll));
      info = await poll.json();
      if (cancelled) break;  // work without steps runs out on the server; the page moves on now
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (info.total > 0) {
        bar.max = String(info.total);
        bar.value = info.done;
        text.textContent = `${label}: ${info.done} / ${info.total} ${route === "project" ? "steps" : "tiles"} · ${seconds} s`;
      } else {
        bar.removeAttribute("value");  // indeterminate
        text.textContent = info.status === "queued" ? `${label}: waiting (${info.ahead} ahead)` : `${label}… ${seconds} s`;
      }
      row.dataset.done = String(info.done);
      row.dataset.total = String(info.total);
    }
    if (info.status === "cancelled" || cancelled) throw new CancelledError("cancelled");
    const result = await fetch(`/api/jobs/${info.id}/result`);
    if (!result.ok) throw new Error(await errorOf(result));
    const type = result.headers.get("content-type") || "";
    return type.startsWith("application/json") ? result.json() : result.blob();
  } finally {
    clearTimeout(timer);
    row.remove();
  }
}

// Cancel the newest running job (the Esc key).
export function cancelNewest() {
  const rows = $("jobs").querySelectorAll(".job button.cancel:not(:disabled)");
  if (rows.length) rows[rows.length - 1].click();
  return rows.length > 0;
}
