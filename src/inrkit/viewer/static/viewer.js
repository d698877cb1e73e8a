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
  return {
    width: info.virtual_width, height: info.virtual_height, tileSize: info.tile_size, tileOverlap: 0,
    minLevel: 0, maxLevel: info.max_level,
    getTileUrl: (level, x, y) => `/api/tile/${level}/${x}/${y}/${encodePath(info.id)}`,
  };
}

function updateZoom() {
  if (!viewer || !current) return;
  // image pixels per screen pixel at the deepest level -> training pixels per screen pixel
  const zoom = viewer.viewport.viewportToImageZoom(viewer.viewport.getZoom(true));
  document.getElementById("zoom").textContent = (zoom * current.max_zoom).toFixed(2);
}

async function show(id, link) {
  const info = await getJSON(`/api/info/${encodePath(id)}`);
  current = info;
  document.querySelectorAll("#fields a").forEach((a) => a.classList.toggle("active", a === link));
  document.getElementById("details").hidden = false;
  document.getElementById("title").textContent = id === "." ? "(this folder)" : id;
  document.getElementById("size").textContent = `trained at ${info.width}x${info.height}`;
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
  const listing = await getJSON("/api/fields");
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
  if (listing.fields.length === 0) {
    document.getElementById("empty").hidden = false;
    return;
  }
  const wanted = decodeURIComponent(window.location.hash.slice(1));
  const first = listing.fields.find((f) => f.id === wanted) || listing.fields[0];
  await show(first.id, ul.querySelectorAll("a")[listing.fields.indexOf(first)]);
}

main().catch((e) => { console.error(e); });
