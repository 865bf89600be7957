// The room screen: redraws from /room/api/state as the session changes. Text arrives as text
// (set with textContent); the only HTML ("html") is made by the server's autoescaped templates.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let version = null;
  let timer = null;
  let timerAt = 0;
  let failures = 0;

  function clock(seconds) {
    const left = Math.round(seconds);
    const a = Math.abs(left);
    const m = String(Math.floor(a / 60)).padStart(2, "0");
    const s = String(a % 60).padStart(2, "0");
    return (left < 0 ? "-" : "") + m + ":" + s;
  }

  function drawTimer() {
    if (!timer) return;
    let left = timer.remaining;
    if (timer.running) left -= (performance.now() - timerAt) / 1000;
    const el = $("timer");
    el.textContent = clock(left);
    el.classList.toggle("srca-over", left < 0);
    el.classList.toggle("srca-paused", !timer.running);
  }

  // The last figure (the fishbone, the tree, the finding's chart) fits what is left of the
  // window, so the room sees it whole next to the lines above it, at any screen size.
  function fitted(div, wanted, last) {
    if (!last) return wanted;
    const left = window.innerHeight - div.getBoundingClientRect().top - 12;
    return Math.max(360, Math.min(wanted || left, left));
  }

  let shown = [];
  function drawFigures(figures) {
    const box = $("figures");
    box.replaceChildren();
    shown = [];
    (figures || []).forEach((fig, i) => {
      const div = document.createElement("div");
      div.className = "srca-room-figure";
      box.appendChild(div);
      const layout = Object.assign({}, fig.layout || {}, { autosize: true });
      delete layout.width;
      const wanted = layout.height;
      layout.height = fitted(div, wanted, i === figures.length - 1);
      window.Plotly.newPlot(div, fig.data || [], layout, {
        displayModeBar: false, responsive: true, staticPlot: true,
      });
      shown.push({ div, wanted, last: i === figures.length - 1 });
    });
  }

  window.addEventListener("resize", () => {
    shown.forEach(({ div, wanted, last }) => {
      window.Plotly.relayout(div, { height: fitted(div, wanted, last) });
    });
  });

  function draw(view) {
    timer = view.timer;
    timerAt = performance.now();
    drawTimer();
    if (view.version === version) return;
    version = view.version;
    $("title").textContent = view.title;
    $("step").textContent = view.step_label;
    const join = view.join;
    $("join").hidden = !join;
    if (join) {
      $("join-url").textContent = join.url.replace(/\?.*$/, "");
      $("join-code").textContent = join.code;
      $("joined").textContent = view.joined === 1 ? "1 has joined" : view.joined + " have joined";
    }
    const p = view.picture || {};
    $("heading").textContent = p.heading || "";
    $("lead").textContent = p.lead || "";
    $("lead").hidden = !p.lead;
    $("body").innerHTML = p.html || "";
    drawFigures(p.figures);
    document.body.dataset.step = view.step;
  }

  async function poll() {
    try {
      const r = await fetch("api/state", { credentials: "same-origin", cache: "no-store" });
      if (!r.ok) throw new Error(String(r.status));
      draw(await r.json());
      failures = 0;
      $("offline").hidden = true;
    } catch (e) {
      failures += 1;
      if (failures >= 2) $("offline").hidden = false;
    }
    setTimeout(poll, 1000);
  }

  setInterval(drawTimer, 250);
  poll();
})();
