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

  function drawFigures(figures) {
    const box = $("figures");
    box.replaceChildren();
    (figures || []).forEach((fig) => {
      const div = document.createElement("div");
      div.className = "srca-room-figure";
      box.appendChild(div);
      const layout = Object.assign({}, fig.layout || {}, { autosize: true });
      delete layout.width;
      window.Plotly.newPlot(div, fig.data || [], layout, {
        displayModeBar: false, responsive: true, staticPlot: true,
      });
    });
  }

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
