// The console's "check a reply" box: sends what a community manager types to
// POST /api/v1/lint (debounced) and shows the findings over the text. Everything the
// person typed is put on the page as text nodes, never as HTML.
"use strict";
(function () {
  const box = document.getElementById("lint");
  if (!box) return;
  const text = document.getElementById("lint-text");
  const incident = document.getElementById("lint-incident");
  const postcode = document.getElementById("lint-postcode");
  const view = document.getElementById("lint-view");
  const list = document.getElementById("lint-findings");
  const verdict = document.getElementById("lint-verdict");
  const csrf = box.dataset.csrf;
  let timer = null;
  let asked = 0;

  function show(value, findings) {
    // Spans are code-point offsets (Python's); Array.from splits the text the same way.
    const chars = Array.from(value);
    view.replaceChildren();
    let at = 0;
    const spans = findings.slice().sort((a, b) => a.start - b.start);
    for (const f of spans) {
      if (f.start < at) continue;
      view.append(document.createTextNode(chars.slice(at, f.start).join("")));
      const mark = document.createElement("mark");
      mark.className = f.blocks ? "blocks" : "warns";
      mark.title = f.kind + ": " + f.feed_says;
      mark.textContent = chars.slice(f.start, f.end).join("");
      view.append(mark);
      at = f.end;
    }
    view.append(document.createTextNode(chars.slice(at).join("")));
    list.replaceChildren();
    for (const f of findings) {
      const item = document.createElement("li");
      item.className = f.blocks ? "blocks" : "warns";
      item.textContent = `${f.kind}${f.blocks ? "" : " (warning)"}: “${f.claim}” — ${f.feed_says}` +
        (f.suggestion ? ` → ${f.suggestion}` : "");
      list.append(item);
    }
  }

  async function check() {
    const value = text.value;
    const mine = ++asked;
    if (!value.trim()) {
      verdict.textContent = "";
      show("", []);
      return;
    }
    const body = { text: value };
    if (incident.value) body.incident = incident.value;
    if (postcode.value.trim()) body.postcode = postcode.value.trim();
    let answer;
    try {
      const response = await fetch("/api/v1/lint", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-Unavoz-CSRF": csrf },
        body: JSON.stringify(body),
      });
      answer = await response.json();
      if (mine !== asked) return; // an older answer arriving late
      if (!response.ok) {
        verdict.textContent = response.status === 401
          ? "Sign in again to check replies."
          : answer.error || `error ${response.status}`;
        verdict.className = "failing";
        show(value, []);
        return;
      }
    } catch (error) {
      if (mine === asked) verdict.textContent = "The lint did not answer: " + error;
      return;
    }
    verdict.textContent = answer.ok
      ? (answer.findings.length ? "OK to send (warnings below)" : "OK to send")
      : "Blocked: the feed says otherwise";
    verdict.className = answer.ok ? "in_sync" : "failing";
    if (answer.notes && answer.notes.length) verdict.textContent += " · " + answer.notes.join(" · ");
    show(value, answer.findings);
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  }
  text.addEventListener("input", later);
  incident.addEventListener("change", later);
  postcode.addEventListener("input", later);
})();
