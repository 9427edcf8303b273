// Small page behaviours kept out of the templates so that the Content-Security-Policy needs no inline code.
document.addEventListener("DOMContentLoaded", () => {
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
