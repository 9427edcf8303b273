// Small page behaviours kept out of the templates so that the Content-Security-Policy needs no inline code.
document.addEventListener("DOMContentLoaded", () => {
  // Bar charts: widths come from data-width (a percentage); style attributes would need 'unsafe-inline'.
  document.querySelectorAll("[data-width]").forEach(el => { el.style.width = `${Number(el.dataset.width) || 0}%`; });
  // Consequential forms ask first: <form data-confirm="…"> (an inline onsubmit would need 'unsafe-inline').
  document.querySelectorAll("form[data-confirm]").forEach(form => {
    form.addEventListener("submit", event => { if (!window.confirm(form.dataset.confirm)) event.preventDefault(); });
  });
  // Tasks: the "overdue only" switch reloads the list with the filter.
  const overdue = document.getElementById("overdue-only");
  if (overdue) {
    overdue.addEventListener("change", () => {
      location.search = `scope=${encodeURIComponent(overdue.dataset.scope)}` + (overdue.checked ? "&overdue=true" : "");
    });
  }
});
