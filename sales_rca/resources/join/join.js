// The participant page: plain DOM, every text set through textContent (never as HTML).
"use strict";
(function () {
  const POLL_MS = 1500;
  const $ = (id) => document.getElementById(id);
  const api = (path) => new URL("api/" + path, window.location.href).toString();
  let view = null;        // the last state the server sent
  let online = true;
  let busy = 0;           // requests in flight that block the inputs

  function cookie(name) {
    const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
  }

  function say(text, kind) {
    const box = $("message");
    box.textContent = text || "";
    box.className = "message" + (kind === "error" ? " error" : "");
    box.hidden = !text;
  }

  function setOnline(ok) {
    online = ok;
    $("offline").hidden = ok;
    lockInputs();
  }

  function lockInputs() {
    const off = !online || busy > 0;
    document.querySelectorAll("input, select, button").forEach((el) => {
      if (off) { el.disabled = true; return; }
      el.disabled = el.dataset.closed === "1";
    });
  }

  async function call(path, body) {
    // Resolves to the server's JSON; a network failure shows the banner and rejects.
    const init = body === undefined
      ? { credentials: "same-origin", cache: "no-store" }
      : {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-XSRFToken": cookie("_xsrf") },
          body: JSON.stringify(body),
        };
    let response;
    try {
      response = await fetch(api(path), init);
    } catch (err) {
      setOnline(false);
      throw new Error("The connection is lost: what you typed is still here; send it again once the banner is gone.");
    }
    if (response.status >= 500) { setOnline(false); }
    else { setOnline(true); }
    let data = {};
    try { data = await response.json(); } catch (err) { data = {}; }
    if (!response.ok) {
      throw new Error(data.error || "The workshop could not take that (" + response.status + "): try again.");
    }
    return data;
  }

  async function send(path, body, doneText) {
    busy += 1; lockInputs();
    try {
      const data = await call(path, body);
      if (data.state) { draw(data.state); }
      say(data.message || doneText || "", "ok");
      return true;
    } catch (err) {
      say(err.message, "error");
      return false;
    } finally {
      busy -= 1; lockInputs();
    }
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  function options(select, items, chosen) {
    const keep = chosen !== undefined ? chosen : select.value;
    select.replaceChildren(el("option", "—"));
    select.firstChild.value = "";
    for (const item of items) {
      const opt = el("option", item.label);
      opt.value = item.id;
      select.appendChild(opt);
    }
    if (items.some((i) => i.id === keep)) { select.value = keep; }
  }

  function drawCauses(state) {
    const box = $("causes");
    box.replaceChildren();
    const open = state.voting === "open";
    for (const group of state.fishbone) {
      box.appendChild(el("h3", group.label));
      for (const cause of group.causes) {
        const row = el("div", null, "cause");
        row.dataset.cause = cause.id;
        row.appendChild(el("span", cause.text, "text"));
        const minus = el("button", "−");
        minus.type = "button";
        minus.setAttribute("aria-label", "Take a dot back");
        minus.dataset.closed = open && cause.my_dots > 0 ? "0" : "1";
        minus.addEventListener("click", () => send("vote", { cause: cause.id, dots: cause.my_dots - 1 }));
        const dots = el("span", cause.my_dots ? "●".repeat(cause.my_dots) : "0", "dots");
        dots.setAttribute("aria-label", "your dots");
        const plus = el("button", "+");
        plus.type = "button";
        plus.setAttribute("aria-label", "Give a dot");
        plus.dataset.closed = open && state.dots_left > 0 ? "0" : "1";
        plus.addEventListener("click", () => send("vote", { cause: cause.id, dots: cause.my_dots + 1 }));
        row.append(minus, dots, plus);
        box.appendChild(row);
      }
    }
    if (!state.fishbone.length) {
      box.appendChild(el("p", "No causes on the board yet.", "muted"));
    }
  }

  function draw(state) {
    view = state;
    if (!state.joined) {
      $("main").hidden = true;
      $("join").hidden = false;
      return;
    }
    $("join").hidden = true;
    $("main").hidden = false;
    $("title").textContent = state.title;
    $("me").textContent = state.me;
    $("status").textContent = state.status;
    const open = state.voting === "open";
    $("vote").hidden = !state.fishbone.length || state.voting === "revealed";
    drawCauses(state);
    // Ranking: the saved order is shown; the boxes keep what the person is choosing.
    $("ranking").hidden = state.causes.length < 2 || state.voting === "revealed";
    const selects = $("rank-form").querySelectorAll("select");
    selects.forEach((s, i) => {
      const editing = document.activeElement === s;
      options(s, state.causes, editing ? undefined : (state.my_ranking[i] || s.value));
      s.dataset.closed = open ? "0" : "1";
    });
    $("rank-form").querySelector("button").dataset.closed = open ? "0" : "1";
    const labels = Object.fromEntries(state.causes.map((c) => [c.id, c.label]));
    $("my-ranking").textContent = state.my_ranking.length
      ? "Your ranking is saved: " + state.my_ranking.map((id, i) => (i + 1) + ". " + (labels[id] || "")).join(" · ")
      : "";
    $("results").hidden = !state.results.length;
    $("result-list").replaceChildren(...state.results.map((r) => el("li", r.text + " — " + r.summary)));
    $("propose").hidden = !state.can_propose;
    const category = $("category");
    if (document.activeElement !== category) { options(category, state.categories); }
    lockInputs();
  }

  async function poll() {
    try {
      draw(await call("state"));
    } catch (err) {
      // the banner says it; keep polling
    }
    window.setTimeout(poll, POLL_MS);
  }

  $("join-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = $("code").value;
    const name = $("name").value;
    await send("join", { code: code, name: name });
  });

  $("rank-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const picked = Array.from($("rank-form").querySelectorAll("select")).map((s) => s.value).filter(Boolean);
    await send("rank", { causes: picked });
  });

  $("cause-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("cause-text");
    const text = box.value;       // the whole text as typed, read once at submit
    const ok = await send("cause", { category: $("category").value, text: text });
    if (ok && box.value === text) { box.value = ""; }  // cleared only once it is stored
  });

  const code = new URLSearchParams(window.location.search).get("code");
  if (code) { $("code").value = code; }
  poll();
})();
