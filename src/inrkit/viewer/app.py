"""The viewer's web app: a page per field, and tiles rendered from the field on demand at any zoom.

An ASGI app (Starlette), served by uvicorn on localhost by ``inrkit view DIR`` (or ``inrkit fit ... --view``,
which watches the run as it trains: the fit loop writes ``progress.json`` at each evaluation and the
field at each checkpoint). It only uses the public
API: :func:`inrkit.load` (or :func:`inrkit.codec.read_stream` for a ``.inrz`` file) and
:func:`inrkit.render` of a region at a size, so a tile is exactly what ``inrkit render --region``
gives for the same rectangle. It serves nothing but the folder it was given: a field is named by its
path relative to that folder, and a path that leaves it (``..``, an absolute path, a symbolic link
pointing out) is answered 404.

Tiles follow OpenSeadragon's pyramid: the image is ``max_zoom`` times the field's training size at the
deepest level, each level half the one above, cut into 256-pixel tiles.
"""
from __future__ import annotations

import io
import math
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

__all__ = ["make_app", "find_fields", "TILE", "MAX_EXPORT_PIXELS", "tile_region", "check_free", "serve_in_background",
           "allowed_hosts", "require"]

TILE = 256
"""Side of a tile, in pixels."""
MAX_EXPORT_PIXELS = 1 << 24
"""The largest region export (16.8 million pixels, 4096x4096)."""
_STATIC = Path(__file__).parent / "static"
_SKIP = {".git", "__pycache__", ".venv", "node_modules"}


def find_fields(root: Path, depth: int = 4) -> list[dict]:
    """Image fields under ``root`` (checkpoint folders of kind image, and ``.inrz`` files), as
    ``{"id", "kind", "width", "height"}`` with ``id`` the path relative to ``root`` ("." for root itself)."""
    import json

    root = root.resolve()
    found = []

    def read(path: Path) -> dict:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def entry(folder: Path) -> dict | None:
        if not _contained(folder, root):
            return None
        meta = read(folder / "field.json") if (folder / "field.json").is_file() else None
        progress = read(folder / "progress.json") if (folder / "progress.json").is_file() else None
        if meta is None and progress is None:
            return None
        sig = (meta.get("signal") if isinstance(meta, dict) else None) or (progress if isinstance(progress, dict)
                                                                            else {})
        shape = sig.get("shape") if isinstance(sig, dict) else None
        if not isinstance(sig, dict) or sig.get("kind") != "image" or not isinstance(shape, list) or len(shape) < 2:
            return None
        return {"id": folder.relative_to(root).as_posix(), "kind": "image", "height": int(shape[0]),
                "width": int(shape[1]), "training": isinstance(progress, dict) and not progress.get("done"),
                "checkpoint": meta is not None}

    def visit(folder: Path, level: int):
        try:
            e = entry(folder)
        except (OSError, ValueError, TypeError):  # an unreadable or malformed folder is left out, not fatal
            e = None
        if e is not None:
            found.append(e)
        if level >= depth:
            return
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return
        for p in entries:
            try:
                if p.name in _SKIP or p.name.startswith(".") or not _inside(p.resolve(), root):
                    continue
                if p.is_dir():
                    visit(p, level + 1)
                elif p.suffix.lower() == ".inrz" and p.is_file() and (size := _inrz_size(p)) is not None:
                    found.append({"id": p.relative_to(root).as_posix(), "kind": "image", **size,
                                  "training": False, "checkpoint": True})
            except OSError:
                continue

    visit(root, 0)
    return found


def _inrz_size(path: Path) -> dict | None:
    """Width and height from a ``.inrz`` header (None when it is not one)."""
    from ..codec.bitstream import image_size

    try:
        with open(path, "rb") as f:
            size = image_size(f.read(13))
    except OSError:
        return None
    return None if size is None else {"height": size[0], "width": size[1]}


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _contained(folder: Path, root: Path) -> bool:
    """Whether ``folder`` and every file in it (field.json, weights, progress.json...) lie inside ``root``
    once symbolic links are followed: a link inside a served folder must not lead a reader out of it."""
    if not _inside(folder.resolve(), root):
        return False
    try:
        return all(_inside(f.resolve(), root) for f in folder.iterdir() if f.is_symlink())
    except OSError:
        return False


