// Keeps the board and the detail view current from /api/v1/stream (server-sent events).
// Without JavaScript the pages are complete; this only saves the reload.
"use strict";
(() => {
  const main = document.querySelector("[data-stream]");
  if (!main || !("EventSource" in window)) return;
  const indicator = document.getElementById("live");
  const show = (state, text) => { indicator.dataset.state = state; indicator.textContent = text; };
  const paths = { Application: "apps", PreviewEnvironment: "previews" };
  const source = new EventSource(main.dataset.stream);
  source.onopen = () => show("on", "Live");
  source.onerror = () => show("off", "Reconnecting…");
  source.addEventListener("reset", () => location.reload());

  if (main.hasAttribute("data-detail")) {
    let pending = null;
    const refresh = () => {
      clearTimeout(pending);
      pending = setTimeout(async () => {
        const response = await fetch(location.href, { headers: { Accept: "text/html" } });
        if (!response.ok) return;
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById("detail");
        if (fresh) document.getElementById("detail").replaceWith(fresh);
      }, 150);
    };
    source.addEventListener("upsert", refresh);
    source.addEventListener("delete", () => show("off", "Deleted"));
    return;
  }

  const cardId = (s) => `card-${s.kind}-${s.namespace}-${s.name}`;
  const recount = (column) => {
    column.querySelector(".count").textContent = column.querySelectorAll(".card").length;
    document.querySelector("[data-total]").textContent = document.querySelectorAll(".card").length;
    for (const badge of document.querySelectorAll("[data-phase]")) {
      const count = document.querySelectorAll(`.card.phase-${badge.dataset.phase}`).length;
      badge.querySelector("span").textContent = count;
      badge.hidden = count === 0;
    }
  };
  const remove = (s) => {
    const card = document.getElementById(cardId(s));
    if (!card) return;
    const column = card.closest(".column");
    card.remove();
    recount(column);
  };
  const place = (column, card) => {
    const cards = column.querySelector(".cards");
    const after = [...cards.children].find((c) => c.dataset.sort > card.dataset.sort);
    cards.insertBefore(card, after || null);
    card.classList.add("flash");
    setTimeout(() => card.classList.remove("flash"), 1200);
    recount(column);
  };
  source.addEventListener("delete", (event) => remove(JSON.parse(event.data)));
  source.addEventListener("upsert", async (event) => {
    const s = JSON.parse(event.data);
    const url = `/cards/${paths[s.kind]}/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}${location.search}`;
    const response = await fetch(url, { headers: { Accept: "text/html" } });
    if (response.status === 204) return remove(s);
    if (!response.ok) return;
    const holder = document.createElement("div");
    holder.innerHTML = (await response.text()).trim();
    const card = holder.firstElementChild;
    const column = document.querySelector(`[data-column="${s.environment}"]`);
    remove(s);
    if (column) place(column, card);
  });
})();
