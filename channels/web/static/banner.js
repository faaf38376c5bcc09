/* Unavoz banner: <script src="https://status.example/banner.js" data-area="sol" data-lang="es" async></script>
 * Shows what the status feed says for this page, live, inside a Shadow DOM the host page's CSS
 * cannot reach. Every text is set with textContent: nothing from the feed is parsed as HTML.
 * Attributes: data-area, data-service, data-lang, data-target (CSS selector of the host element).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  // `unavoz export-static` writes this file with STATIC = true: a plain file server ignores
  // ?area=&lang=, so the banner then reads the exported files themselves
  // (banner/<area>.<lang>.json, banner.<lang>.json) and polls, as there is no /events.
  var STATIC = false;
  var base = new URL(".", script.src);
  var data = script.dataset;
  var lang = data.lang || (navigator.language || "").slice(0, 2);
  var query = new URLSearchParams();
  if (data.area) query.set("area", data.area);
  if (data.service) query.set("service", data.service);
  query.set("lang", lang);
  var bannerUrl = new URL("banner.json?" + query, base);
  var fallbackUrl = null;
  if (STATIC) {
    var file = data.area ? "banner/" + encodeURIComponent(data.area) + "." : "banner.";
    bannerUrl = new URL(file + encodeURIComponent(lang) + ".json", base);
    fallbackUrl = new URL(data.area ? file + "json" : "banner.json", base);
  }
  var eventsUrl = new URL("events", base);
  var POLL = 60000;
  var STORE = "unavoz-dismissed";
  var etag = null;
  var last = null;

  var host = data.target && document.querySelector(data.target);
  if (!host) {
    host = document.createElement("div");
    script.parentNode.insertBefore(host, script);
  }
  host.setAttribute("data-unavoz", "");
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var style = document.createElement("style");
  style.textContent = [
    ":host{all:initial;display:block}",
    ".b{font:15px/1.45 system-ui,sans-serif;color:#1f2328;background:#fff8c5;border:1px solid #d4a72c;",
    "border-radius:6px;padding:10px 40px 10px 12px;margin:8px 0;position:relative;max-width:100%;box-sizing:border-box}",
    ".b.critical,.b.major{background:#ffebe9;border-color:#cf222e}.b.maintenance{background:#ddf4ff;border-color:#0969da}",
    ".t{font-weight:600;margin:0 0 4px}.m{margin:2px 0}.l{color:#0550ae}",
    ".x{position:absolute;top:6px;right:6px;border:0;background:transparent;font-size:20px;line-height:1;",
    "cursor:pointer;padding:4px 8px;color:inherit}.x:focus{outline:2px solid #0969da}",
    "@media (max-width:480px){.b{font-size:14px;padding-right:36px}}"
  ].join("");
  root.appendChild(style);
  var box = document.createElement("div");
  box.setAttribute("role", "status");
  box.setAttribute("aria-live", "polite");
  root.appendChild(box);

  function dismissed() {
    try { return JSON.parse(localStorage.getItem(STORE) || "[]"); } catch (e) { return []; }
  }
  function dismiss(key) {
    var keys = dismissed().filter(function (k) { return k !== key; }).slice(-49);
    keys.push(key);
    try { localStorage.setItem(STORE, JSON.stringify(keys)); } catch (e) { /* private mode */ }
    render(last);
  }
  function line(cls, text) {
    var p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    return p;
  }
  function card(item, kind) {
    var div = document.createElement("div");
    div.className = "b " + (kind === "maintenance" ? "maintenance" : item.severity);
    div.setAttribute("data-incident", item.id);
    div.appendChild(line("t", item.title + " · " + item.status_text));
    if (kind === "maintenance" && item.starts_at) {
      div.appendChild(line("m", item.text));
    } else {
      // Every time with its label, in words, as every other channel says it ("Expected fix:
      // …", "… has passed"): never a bare date, never a glyph carrying meaning.
      div.appendChild(line("m eta", item.when_fixed_sentence || item.eta_text));
      if (item.next_update_sentence) div.appendChild(line("m next", item.next_update_sentence));
      if (item.workaround) div.appendChild(line("m", item.workaround_sentence || item.workaround));
    }
    var a = document.createElement("a");
    a.className = "l";
    a.href = item.url;
    a.textContent = item.url.replace(/^https?:\/\//, "");
    a.rel = "noopener";
    var more = line("m", "");
    more.appendChild(a);
    div.appendChild(more);
    var x = document.createElement("button");
    x.className = "x";
    x.type = "button";
    x.setAttribute("aria-label", (last && last.lang === "es") ? "Cerrar aviso" : "Dismiss notice");
    x.textContent = "×";
    x.addEventListener("click", function () { dismiss(item.dismiss_key); });
    div.appendChild(x);
    return div;
  }
  function forService(items) {
    // The exported files are per area and language; a service is chosen here.
    if (!STATIC || !data.service) return items;
    return items.filter(function (item) { return (item.service_ids || []).indexOf(data.service) !== -1; });
  }
  function render(body) {
    if (!body) return;
    body = { revision: body.revision, lang: body.lang,
             incidents: forService(body.incidents), maintenance: forService(body.maintenance) };
    var hidden = dismissed();
    while (box.firstChild) box.removeChild(box.firstChild);
    body.incidents.concat(body.maintenance).forEach(function (item) {
      if (hidden.indexOf(item.dismiss_key) === -1) {
        box.appendChild(card(item, body.maintenance.indexOf(item) >= 0 ? "maintenance" : item.kind));
      }
    });
    host.setAttribute("data-revision", String(body.revision));
  }
  function load() {
    var headers = etag ? { "If-None-Match": etag } : {};
    return fetch(bannerUrl, { headers: headers, mode: "cors", credentials: "omit" })
      .then(function (response) {
        if (response.status === 304) return;
        if (response.status === 404 && fallbackUrl) {
          // A language the export does not have: the default language's file.
          bannerUrl = fallbackUrl;
          fallbackUrl = null;
          return load();
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        etag = response.headers.get("ETag");
        return response.json().then(function (body) { last = body; render(body); });
      })
      .catch(function () { /* keep showing the last good banner; the next event or poll retries */ });
  }
  var timer = null;
  function poll() {
    if (timer) return;
    timer = setInterval(load, POLL);
  }
  load();
  if (window.EventSource && !STATIC) {
    var source = new EventSource(eventsUrl);
    source.addEventListener("revision", function (event) {
      if (!last || Number(event.data && JSON.parse(event.data).revision) !== last.revision) load();
    });
    source.onerror = function () { poll(); };
    source.onopen = function () { if (timer) { clearInterval(timer); timer = null; } };
  } else {
    poll();
  }
})();