def tile_region(width: int, height: int, max_zoom: float, level: int, x: int, y: int):
    """The field rectangle ``((x0, y0), (x1, y1))`` in ``[-1, 1]`` and the pixel size ``(w, h)`` of tile
    ``(x, y)`` at pyramid ``level`` (OpenSeadragon's: the deepest level is the full virtual image of
    ``max_zoom`` times the field's size, each level above half of it); None when the tile does not exist.

    >>> tile_region(512, 256, 1.0, 9, 1, 0)  # 512x256 at level 9 (full size): the right half
    (((0.0, -1.0), (1.0, 1.0)), (256, 256))
    """
    vw, vh = width * max_zoom, height * max_zoom
    top = max_level(width, height, max_zoom)
    if not 0 <= level <= top:
        return None
    scale = 0.5 ** (top - level)
    lw, lh = vw * scale, vh * scale  # the level's size in pixels (fractional, as OpenSeadragon has it)
    if x < 0 or y < 0 or x * TILE >= lw or y * TILE >= lh:
        return None
    px1, py1 = min((x + 1) * TILE, lw), min((y + 1) * TILE, lh)
    w, h = max(1, math.ceil(px1 - x * TILE - 1e-9)), max(1, math.ceil(py1 - y * TILE - 1e-9))
    return ((-1 + 2 * x * TILE / lw, -1 + 2 * y * TILE / lh), (-1 + 2 * px1 / lw, -1 + 2 * py1 / lh)), (w, h)


def max_level(width: int, height: int, max_zoom: float) -> int:
    """OpenSeadragon's deepest level for an image of ``max_zoom`` times ``width x height``."""
    return math.ceil(math.log2(max(width * max_zoom, height * max_zoom, 1)))


def version(path: Path) -> int:
    """What changes when a field is rewritten: the mtime of its weights (or of the ``.inrz`` file)."""
    target = path if path.is_file() else path / "field.safetensors"
    try:
        return target.stat().st_mtime_ns
    except OSError:
        return 0


class _Fields:
    """Loaded fields by path, the most recent few kept (a field is loaded once, not per tile)."""

    def __init__(self, keep: int = 8):
        self.keep, self.items, self.lock = keep, OrderedDict(), threading.Lock()

    def get(self, path: Path):
        key = (str(path), version(path))
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        if path.suffix.lower() == ".inrz":
            from ..codec import read_stream

            field = read_stream(path.read_bytes(), repr(path.name))
        else:
            from ..checkpoint import load

            field = load(path)
        with self.lock:
            for old in [k for k in self.items if k[0] == key[0]]:  # an earlier checkpoint of the same run
                del self.items[old]
            self.items[key] = field
            while len(self.items) > self.keep:
                self.items.popitem(last=False)
        return field


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def render_region(field, region, size) -> np.ndarray:
    """``inrkit.render`` of an image field's ``region`` at ``size = (w, h)``: what a tile shows."""
    import warnings

    from ..outputs import render

    with warnings.catch_warnings():  # an edge tile is a fraction of a pixel wider or taller: no warning per tile
        warnings.simplefilter("ignore")
        return render(field, size=size, region=region, progress=False)


