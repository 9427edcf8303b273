// The template builder: every preview is rendered by the server (the renderer sending uses), never here.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("builder");
  if (!form) return;
  const kind = form.dataset.kind;
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const picker = document.getElementById("preview-customer");
  const preview = document.getElementById("preview");
  const direction = document.getElementById("preview-direction");
  const warnings = document.getElementById("preview-warnings");
  const fields = kind === "email" ? ["subject", "body_html", "body_text"] : ["body"];
  let dirty = false, timer = null, seq = 0;

  function texts() {
    const data = new FormData();
    fields.forEach(name => data.append(name, form.elements[name].value));
    if (picker.value) data.append("customer_id", picker.value);
    return data;
  }

  async function update() {
    const mine = ++seq;
    const response = await fetch(form.dataset.previewUrl, {method: "POST", body: texts(), credentials: "same-origin",
                                                           headers: {"X-CSRFToken": csrf}});
    const r = await response.json();
    if (mine !== seq) return;  // a later keystroke's preview is on its way
    if (!response.ok) { warnings.textContent = r.detail || "The preview failed."; return; }
    const unknown = Object.values(r.unknown || {}).flat();
    warnings.textContent = unknown.length ? `Unknown placeholders (saving refuses them): ${unknown.join(", ")}` : "";
    direction.textContent = r.direction;
    preview.dir = r.direction;
    if (kind === "sms") {
      preview.textContent = r.body;
      document.getElementById("sms-counter").textContent =
        `${r.encoding} · ${r.characters} characters · ${r.units} units · ${r.segments} segment${r.segments === 1 ? "" : "s"}`;
    } else {
      document.getElementById("preview-subject").textContent = r.subject;
      document.getElementById("preview-subject").dir = r.direction;
      preview.textContent = r.body_text;
      // The HTML body as HTML, in a sandbox without scripts, forms or same-origin access.
      const frame = document.getElementById("preview-html");
      frame.srcdoc = `<!doctype html><html dir="${r.direction}"><head><meta charset="utf-8"></head><body>${r.body_html}</body></html>`;
    }
  }

  function schedule() { clearTimeout(timer); timer = setTimeout(update, 200); }
  form.addEventListener("input", () => { dirty = true; schedule(); });
  picker.addEventListener("change", update);
  window.addEventListener("beforeunload", event => {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";  // the browser asks "Leave site? Changes you made may not be saved."
  });

  form.addEventListener("submit", async event => {
    event.preventDefault();
    const body = Object.fromEntries(fields.map(name => [name, form.elements[name].value]));
    const response = await fetch(form.dataset.saveUrl, {method: "PUT", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: JSON.stringify(body)});
    const r = await response.json().catch(() => ({}));
    fields.forEach(name => { document.getElementById(`error-${name}`).textContent = ""; });
    if (response.ok) {
      dirty = false;
      document.getElementById("builder-error").textContent = "";
      document.getElementById("builder-saved").textContent = `Saved ${form.dataset.locale}.`;
      return;
    }
    document.getElementById("builder-saved").textContent = "";
    const fieldErrors = r.fields || {};
    Object.entries(fieldErrors).forEach(([name, messages]) => {
      const slot = document.getElementById(`error-${name}`);
      if (slot) slot.textContent = messages.join(" ");
    });
    document.getElementById("builder-error").textContent =
      r.code === "unknown_placeholder" ? "Not saved: Unknown placeholders (marked under their field)."
      : `Not saved: ${r.detail || "the server refused the text."}`;
  });
  update();
});
