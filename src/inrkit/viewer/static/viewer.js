// inrkit view: a deep-zoom view of image fields, its tiles rendered by the server from the field.
"use strict";
let viewer = null;  // the OpenSeadragon viewer (window.viewer for tests)
let current = null;

async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return r.json();
}

function encodePath(id) {
  return id.split("/").map(encodeURIComponent).join("/");
}

function tileSource(info) {
  // ?v=VERSION (the weights' mtime): a new checkpoint or file gets new tile addresses, no stale tile is reused
  return {
    width: info.virtual_width, height: info.virtual_height, tileSize: info.tile_size, tileOverlap: 0,
    minLevel: 0, maxLevel: info.max_level,
    getTileUrl: (level, x, y) => `/api/tile/${level}/${x}/${y}/${encodePath(info.id)}?v=${info.version}`,
  };
}

let polling = null;
window.liveHistoryLength = 0;  // points on the chart (read by the browser test)

function drawChart(progress) {
  const canvas = document.getElementById("chart"), ctx = canvas.getContext("2d");
  const h = progress.history, key = progress.metric;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  window.liveHistoryLength = h.length;
  if (h.length === 0) return;
  const pad = 24, W = canvas.width - 2 * pad, H = canvas.height - 2 * pad;
  const steps = h.map((r) => r.step), last = Math.max(progress.steps, ...steps);
  const num = (v) => (v === null || v === undefined ? NaN : v);  // non-finite values come as null
  const series = [
    { values: h.map((r) => num(r[key])), colour: "#1565c0", label: key },
    { values: h.map((r) => Math.log10(Math.max(num(r.loss), 1e-12))), colour: "#c62828", label: "log10 loss" },
  ];
  series.forEach((s, k) => {
    const finite = s.values.filter(Number.isFinite);
    if (!finite.length) return;
    const lo = Math.min(...finite), hi = Math.max(...finite), span = hi - lo || 1;
    ctx.strokeStyle = s.colour;
    ctx.beginPath();
    let started = false;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const x = pad + W * steps[i] / last, y = pad + H * (1 - (v - lo) / span);
      if (!started) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      started = true;
    });
    ctx.stroke();
    ctx.fillStyle = s.colour;
    const lastValue = s.values[s.values.length - 1];
    ctx.fillText(`${s.label}: ${Number.isFinite(lastValue) ? lastValue.toFixed(2) : "∞"}`, pad + k * 110, 12);
  });
}

async function poll(id) {
  const r = await fetch(`/api/progress/${encodePath(id)}`, { cache: "no-store" });
  if (!r.ok) return false;
  const progress = await r.json();
  document.getElementById("training").hidden = false;
  const rate = progress.seconds > 0 ? (progress.step / progress.seconds).toFixed(1) : "–";
  document.getElementById("status").textContent =
    `${progress.done ? "done" : "training"}: step ${progress.step} of ${progress.steps}, ${rate} steps/s`;
  drawChart(progress);
  if (watching === id) {
    const info = await fetch(`/api/info/${encodePath(id)}`, { cache: "no-store" });
    if (info.ok) {
      const fresh = await info.json();
      if (!viewer || !current || fresh.version !== current.version || !current.virtual_width) await open(fresh);
      if (progress.done) showComparison(fresh);  // written after the last checkpoint
    }
  }
  return !progress.done;
}

let watching = null;  // the field whose progress is followed; a poll for another one is dropped

function watch(id) {
  if (polling) clearInterval(polling);
  polling = null;
  watching = id;
  document.getElementById("training").hidden = true;
  poll(id).then((live) => {
    if (!live || watching !== id) return;
    const timer = setInterval(() => {
      if (watching !== id) { clearInterval(timer); return; }
      poll(id).then((more) => { if (!more) clearInterval(timer); });
    }, 1000);
    polling = timer;
  });
}

function updateZoom() {
  if (!viewer || !current) return;
  // image pixels per screen pixel at the deepest level -> training pixels per screen pixel
  const zoom = viewer.viewport.viewportToImageZoom(viewer.viewport.getZoom(true));
  document.getElementById("zoom").textContent = (zoom * current.max_zoom).toFixed(2);
}

