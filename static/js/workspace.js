// Small page behaviours kept out of the templates so that the Content-Security-Policy needs no inline code.
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", () => {
  // Narrow screens: the navigation and Log out sit behind the Menu button (a real <button>: Enter/Space work).
  const toggle = document.querySelector(".menu-toggle");
  const menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  if (toggle && menu) {
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      menu.classList.toggle("open", open);
    });
    document.addEventListener("keydown", event => {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") { toggle.click(); toggle.focus(); }
    });
  }
  // Wide tables scroll inside their own container, never the page; the container is focusable so that keyboard
  // users can scroll it too, and named after the table's caption or the nearest heading.
  document.querySelectorAll("table").forEach(table => {
    const wrapped = table.parentElement.classList.contains("table-scroll");  // a template's own wrapper
    const box = wrapped ? table.parentElement : document.createElement("div");
    if (wrapped && box.hasAttribute("aria-label")) return;
    box.className = "table-scroll";
    box.tabIndex = 0;
    box.setAttribute("role", "region");
    const caption = table.caption?.textContent;
    let heading = null;
    for (let el = table; el && !heading; el = el.parentElement) {
      for (let prev = el.previousElementSibling; prev && !heading; prev = prev.previousElementSibling) {
        if (/^H[1-6]$/.test(prev.tagName)) heading = prev;
      }
    }
    box.setAttribute("aria-label", (table.getAttribute("aria-label") || caption || heading?.textContent || "Table").trim());
    if (!wrapped) {
      table.parentNode.insertBefore(box, table);
      box.appendChild(table);
    }
  });
  // Bar charts: widths come from data-width (a percentage); style attributes would need 'unsafe-inline'.
  document.querySelectorAll("[data-width]").forEach(el => { el.style.width = `${Number(el.dataset.width) || 0}%`; });
  // Consequential forms ask first: <form data-confirm="…"> (an inline onsubmit would need 'unsafe-inline').
  // `{name}` in the message is replaced by what the form's field `name` holds at submit time (a select's chosen
  // option text), so the question can name the amount typed and the customer: "Create a Withdrawal of {amount}…".
  const fieldText = (form, name) => {
    const field = form.elements.namedItem(name);
    if (!field) return `{${name}}`;
    if (field.tagName === "SELECT") return (field.selectedOptions[0]?.textContent || "").trim();
    if (field.type === "checkbox") return field.checked ? "yes" : "no";
    return (field.value || "").trim();
  };
  document.querySelectorAll("form[data-confirm]").forEach(form => {
    form.addEventListener("submit", event => {
      const message = form.dataset.confirm.replace(/\{([a-z_]+)\}/g, (_, name) => fieldText(form, name));
      if (!window.confirm(message)) event.preventDefault();
    });
  });
  // Select all on the page: <input type="checkbox" data-select-all="customer_ids"> ticks every box of that name
  // (in its form) and follows them (checked only when all are, mixed when some are).
  document.querySelectorAll("input[data-select-all]").forEach(all => {
    const boxes = () => Array.from(document.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`));
    const sync = () => {
      const list = boxes(), ticked = list.filter(b => b.checked).length;
      all.checked = list.length > 0 && ticked === list.length;
      all.indeterminate = ticked > 0 && ticked < list.length;
      const counter = document.querySelector(`[data-selected-count="${all.dataset.selectAll}"]`);
      if (counter) counter.textContent = `${ticked} selected`;
    };
    all.addEventListener("change", () => { boxes().forEach(b => { b.checked = all.checked; }); sync(); });
    boxes().forEach(b => b.addEventListener("change", sync));
    sync();
  });
  // Page-size and filter selects marked data-autosubmit submit their form when changed.
  document.querySelectorAll("select[data-autosubmit]").forEach(select => {
    select.addEventListener("change", () => select.form && select.form.requestSubmit());
  });
  // Tasks: the "overdue only" switch reloads the list with the filter.
  const overdue = document.getElementById("overdue-only");
  if (overdue) {
    overdue.addEventListener("change", () => {
      location.search = `scope=${encodeURIComponent(overdue.dataset.scope)}` + (overdue.checked ? "&overdue=true" : "");
    });
  }
});
