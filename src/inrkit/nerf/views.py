"""A fitted radiance field's views: rendering cameras and camera paths, evaluation, depth images, meshing.

What ``inrkit render``, ``inrkit eval`` and ``inrkit mesh`` do for a radiance field, as plain functions
of the field (from :func:`inrkit.load`, or its checkpoint folder): the cameras, scene box, background
and render settings come from its metadata, the occupancy grid from the field itself (saved with its
weights; a v0.1.0/v0.2.0 checkpoint's ``occupancy.safetensors`` is read once, on first use).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..errors import InrkitError
from ..io import output_folder
from .datasets import NerfDataset
from .occupancy import OccupancyGrid
from .render import NerfRenderConfig

__all__ = ["OCCUPANCY", "camera_path", "depth_image", "depth_range", "evaluate_views", "frame_image",
           "grid_for_field", "load_saved_grid", "lpips_status", "mesh_radiance_field", "occupancy_grid",
           "render_camera_path", "render_config", "render_view", "save_view", "signal_from_meta"]

OCCUPANCY = "occupancy.safetensors"  # where v0.1.0 and v0.2.0 runs saved the grid (now in field.safetensors)


def grid_for_field(field, render: NerfRenderConfig, device, seed: int = 0, passes: int = 4,
                   checkpoint: Path | None = None) -> OccupancyGrid:
    """The occupancy grid to render a fitted field with: its own (``field.grid``, filled while training
    and saved with the weights) when it has one; else from a ``checkpoint`` folder of an earlier version
    that saved it beside the weights (``occupancy.safetensors``), the grid that training ended with;
    else the maximum density of ``passes`` random points per cell, limited to the cells the training
    views left (``carved``, when saved: the field was never trained outside them, so its density there
    is meaningless). Only the field's own grid is the field's: the others are new objects."""
    own = getattr(field, "grid", None)
    if own is not None and own.resolution:
        return own
    grid = OccupancyGrid(render.grid_resolution, device)
    if checkpoint is not None and (Path(checkpoint) / OCCUPANCY).exists():
        from safetensors.torch import load_file

        saved = load_file(str(Path(checkpoint) / OCCUPANCY))
        if saved["carved"].shape == grid.carved.shape:
            grid.carved = saved["carved"].bool().to(device)
            if "mask" in saved:
                grid.mask = saved["mask"].bool().to(device)
                return grid
    gen = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for _ in range(passes):
            grid.update(field.density, render.step_size, gen, decay=1.0)
    return grid


def depth_range(views: list[dict], lo: float = 1.0, hi: float = 99.0) -> tuple[float, float]:
    """The ``lo``..``hi`` percentiles of the depth of the pixels at least half opaque over ``views``
    (dicts with ``depth`` and ``opacity`` ``(H, W)``): ``(near, far)``, ``far > near``; ``(0, 1)``
    when nothing is hit."""
    hits = [v["depth"][v["opacity"] > 0.5] for v in views]
    hits = np.concatenate([h.ravel() for h in hits]) if hits else np.zeros(0)
    if hits.size == 0:
        return 0.0, 1.0
    near, far = (float(x) for x in np.percentile(hits, [lo, hi]))
    if far - near < 1e-6 * max(1.0, abs(near)):
        near, far = near - 0.5e-3 * max(1.0, abs(near)), far + 0.5e-3 * max(1.0, abs(near))
    return near, far


def depth_image(depth: np.ndarray, opacity: np.ndarray, near: float | None = None,
                far: float | None = None) -> np.ndarray:
    """Depth ``(H, W)`` as grey ``(H, W)`` in [0, 1]: ``near`` bright (1) to ``far`` dark (0.1), empty
    pixels (opacity below 0.5) black. ``near``/``far`` default to this view's :func:`depth_range`.
    The figure-free form, with no scale; :func:`save_view` writes the depth with a colour bar."""
    hit = opacity > 0.5
    if not hit.any():
        return np.zeros_like(depth)
    if near is None or far is None:
        auto = depth_range([{"depth": depth, "opacity": opacity}])
        near, far = (auto[0] if near is None else near), (auto[1] if far is None else far)
    g = 1 - (depth - near) / max(far - near, 1e-6)
    return np.where(hit, np.clip(0.1 + 0.9 * g, 0, 1), 0.0)


def save_view(folder: Path, stem: str, view: dict, gt: np.ndarray | None = None,
              near_far: tuple[float, float] | None = None, unit: str = "world units",
              figure: bool = True) -> None:
    """Write ``STEM_rgb.png``, ``STEM_depth.png`` and (with ``gt``) ``STEM_gt.png`` into ``folder``.

    The depth is colour-mapped over ``near_far`` (default: this view's :func:`depth_range`), in
    ``unit``, with a colour bar and the range in its title (:func:`inrkit.plots.depth_figure`).
    Without matplotlib, or with ``figure=False``, it is the grey :func:`depth_image` instead (one
    warning when matplotlib is missing and ``figure`` is True).
    """
    from ..plots import depth_figure
    from ..signals.image import save_image

    save_image(folder / f"{stem}_rgb.png", np.clip(view["rgb"], 0, 1))
    near, far = depth_range([view]) if near_far is None else near_far
    if not (figure and depth_figure(folder / f"{stem}_depth.png", view["depth"], view["opacity"], near, far, unit,
                                    title=f"view {stem}",
                                    missing="depth colour bars skipped (grey depth written): pip install matplotlib")):
        save_image(folder / f"{stem}_depth.png", depth_image(view["depth"], view["opacity"], near, far)[..., None])
    if gt is not None:
        save_image(folder / f"{stem}_gt.png", gt)


def mesh_radiance_field(
    field,
    meta: dict,
    resolution: int = 256,
    level: float = 25.0,
    checkpoint: Path | None = None,
    coarse_to_fine: bool | None = None,
    chunk_size: int = 1 << 17,
    device=None,
):
    """Marching cubes on a radiance field's density: vertices ``(V, 3)`` in world units, faces ``(F, 3)``.

    The surface is ``sigma = level`` (densities per world unit; the original NeRF's mesh notebook uses
    a threshold of the same order, 25-50, for the Blender scenes). The density is set to zero in the
    cells the training views carved away (the field's occupancy grid, ``field.grid``; for a checkpoint
    of an earlier version, ``occupancy.safetensors`` in the ``checkpoint`` folder): the field was never
    trained there, so its density is meaningless. ``meta`` is the checkpoint's ``signal`` metadata,
    whose ``bounds`` map the field's ``[-1, 1]³`` to the scene.
    """
    from ..meshing import extract_mesh

    carved = None
    own = getattr(field, "grid", None)
    if own is not None and own.resolution:
        carved = own.carved.to(device)  # (X, Y, Z)
    elif checkpoint is not None and (Path(checkpoint) / OCCUPANCY).exists():
        from safetensors.torch import load_file

        carved = load_file(str(Path(checkpoint) / OCCUPANCY))["carved"].bool().to(device)  # (X, Y, Z)

    def density(x: torch.Tensor) -> torch.Tensor:  # x: (N, 3) in [-1, 1]³ -> (N,)
        sigma = field.density(x)
        if carved is not None:
            res = carved.shape[0]
            cell = ((x + 1) * 0.5 * res).long().clamp(0, res - 1)  # (N, 3), the cell each point falls in
            sigma = sigma * carved[cell[:, 0], cell[:, 1], cell[:, 2]]
        return sigma

    ctf = resolution >= 256 if coarse_to_fine is None else coarse_to_fine
    v, f = extract_mesh(density, ((-1.0,) * 3, (1.0,) * 3), resolution, level=level, inside="above",
                        chunk_size=chunk_size, coarse_to_fine=ctf, device=device)
    lo, hi = (np.asarray(b, dtype=np.float64) for b in meta["bounds"])
    v = (lo + (v.astype(np.float64) + 1) * 0.5 * (hi - lo)).astype(np.float32)  # world units
    return v, f


# ---------------------------------------------------------------- one call from a checkpoint to pixels
# What `inrkit render` and `inrkit eval` do for a radiance field, as plain functions: the checkpoint's
# cameras, scene box, background, render settings and occupancy grid come from the field itself.


def render_config(meta: dict) -> NerfRenderConfig:
    """The render settings a checkpoint's ``meta`` (its ``field.json``) was fitted with (keys a newer
    version added and this one does not know are left out)."""
    known = {f.name for f in dataclasses.fields(NerfRenderConfig)}
    return NerfRenderConfig(**{k: v for k, v in meta["signal"].get("render", {}).items() if k in known})


def signal_from_meta(meta: dict, data: str | None = None, split: str = "test",
                     downscale: int | None = None):
    """A :class:`NerfSignal` for a checkpoint's ``meta`` (its ``field.json``): cameras, scene box,
    background and render settings from the metadata; the held-out views loaded from ``data`` (a
    scene folder or ``sample:NAME``, its ``split``, at ``downscale``, default the fit's) when given,
    else blank images of the right size (enough to render, not to score)."""
    from ..signals.nerf import NerfSignal
    from .datasets import load_scene

    sig = meta["signal"]
    cams = sig["cameras"]
    h, w = cams["height"], cams["width"]

    def blank(c2w, k):
        n = len(c2w)
        return NerfDataset(torch.zeros(1, 1, 1, 3, dtype=torch.uint8).expand(n, h, w, 3), torch.tensor(c2w),
                           torch.tensor(k), sig["center"], sig["half_size"], ndc=sig.get("ndc"), source=sig["source"])

    train = blank(cams["train_c2w"], cams["train_intrinsics"])
    test = blank(cams["test_c2w"], cams["test_intrinsics"])
    if data is not None:
        test = load_scene(data, split, downscale or sig.get("downscale", 1), sig["half_size"])
        test.center, test.half_size, train.ndc = sig["center"], sig["half_size"], sig.get("ndc")
    return NerfSignal(train, test, render_config(meta), sig.get("background", (1.0, 1.0, 1.0)))


def _radiance(field) -> tuple[object, dict]:
    """``field`` (a fitted radiance field or its checkpoint folder) and its metadata. A field loaded
    from a checkpoint of v0.1.0 or v0.2.0, which saved its occupancy grid beside the weights, gets
    that grid as its own (:func:`load_saved_grid`)."""
    from ..outputs import as_field, field_meta

    field = as_field(field)
    meta = field_meta(field, ("nerf",))
    load_saved_grid(field, render_config(meta))
    return field, meta


def load_saved_grid(field, render: NerfRenderConfig) -> bool:
    """Give ``field`` (from :func:`inrkit.load`) the occupancy grid an earlier version saved beside its
    weights (``occupancy.safetensors`` in ``field.checkpoint_dir``) when it has none of its own: the
    grid training ended with (:func:`grid_for_field`). True when it did; nothing to do otherwise
    (fields fitted since v0.3.0 keep their grid in ``field.safetensors``)."""
    own, folder = getattr(field, "grid", None), getattr(field, "checkpoint_dir", None)
    if own is None or own.resolution or render.sampler != "occupancy" or folder is None:
        return False
    if not (Path(folder) / OCCUPANCY).exists():
        return False
    device = next(field.parameters()).device
    own.load_state_dict(grid_for_field(field, render, device, checkpoint=folder).state_dict())
    return True


def occupancy_grid(field) -> OccupancyGrid | None:
    """The occupancy grid to render a fitted radiance field with (None for the hierarchical sampler).

    The grid training ended with, the field's own (``field.grid``, saved in ``field.safetensors``; for
    a checkpoint of v0.1.0 or v0.2.0, read from ``occupancy.safetensors`` beside it), so renders match
    the fit's own evaluation; for a field without one, a new grid rebuilt from its density
    (:func:`grid_for_field`), which also keeps cells training never reached.

    Examples:
        >>> grid = inrkit.occupancy_grid(inrkit.load("runs/lego"))     # doctest: +SKIP
        >>> grid.mask.shape, grid.mask.float().mean() < 0.2             # doctest: +SKIP
        (torch.Size([64, 64, 64]), tensor(True))
    """
    field, meta = _radiance(field)
    render = render_config(meta)
    if render.sampler != "occupancy":
        return None
    device = next(field.parameters()).device
    return grid_for_field(field, render, device)


def render_view(field, c2w, intrinsics, width: int, height: int, chunk_size: int | None = None,
                grid: OccupancyGrid | None = None, distortion=None) -> dict[str, np.ndarray]:
    """Render one camera of a fitted radiance field, as ``inrkit render`` and ``inrkit eval`` do.

    Args:
        field: a radiance field from :func:`inrkit.load` (its ``meta`` holds the scene box,
            background and render settings), or its checkpoint folder.
        c2w: ``(4, 4)`` camera-to-world, OpenGL axes (x right, y up, looking down -z), world units.
        intrinsics: ``(4,)`` ``fx, fy, cx, cy`` in pixels of the ``width x height`` image.
        width, height: the image's size in pixels.
        chunk_size: rays rendered at once (default: the fit's, ``meta["signal"]["render"]["chunk_size"]``).
        grid: the occupancy grid (default :func:`occupancy_grid`: the field's own); pass it to render
            many views of a field that has none without rebuilding it each time.
        distortion: ``(4,)`` OpenCV ``k1, k2, p1, p2`` or None.

    Returns:
        ``rgb (H, W, 3)`` float32 in [0, 1], composited onto the scene's background; ``depth (H, W)``
        expected distance along the ray (world units; NDC for forward-facing LLFF scenes);
        ``opacity (H, W)`` in [0, 1].

    Examples:
        >>> field = inrkit.load("runs/lego")                       # doctest: +SKIP
        >>> cams = field.meta["signal"]["cameras"]                 # doctest: +SKIP
        >>> view = inrkit.render_view(field, cams["test_c2w"][0], cams["test_intrinsics"][0],
        ...                           cams["width"], cams["height"])   # doctest: +SKIP
        >>> view["rgb"].shape, view["depth"].shape                 # doctest: +SKIP
        ((200, 200, 3), (200, 200))
    """
    field, meta = _radiance(field)
    signal = signal_from_meta(meta)
    if chunk_size is not None:
        if not chunk_size >= 1:
            raise InrkitError(f"chunk size must be positive, got {chunk_size}")
        signal.render.chunk_size = int(chunk_size)
    c2w = torch.as_tensor(np.asarray(c2w, np.float32))
    k = torch.as_tensor(np.asarray(intrinsics, np.float32))
    if c2w.shape != (4, 4) or k.shape != (4,):
        raise InrkitError(f"a camera is a (4, 4) camera-to-world matrix and (4,) intrinsics fx, fy, cx, cy; "
                          f"got {tuple(c2w.shape)} and {tuple(k.shape)}")
    if not (int(width) >= 1 and int(height) >= 1):
        raise InrkitError(f"an image needs a positive size, got {width}x{height}")
    dist = None if distortion is None else torch.as_tensor(np.asarray(distortion, np.float32))
    if grid is None:
        grid = occupancy_grid(field)
    with torch.no_grad():
        return signal.render_view(field, c2w, k, int(width), int(height), dist, grid=grid)


def camera_path(field, path: str = "orbit", frames: int | None = None, size=None, scale: float = 1.0):
    """The cameras of a camera path around a fitted radiance field, at the output size.

    ``path``: ``orbit`` (a circle around the training cameras' centre, at their mean distance and
    elevation), ``spiral`` (around the mean camera, LLFF style), ``dataset`` (the held-out cameras)
    or a file (nerfstudio ``camera_path.json``, or a transforms-style file with 4x4
    ``transform_matrix`` frames). ``frames``: cameras of an orbit or spiral (default 120).
    ``size``: ``(W, H)`` or ``"WxH"`` (default the training images' size times ``scale``).

    Returns ``c2w (F, 4, 4)``, ``intrinsics (F, 4)`` (float32) and the size ``W, H``.

    Examples:
        >>> c2w, k, w, h = inrkit.camera_path("runs/lego", "orbit", frames=60, scale=0.5)   # doctest: +SKIP
        >>> c2w.shape, k.shape, (w, h)                                                     # doctest: +SKIP
        (torch.Size([60, 4, 4]), torch.Size([60, 4]), (100, 100))
    """
    from .cameras import orbit_path, read_camera_path, spiral_path
    from ..outputs import output_size

    field, meta = _radiance(field)
    cams = meta["signal"]["cameras"]
    w0, h0 = cams["width"], cams["height"]
    w, h = output_size(size, scale, (w0, h0), "the training views")
    fx, fy = w / w0, h / h0
    k = torch.tensor(cams["train_intrinsics"][0]) * torch.tensor([fx, fy, fx, fy])
    train = torch.tensor(cams["train_c2w"])
    n = 120 if frames is None else frames
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise InrkitError(f"frames must be a positive number of frames, got {frames}")
    if path == "orbit":
        c2w = orbit_path(train, int(n))
    elif path == "spiral":
        c2w = spiral_path(train, int(n))
    elif path == "dataset":
        c2w = torch.tensor(cams["test_c2w"])
        k = torch.tensor(cams["test_intrinsics"]) * torch.tensor([fx, fy, fx, fy])
    else:
        c2w, k, w2, h2 = read_camera_path(path, k, w, h)
        if size is not None and (w2, h2) != (w, h):
            import warnings

            warnings.warn(f"--size ignored: the camera path {str(path)!r} sets the size, {w2}x{h2}")
        w, h = w2, h2
    return c2w.float(), k.float().expand(c2w.shape[0], 4).contiguous(), w, h


def frame_image(view: dict[str, np.ndarray], depth: bool = False,
                depth_span: tuple[float, float] | None = None) -> np.ndarray:
    """A rendered view (:func:`render_view`) as a video frame: ``uint8 (H, W, 3)``, or with ``depth``
    ``(H, 2W, 3)``, colour beside the grey depth (:func:`depth_image`: near bright, far dark, empty black).

    Examples:
        >>> v = {"rgb": np.ones((2, 3, 3)), "depth": np.ones((2, 3)), "opacity": np.ones((2, 3))}
        >>> frame_image(v).shape, frame_image(v, depth=True).shape, frame_image(v).dtype
        ((2, 3, 3), (2, 6, 3), dtype('uint8'))
    """
    rgb = (np.clip(view["rgb"], 0, 1) * 255 + 0.5).astype(np.uint8)
    if not depth:
        return rgb
    near, far = depth_span or (None, None)  # default: this view's own range
    dep = (depth_image(view["depth"], view["opacity"], near, far) * 255 + 0.5).astype(np.uint8)
    return np.concatenate([rgb, np.repeat(dep[..., None], 3, -1)], 1)


def render_camera_path(field, path: str = "orbit", frames: int | None = None, size=None, scale: float = 1.0,
                       depth: bool = False, chunk_size: int = 1 << 16, progress: bool = True) -> np.ndarray:
    """Every frame of a camera path (:func:`camera_path`) around a fitted radiance field, as
    ``inrkit render --camera-path`` writes them: ``uint8 (F, H, W, 3)``, or ``(F, H, 2W, 3)`` with
    ``depth`` (colour beside depth, :func:`frame_image`). Rendered ``chunk_size`` rays at a time,
    with a progress bar (``progress``).

    Examples:
        >>> clip = inrkit.render_camera_path("runs/lego", "orbit", frames=60, size=(200, 200))  # doctest: +SKIP
        >>> clip.shape                                                                       # doctest: +SKIP
        (60, 200, 200, 3)
    """
    from ..progress import track

    field, _ = _radiance(field)
    c2w, k, w, h = camera_path(field, path, frames, size, scale)
    grid = occupancy_grid(field)
    out = np.empty((c2w.shape[0], h, 2 * w if depth else w, 3), np.uint8)
    span = None  # one depth scale for the whole clip (from the first frame, widened), so grey levels do not flicker
    for i in track(range(c2w.shape[0]), "rendering", enabled=progress):
        view = render_view(field, c2w[i], k[i], w, h, chunk_size, grid)
        if depth and span is None:
            near, far = depth_range([view])
            span = (near - 0.25 * (far - near), far + 0.25 * (far - near))
        out[i] = frame_image(view, depth, span)
    return out


def lpips_status() -> str | None:
    """None when LPIPS can run offline (the lpips package and its AlexNet weights are installed), else why not."""
    try:
        import lpips  # noqa: F401
    except ImportError:
        return "the lpips package is not installed"
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    if not any(hub.glob("alexnet-*.pth")):
        return f"the AlexNet weights LPIPS needs are not in {hub} (no downloads are made)"
    return None


def evaluate_views(field, split: str = "test", data: str | None = None, downscale: int | None = None,
                   chunk_size: int = 8192, out_dir: str | Path | None = None, progress: bool = True) -> dict:
    """Score a fitted radiance field on a split of its scene, as ``inrkit eval`` does.

    ``field``: from :func:`inrkit.load`, or its checkpoint folder. ``split``: test, val (Blender scenes
    with a ``transforms_val.json``) or train. ``data``: the scene (default: the one it was fitted to);
    ``downscale`` default the fit's. With ``out_dir``, each view's ``NNN_{rgb,depth,gt}.png`` is
    written there (:func:`save_view`). Views are rendered one at a time (memory: one view).

    Returns the content of ``eval_SPLIT.json``: ``split``, ``source``, ``views``, mean ``psnr`` and
    ``ssim``, ``lpips`` (None: not computed) with ``lpips_unavailable`` saying why, and ``per_view``
    (``view`` name, ``psnr``, ``ssim``).

    Examples:
        >>> inrkit.evaluate_views("runs/lego", "test")["psnr"]     # doctest: +SKIP
        33.3
    """
    from .. import metrics as _metrics
    from ..progress import track

    field, meta = _radiance(field)
    if split not in ("test", "val", "train"):
        raise InrkitError(f"unknown split {split!r}; expected test, val or train")
    if not chunk_size >= 1:
        raise InrkitError(f"chunk size must be positive, got {chunk_size}")
    if downscale is not None and not (isinstance(downscale, int) and downscale >= 1):
        raise InrkitError(f"downscale must be a positive integer, got {downscale}")
    source = data or meta["signal"]["source"]
    if data is None and not source.startswith(("sample:", "builtin:")) and not Path(source).exists():
        raise InrkitError(f"the scene this field was fitted to, {source!r}, is not there any more; "
                          "give its folder with --data")
    signal = signal_from_meta(meta, source, split, downscale)
    signal.render.chunk_size = int(chunk_size)
    folder = None if out_dir is None else output_folder(out_dir)
    pred = signal.predict(field, grid=occupancy_grid(field))
    rows = []
    for i in track(range(len(signal.test)), f"rendering {split}", enabled=progress):
        with torch.no_grad():
            v = pred.view(i)
        gt = signal.ground_truth(signal.test, i)
        rgb = np.clip(v["rgb"], 0, 1)
        rows.append({"view": signal.test.names[i] if signal.test.names else i,
                     "psnr": _metrics.psnr(rgb, gt), "ssim": _metrics.ssim(rgb, gt)})
        if folder is not None:
            save_view(folder, f"{i:03d}", v, gt)
        pred._views.pop(i)  # one view in memory at a time
    note = lpips_status()
    return {
        "split": split,
        "source": source,
        "views": len(rows),
        "psnr": float(np.mean([r["psnr"] for r in rows])),
        "ssim": float(np.mean([r["ssim"] for r in rows])),
        "lpips": None,
        "lpips_unavailable": note,
        "per_view": rows,
    }