def make_app(root, max_zoom: float = 16.0, hosts=("127.0.0.1", "localhost")):
    """The viewer for the fields under folder ``root`` (an ASGI app). Requests naming another host than
    ``hosts`` are refused (a web page that rebinds its own name to this machine cannot read the fields);
    ``hosts=("*",)`` serves any name."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    root = Path(root).resolve()
    fields = _Fields()

    def resolve(name: str, needs: str = "field.json") -> Path:
        """The field (or run) at ``name`` relative to root, or 404 (also for anything outside root)."""
        if name.startswith(("/", "\\")) or ":" in name or "\x00" in name:
            raise HTTPException(404, "no such field")
        path = (root / name).resolve()
        if not _inside(path, root) or not path.exists():
            raise HTTPException(404, "no such field")
        try:
            ok = (path.is_dir() and (path / needs).is_file() and _contained(path, root)) or \
                (needs == "field.json" and path.is_file() and path.suffix.lower() == ".inrz")
        except OSError:
            ok = False
        if not ok:
            raise HTTPException(404, "no such field" if needs == "field.json" else "no training recorded there")
        return path

    def load(path: Path):
        """The field at ``path``; one that cannot be read is a 422 with its sentence, not a server error."""
        from ..errors import InrkitError

        try:
            return fields.get(path)
        except (InrkitError, OSError, ValueError, KeyError, RuntimeError) as e:
            raise HTTPException(422, f"cannot read this field: {e}") from None

    def describe(path: Path) -> dict:
        field = load(path)
        signal = getattr(field, "meta", {}).get("signal", {})
        shape = signal.get("shape")
        if signal.get("kind") != "image" or not shape:
            raise HTTPException(404, "the viewer shows image fields")
        h, w = int(shape[0]), int(shape[1])
        return {"id": path.relative_to(root).as_posix(), "version": version(path), "width": w, "height": h,
                "step": getattr(field, "meta", {}).get("step"), "channels": int(shape[2]) if len(shape) > 2 else 1,
                "max_zoom": max_zoom, "comparison": path.is_dir() and (path / "comparison.png").is_file(),
                "tile_size": TILE, "max_level": max_level(w, h, max_zoom), "virtual_width": w * max_zoom,
                "virtual_height": h * max_zoom}

    async def index(request):
        return FileResponse(_STATIC / "index.html")

    async def list_fields(request):
        return JSONResponse({"root": root.name, "fields": await run_in_threadpool(find_fields, root)})

    async def info(request):
        path = resolve(request.path_params["name"])
        return JSONResponse(await run_in_threadpool(describe, path), headers={"Cache-Control": "no-store"})

    async def progress(request):
        path = resolve(request.path_params["name"], needs="progress.json")
        return FileResponse(path / "progress.json", media_type="application/json",
                            headers={"Cache-Control": "no-store"})

    async def comparison(request):
        """The run's ``comparison.png`` (target | reconstruction | error map, written at the end of a fit)."""
        path = resolve(request.path_params["name"], needs="comparison.png")
        return FileResponse(path / "comparison.png", media_type="image/png", headers={"Cache-Control": "no-store"})

    async def tile(request):
        p = request.path_params
        path = resolve(p["name"])
        d = await run_in_threadpool(describe, path)
        found = tile_region(d["width"], d["height"], max_zoom, p["level"], p["x"], p["y"])
        if found is None:
            raise HTTPException(400, f"no tile {p['x']},{p['y']} at level {p['level']} (levels 0 to {d['max_level']})")
        region, size = found
        image = await run_in_threadpool(render_region, load(path), region, size)
        return Response(await run_in_threadpool(_png, image), media_type="image/png",
                        headers={"Cache-Control": "max-age=3600"})

    async def export(request):
        path = resolve(request.path_params["name"])
        q = request.query_params
        try:
            x0, y0, x1, y1 = (float(q.get(k, d)) for k, d in (("x0", -1), ("y0", -1), ("x1", 1), ("y1", 1)))
            w, h = int(q["w"]), int(q["h"])
        except (KeyError, ValueError):
            raise HTTPException(400, "give w and h (pixels) and optionally x0, y0, x1, y1 in [-1, 1]") from None
        if not all(math.isfinite(v) and -1 <= v <= 1 for v in (x0, y0, x1, y1)) or x1 <= x0 or y1 <= y0:
            raise HTTPException(400, "the region must lie in [-1, 1] with x0 < x1 and y0 < y1")
        if w < 1 or h < 1 or w * h > MAX_EXPORT_PIXELS:
            raise HTTPException(400, f"an export has 1 to {MAX_EXPORT_PIXELS:,} pixels, not {w}x{h}")
        await run_in_threadpool(describe, path)
        image = await run_in_threadpool(render_region, load(path), ((x0, y0), (x1, y1)), (w, h))
        return Response(await run_in_threadpool(_png, image), media_type="image/png",
                        headers={"Content-Disposition": f'attachment; filename="region_{w}x{h}.png"'})

    routes = [Route("/", index), Route("/api/fields", list_fields),
              Route("/api/info/{name:path}", info), Route("/api/progress/{name:path}", progress),
              Route("/api/comparison/{name:path}", comparison),
              Route("/api/tile/{level:int}/{x:int}/{y:int}/{name:path}", tile),
              Route("/api/export/{name:path}", export),
              Mount("/static", StaticFiles(directory=_STATIC), name="static")]
    return Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))])


def require(what: str) -> None:
    """One sentence, naming ``what`` needs them, when the viewer's packages (starlette, uvicorn) are missing."""
    from ..errors import InrkitError

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        raise InrkitError(f"{what} needs the viewer's packages ({e.name} is missing): pip install 'inrkit[view]'") \
            from None


def check_free(host: str, port: int) -> None:
    """One sentence now, rather than uvicorn's log line later, when ``host:port`` cannot be listened on."""
    import socket

    from ..errors import InrkitError

    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise InrkitError(f"port must be from 1 to 65535, got {port}")
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        raise InrkitError(f"cannot listen on {host}:{port} ({e.strerror or e}); pick another --port or --host") \
            from None


def serve_in_background(root, host: str = "127.0.0.1", port: int = 8000, max_zoom: float = 16.0):
    """Serve the viewer for ``root`` from a daemon thread; returns ``(server, thread)`` once it listens."""
    import time

    import uvicorn

    from ..errors import InrkitError

    check_free(host, port)
    app = make_app(root, max_zoom, hosts=allowed_hosts(host))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="inrkit-view", daemon=True)
    thread.start()
    for _ in range(400):
        if server.started or not thread.is_alive():
            break
        time.sleep(0.025)
    if not server.started:
        raise InrkitError(f"the viewer did not start on {host}:{port}")
    return server, thread


def allowed_hosts(host: str) -> tuple[str, ...]:
    """The host names a viewer bound to ``host`` answers: this machine's names, and ``host`` itself; any name
    when it listens on every address (0.0.0.0, ::), where the user asked to be reached by other names."""
    if host in ("0.0.0.0", "::", ""):
        return ("*",)
    return tuple(dict.fromkeys(("127.0.0.1", "localhost", "::1", host)))
