// The diagram's behaviour: tooltips, the selected event and its states.
(function () {
  "use strict";
  const body = document.body;
  window.addEventListener("error", (e) => {
    body.dataset.error = String(e.message);
  });
  const data = JSON.parse(document.getElementById("run-data").textContent);
  const svg = document.getElementById("run");
  const ring = document.getElementById("selected");
  const title = document.getElementById("sel-title");
  const text = document.getElementById("sel-text");
  const box = document.getElementById("states");
  const tip = document.getElementById("tip");
  const rows = new Map(data.rows.map((row) => [row[0], row]));
  const events = Array.from(svg.querySelectorAll(".event"));
  const byIndex = new Map(events.map((c) => [Number(c.dataset.index), c]));

  // Our tooltip shows at once and keeps line breaks; the SVG titles stay
  // only for a browser without scripts.
  for (const t of Array.from(svg.querySelectorAll("title"))) {
    t.parentNode.dataset.tip = t.textContent;
    t.remove();
  }

  let current = null;

  function stateSection(node, row) {
    const section = document.createElement("section");
    section.className = "node-state";
    section.dataset.node = "n" + node;
    const head = document.createElement("h3");
    head.textContent = "n" + node;
    const pre = document.createElement("pre");
    const id = row ? row[1][node] : -1;
    if (id >= 0) {
      pre.textContent = data.states[id];
    } else if (id === -2) {
      pre.textContent = "(down)";
      section.classList.add("down");
    } else {
      pre.textContent = "(no state recorded yet)";
    }
    if (row && row[2].includes(node)) {
      section.classList.add("changed");
      const note = document.createElement("small");
      note.textContent = "changed by this event";
      head.append(note);
    }
    if (data.bad.includes(node)) section.classList.add("bad");
    section.append(head, pre);
    return section;
  }

  function select(index, scroll) {
    const circle = byIndex.get(index);
    if (!circle) return;
    if (current !== null) byIndex.get(current).classList.remove("selected");
    current = index;
    circle.classList.add("selected");
    ring.setAttribute("cx", circle.getAttribute("cx"));
    ring.setAttribute("cy", circle.getAttribute("cy"));
    title.textContent = "After event #" + index;
    text.textContent = circle.dataset.tip || "";
    text.className = "event-text";
    const row = rows.get(index);
    box.replaceChildren();
    for (let node = 0; node < data.nodes; node++) box.append(stateSection(node, row));
    box.dataset.event = String(index);
    if (scroll) circle.scrollIntoView({ block: "center", inline: "nearest" });
    try {
      history.replaceState(null, "", "#event=" + index);
    } catch (_) {
      // A page opened from a file may not rewrite its address; no matter.
    }
  }

  svg.addEventListener("click", (e) => {
    const circle = e.target.closest(".event");
    if (circle) select(Number(circle.dataset.index), false);
  });

  document.addEventListener("keydown", (e) => {
    const step = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 }[e.key];
    if (!step || events.length === 0) return;
    e.preventDefault();
    const at = current === null ? -1 : events.indexOf(byIndex.get(current));
    const next = Math.min(events.length - 1, Math.max(0, at + step));
    select(Number(events[next].dataset.index), true);
  });

  svg.addEventListener("mousemove", (e) => {
    const target = e.target.closest(".m, .event");
    if (!target || !target.dataset.tip) {
      tip.hidden = true;
      return;
    }
    tip.textContent = target.dataset.tip;
    tip.hidden = false;
    const x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    const y = e.clientY + 16 + tip.offsetHeight > window.innerHeight
      ? e.clientY - tip.offsetHeight - 10
      : e.clientY + 16;
    tip.style.left = Math.max(4, x) + "px";
    tip.style.top = Math.max(4, y) + "px";
  });
  svg.addEventListener("mouseleave", () => {
    tip.hidden = true;
  });

  for (const link of document.querySelectorAll("[data-goto]")) {
    link.addEventListener("click", (e) => {
      e.preventDefault();
      select(Number(link.dataset.goto), true);
    });
  }

  const asked = /#event=(\d+)/.exec(location.hash);
  const first = asked ? Number(asked[1]) : data.violation;
  if (first !== null && byIndex.has(first)) select(first, true);
  body.dataset.ready = "yes";
})();