function showComparison(info) {
  // a finished run's target | reconstruction | error map; hidden where there is none (.inrz, a run in training)
  const img = document.getElementById("comparison"), box = document.getElementById("comparison-box");
  if (!info || !info.comparison) { box.hidden = true; return; }
  const url = `/api/comparison/${encodePath(info.id)}?v=${info.version}`;
  img.onload = () => { box.hidden = false; };
  img.src = url;
  document.getElementById("comparison-link").href = url;
}

async function show(id, link) {
  showComparison(null);
  document.querySelectorAll("#fields a").forEach((a) => a.classList.toggle("active", a === link));
  document.getElementById("details").hidden = false;
  document.getElementById("title").textContent = id === "." ? "(this folder)" : id;
  current = { id };
  watch(id);
  const r = await fetch(`/api/info/${encodePath(id)}`, { cache: "no-store" });
  if (r.ok) await open(await r.json());
  else document.getElementById("size").textContent = "no checkpoint yet: the picture comes with the first one";
}

async function open(info) {
  const same = viewer && current && current.id === info.id && current.virtual_width;  // a newer checkpoint
  showComparison(info);
  window.currentStep = info.step;  // (read by the browser test)
  current = info;
  document.getElementById("size").textContent = `trained at ${info.width}x${info.height}` +
    (info.step ? `, checkpoint at step ${info.step}` : "");
  document.getElementById("maxzoom").textContent = info.max_zoom;
  if (!viewer) {
    viewer = OpenSeadragon({
      id: "view", prefixUrl: "/static/openseadragon/images/", showNavigator: true, maxZoomPixelRatio: 1,
      drawer: "canvas",
      visibilityRatio: 1, tileSources: tileSource(info),
    });
    window.viewer = viewer;
    viewer.addHandler("animation", updateZoom);
    viewer.addHandler("open", updateZoom);
  } else {
    if (same) {  // keep the place the user zoomed to
      const bounds = viewer.viewport.getBounds(true);
      viewer.addOnceHandler("open", () => viewer.viewport.fitBounds(bounds, true));
    }
    viewer.open(tileSource(info));
  }
}

function exportView(event) {
  event.preventDefault();
  if (!viewer || !current) return;
  const b = viewer.viewport.viewportToImageRectangle(viewer.viewport.getBounds(true));
  const clamp = (v) => Math.min(1, Math.max(-1, v));
  const x0 = clamp(-1 + 2 * b.x / current.virtual_width), x1 = clamp(-1 + 2 * (b.x + b.width) / current.virtual_width);
  const y0 = clamp(-1 + 2 * b.y / current.virtual_height), y1 = clamp(-1 + 2 * (b.y + b.height) / current.virtual_height);
  const w = document.getElementById("ew").value, h = document.getElementById("eh").value;
  window.location = `/api/export/${encodePath(current.id)}?x0=${x0}&y0=${y0}&x1=${x1}&y1=${y1}&w=${w}&h=${h}`;
}

async function main() {
  let listing = await getJSON("/api/fields");
  while (listing.fields.length === 0 && (await new Promise((r) => setTimeout(r, 1000, true)))) {
    document.getElementById("empty").hidden = false;  // a run about to start (fit --view): wait for it
    listing = await getJSON("/api/fields");
  }
  document.getElementById("empty").hidden = true;
  document.getElementById("root").textContent = `folder: ${listing.root}`;
  const ul = document.getElementById("fields");
  for (const f of listing.fields) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `#${f.id}`;
    a.textContent = `${f.id === "." ? "(this folder)" : f.id} (${f.width}x${f.height})`;
    a.addEventListener("click", (e) => { e.preventDefault(); show(f.id, a); });
    li.appendChild(a);
    ul.appendChild(li);
  }
  document.getElementById("export").addEventListener("submit", exportView);
  const wanted = decodeURIComponent(window.location.hash.slice(1));
  const first = listing.fields.find((f) => f.id === wanted) || listing.fields[0];
  await show(first.id, ul.querySelectorAll("a")[listing.fields.indexOf(first)]);
}

main().catch((e) => { console.error(e); });
