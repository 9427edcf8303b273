// The live account panel: one EventSource per account on /api/crm/accounts/<login>/stream (session auth).
(function () {
  const fmt = v => (v === null || v === undefined) ? "—" : Number(v).toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2});
  document.querySelectorAll("table.live-account").forEach(table => {
    const source = new EventSource(`/api/crm/accounts/${table.dataset.login}/stream`);
    let updates = 0;
    source.addEventListener("state", e => {
      const state = JSON.parse(e.data);
      for (const [key, value] of Object.entries(state)) {
        const cell = table.querySelector(`[data-field="${key}"]`);
        if (cell) cell.textContent = key === "margin_level" && value !== null ? `${fmt(value)} %` : fmt(value);
      }
      table.querySelector('[data-field="updates"]').textContent = String(++updates);
      table.querySelector(".live-dot").textContent = "●";
      const pnl = table.querySelector('[data-field="pnl"]');
      pnl.className = state.pnl < 0 ? "neg" : "pos";
    });
    source.onerror = () => { table.querySelector(".live-dot").textContent = "○"; };
  });
})();
