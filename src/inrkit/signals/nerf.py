"""Scenes seen through volume rendering: posed photos -> a radiance field.

The signal holds the training and held-out views of a :class:`NerfDataset`,
maps world space into the field's ``[-1, 1]³`` (the scene box), draws ray
batches, and renders them with the pure functions of :mod:`inrkit.nerf`:
either an occupancy grid with fixed steps and early ray termination
(``sampler="occupancy"``, Instant-NGP) or stratified coarse samples refined by
importance sampling (``sampler="hierarchical"``, the original NeRF). It
implements the fit loop's forward-model protocol: ``loss`` renders a random
ray batch and returns the MSE against the observed pixels.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import losses, metrics
from ..errors import InrkitError
from ..io import output_folder
from ..nerf.cameras import image_rays, ndc_rays, pixel_rays
from ..nerf.datasets import NerfDataset
from ..nerf.occupancy import OccupancyGrid
from ..nerf.rendering import composite, render_chunked, render_weights
from ..nerf.sampling import importance_samples, intervals_from_points, ray_aabb, stratified_samples
from .base import Signal

__all__ = ["NerfRenderConfig", "NerfSignal", "parse_background", "grid_for_field", "depth_image", "depth_range",
           "save_view"]

SQRT3 = math.sqrt(3.0)


@dataclass
class NerfRenderConfig:
    """How rays are sampled and rendered."""

    sampler: str = "occupancy"
    """occupancy (fixed steps in occupied cells, early ray termination) or hierarchical (coarse + fine)."""
    render_steps: int = 384
    """occupancy: marching steps across the scene box's diagonal (the step size is 2√3 / this in box units)."""
    grid_resolution: int = 64
    """occupancy: cells per side of the occupancy grid."""
    grid_update_every: int = 16
    """occupancy: refresh the grid from the field's density every this many training steps."""
    early_stop_eps: float = 1e-4
    """occupancy: stop a ray once its transmittance falls below this."""
    alpha_threshold: float = 0.0
    """occupancy: skip samples whose alpha is below this (0 keeps every sample in occupied cells)."""
    coarse_samples: int = 64
    """hierarchical: stratified samples per ray."""
    fine_samples: int = 128
    """hierarchical: extra samples per ray drawn from the coarse weights."""
    random_background: bool = True
    """Training on RGBA images: composite each ray onto a random colour (so transparency is learnt)."""
    chunk_size: int = 8192
    """Rays rendered at once when rendering whole images (bounds memory)."""
    max_points: int = 1 << 18
    """Without gradients (rendering), the field is queried at most this many samples at a time."""

    def check(self) -> None:
        if self.sampler not in ("occupancy", "hierarchical"):
            raise InrkitError(f"unknown sampler {self.sampler!r}; expected occupancy or hierarchical")
        if min(self.render_steps, self.grid_resolution, self.grid_update_every, self.coarse_samples,
               self.chunk_size) < 1 or self.fine_samples < 0:
            raise InrkitError("render steps, grid resolution and sample counts must be positive")

    @property
    def step_size(self) -> float:
        return 2 * SQRT3 / self.render_steps


def parse_background(text: str) -> tuple[float, float, float]:
    """``white``, ``black`` or ``R,G,B`` in [0, 1] -> a colour."""
    named = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}
    if text in named:
        return named[text]
    try:
        rgb = tuple(float(v) for v in text.split(","))
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0 <= v <= 1 for v in rgb):
        raise InrkitError(f"background {text!r} is malformed; expected white, black or R,G,B in [0, 1]")
    return rgb


OCCUPANCY = "occupancy.safetensors"


def grid_for_field(field, render: NerfRenderConfig, device, seed: int = 0, passes: int = 4,
                   checkpoint: Path | None = None) -> OccupancyGrid:
    """An occupancy grid for a fitted field. From a ``checkpoint`` that saved one
    (``occupancy.safetensors``), the grid training ended with, so that eval and render see what
    the fit's own evaluation saw. Otherwise the maximum density of ``passes`` random points per
    cell, limited to the cells the training views left (``carved``, when saved: the field was
    never trained outside them, so its density there is meaningless)."""
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


class NerfSignal(Signal):
    """Posed training views and held-out views of one scene.

    ``train``, ``test``: :class:`NerfDataset`; ``background``: the colour the
    RGBA views are composited onto for evaluation (white for Blender scenes).
    """

    kind = "nerf"
    in_dim, out_dim = 3, 4
    metric = "psnr"
    batch_unit = "rays"  # the fit loop reports rays/s (progress bar, metrics.json)
    default_batch_size = 4096  # rays per step when FitConfig.batch_size is 0 (automatic)
    output_name = "test_views"

    def __init__(self, train: NerfDataset, test: NerfDataset, render: NerfRenderConfig = NerfRenderConfig(),
                 background=(1.0, 1.0, 1.0), eval_views: int = 1):
        render.check()
        if len(test) == 0 or len(train) == 0:
            raise InrkitError("a scene needs at least one training and one held-out view")
        self.train, self.test, self.render = train, test, render
        self.background = tuple(float(v) for v in background)
        self._resolution = max(train.height, train.width)
        self.eval_views = eval_views
        self.downscale = 1  # recorded in the metadata so `inrkit eval` reloads views at the same size
        self.grid: OccupancyGrid | None = None
        self._device_data = None

    # ------------------------------------------------------------ geometry

    def to_box(self, origins: torch.Tensor, directions: torch.Tensor):
        """World rays ``(R, 3)`` -> rays in the field's box coordinates (unit directions), and the
        factor from box distances back to world (or NDC) distances."""
        ds = self.train
        if ds.ndc is not None:
            n = ds.ndc
            o, d = ndc_rays(origins, directions, n["fx"], n["fy"], n["width"], n["height"], n["near"])
            return o, torch.nn.functional.normalize(d, dim=-1), 1.0
        centre = torch.as_tensor(ds.center, dtype=origins.dtype, device=origins.device)
        return (origins - centre) / ds.half_size, directions, ds.half_size

    def render_rays(self, field, origins, directions, background, generator=None, perturb=False, grid=None):
        """Render world rays ``origins, directions: (R, 3)`` with ``field``; ``background: (3,)`` or ``(R, 3)``.

        Returns ``rgb (R, 3)``, ``depth (R,)`` (world units; NDC for forward-facing
        scenes), ``opacity (R,)`` and, for the hierarchical sampler, ``rgb_coarse``;
        ``samples`` counts the field queries.
        """
        cfg = self.render
        o, d, scale = self.to_box(origins, directions)
        viewdir = directions
        n = o.shape[0]
        if cfg.sampler == "occupancy":
            grid = grid if grid is not None else self.grid
            if grid is None:
                grid = self.grid = OccupancyGrid(cfg.grid_resolution, o.device)

            def sigma_fn(x, _d):  # densities to drop invisible samples, max_points at a time
                return torch.cat([field.density(c) for c in x.split(cfg.max_points)])

            prune = cfg.early_stop_eps > 0 or cfg.alpha_threshold > 0
            ri, t0, t1 = grid.march(o, d, cfg.step_size, generator, perturb, sigma_fn if prune else None,
                                    cfg.early_stop_eps, cfg.alpha_threshold)
            tm = 0.5 * (t0 + t1)
            x = o[ri] + tm[:, None] * d[ri]  # (N, 3)
            rgb, sigma = self._query(field, x, viewdir[ri])
            w, _, _ = render_weights(t0, t1, sigma, ri)
            out = composite(w, rgb, tm * scale, background, ri, n)
            out["samples"] = torch.tensor(float(ri.numel()))
            return out
        near, far = ray_aabb(o, d)
        far = torch.maximum(far, near)
        t = stratified_samples(near, far, cfg.coarse_samples, generator, perturb)  # (R, S)
        coarse = field.coarse if cfg.fine_samples and getattr(field, "coarse", None) is not None else field
        out, w = self._dense_pass(coarse, o, d, viewdir, t, near, far, background, scale)
        result = out
        if cfg.fine_samples:
            bins = torch.cat([near[:, None], 0.5 * (t[:, 1:] + t[:, :-1]), far[:, None]], -1)  # (R, S + 1)
            tf = importance_samples(bins, w, cfg.fine_samples, generator, perturb)
            t_all, _ = torch.sort(torch.cat([t, tf], -1), -1)
            result, _ = self._dense_pass(field, o, d, viewdir, t_all, near, far, background, scale)
            result["rgb_coarse"] = out["rgb"]
        result["samples"] = torch.tensor(float(n * (cfg.coarse_samples + cfg.fine_samples)))
        return result

    def _query(self, field, x: torch.Tensor, d: torch.Tensor):
        """``field(x, d)`` for ``x, d: (N, 3)``; without gradients, ``max_points`` samples at a time."""
        if torch.is_grad_enabled() or x.shape[0] <= self.render.max_points:
            return field(x, d)
        parts = [field(a, b) for a, b in zip(x.split(self.render.max_points), d.split(self.render.max_points))]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def _dense_pass(self, field, o, d, viewdir, t, near, far, background, scale):
        t0, t1 = intervals_from_points(t, near, far)  # (R, S)
        x = o[:, None] + t[..., None] * d[:, None]  # (R, S, 3)
        rgb, sigma = self._query(field, x.reshape(-1, 3), viewdir[:, None].expand_as(x).reshape(-1, 3))
        rgb, sigma = rgb.reshape(*x.shape[:2], 3), sigma.reshape(x.shape[:2])  # (R, S, 3), (R, S)
        w, _, _ = render_weights(t0, t1, sigma)
        return composite(w, rgb, t * scale, background), w

    # ------------------------------------------------------------ training

    def _data(self, device):
        if self._device_data is None or self._device_data[0] != device:
            ds = self.train
            self._device_data = (
                device,
                ds.images.to(device),
                ds.c2w.to(device),
                ds.intrinsics.to(device),
                None if ds.distortion is None else ds.distortion.to(device),
            )
        return self._device_data[1:]

    def loss(self, field, step: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """MSE of ``batch_size`` random training rays rendered through ``field`` (plus the coarse
        pass's MSE for the hierarchical sampler). Refreshes the occupancy grid every
        ``grid_update_every`` steps."""
        device = next(field.parameters()).device
        images, c2w, intr, dist = self._data(device)
        cfg = self.render
        if cfg.sampler == "occupancy":
            if self.grid is None or self.grid.density.device != device:
                self.grid = OccupancyGrid(cfg.grid_resolution, device)
                if images.shape[-1] == 4 and self.train.ndc is None:  # RGBA: start from the visual hull
                    self.grid.carve(c2w, intr, images[..., 3] > 0, self.train.center, self.train.half_size)
            if step % cfg.grid_update_every == 0:
                self.grid.update(field.density, cfg.step_size, generator)
        n, h, w = images.shape[:3]
        img = torch.randint(n, (batch_size,), device=device, generator=generator)
        px = torch.randint(w, (batch_size,), device=device, generator=generator)
        py = torch.randint(h, (batch_size,), device=device, generator=generator)
        o, d = pixel_rays(c2w[img], intr[img], px.float() + 0.5, py.float() + 0.5,
                          None if dist is None else dist[img])
        pix = images[img, py, px].float() / 255  # (B, C)
        if pix.shape[-1] == 4:
            if cfg.random_background:
                bg = torch.rand(batch_size, 3, device=device, generator=generator)
            else:
                bg = torch.tensor(self.background, device=device).expand(batch_size, 3)
            target = pix[:, :3] * pix[:, 3:] + bg * (1 - pix[:, 3:])
        else:
            bg, target = torch.tensor(self.background, device=device), pix
        out = self.render_rays(field, o, d, bg, generator, perturb=True)
        loss = losses.mse(out["rgb"], target)
        if "rgb_coarse" in out:
            loss = loss + losses.mse(out["rgb_coarse"], target)
        return loss

    # ------------------------------------------------------------ evaluation

    def render_view(self, field, c2w: torch.Tensor, intrinsics: torch.Tensor, width: int, height: int,
                    distortion=None, grid=None) -> dict[str, np.ndarray]:
        """Render one camera: ``rgb (H, W, 3)``, ``depth (H, W)``, ``opacity (H, W)`` numpy arrays.
        Memory is bounded by ``render.chunk_size`` rays at a time."""
        device = next(field.parameters()).device
        o, d = image_rays(c2w.to(device), intrinsics.to(device), width, height,
                          None if distortion is None else distortion.to(device))
        bg = torch.tensor(self.background, device=device)
        if self.render.sampler == "occupancy" and grid is None and self.grid is None:
            self.grid = grid_for_field(field, self.render, device)
        out = render_chunked(lambda oo, dd: {k: v for k, v in self.render_rays(field, oo, dd, bg, grid=grid).items()
                                             if k != "samples"}, o, d, self.render.chunk_size)
        return {k: v.numpy() for k, v in out.items()}

    def ground_truth(self, ds: NerfDataset, i: int) -> np.ndarray:
        """View ``i`` of ``ds`` as ``(H, W, 3)`` floats, composited onto the background."""
        im = ds.images[i].float().numpy() / 255
        if im.shape[-1] == 4:
            im = im[..., :3] * im[..., 3:] + np.asarray(self.background, np.float32) * (1 - im[..., 3:])
        return im

    @property
    def resolution(self) -> int:
        """Pixels across the training views' larger side."""
        return self._resolution

    def predict(self, field, device=None):
        return _Prediction(self, field)

    def evaluate(self, pred: "_Prediction", full: bool = True) -> dict:
        """PSNR and SSIM on held-out views: all of them (``full``), else the first ``eval_views``."""
        n = len(self.test) if full else min(self.eval_views, len(self.test))
        psnrs, ssims = [], []
        from ..progress import track

        for i in track(range(n), "rendering the test views", enabled=full):
            v = pred.view(i)
            gt = self.ground_truth(self.test, i)
            psnrs.append(metrics.psnr(np.clip(v["rgb"], 0, 1), gt))
            ssims.append(metrics.ssim(np.clip(v["rgb"], 0, 1), gt) if full else float("nan"))
        out = {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims))}
        if full:
            out.update(views=len(psnrs), psnr_per_view=[round(p, 4) for p in psnrs],
                       ssim_per_view=[round(s, 5) for s in ssims])
        return out

    def save(self, path: Path, pred: "_Prediction") -> None:
        """Write every held-out view's rendering, depth (one colour scale for all views, with a
        colour bar) and ground truth into the folder ``path``."""
        path = output_folder(path)
        if self.grid is not None:  # the cells training could reach, for eval, render and meshing
            from safetensors.torch import save_file

            from ..io import atomic_path

            with atomic_path(path.parent / OCCUPANCY) as tmp:
                save_file({"carved": self.grid.carved.to(torch.uint8).cpu().contiguous(),
                           "mask": self.grid.mask.to(torch.uint8).cpu().contiguous()}, str(tmp))
        from ..plots import have_matplotlib

        # one depth range for every view, so that a colour means the same depth in each
        near_far = depth_range([pred.view(i) for i in range(len(self.test))])
        unit = "NDC" if self.train.ndc is not None else "world units"
        figure = have_matplotlib("depth colour bars", "depth colour bars skipped (grey depth written): "
                                                      "pip install matplotlib")
        for i in range(len(self.test)):
            save_view(path, f"{i:03d}", pred.view(i), self.ground_truth(self.test, i), near_far, unit, figure)

    def metadata(self) -> dict:
        ds, t = self.train, self.test
        c, h = ds.center, ds.half_size
        return {
            "kind": "nerf",
            "source": ds.source,
            "downscale": self.downscale,
            "shape": [len(ds), ds.height, ds.width],
            "center": list(c),
            "half_size": h,
            "bounds": [[v - h for v in c], [v + h for v in c]],
            "ndc": ds.ndc,
            "background": list(self.background),
            "render": dataclasses.asdict(self.render),
            "cameras": {
                "width": ds.width,
                "height": ds.height,
                "train_c2w": ds.c2w.tolist(),
                "train_intrinsics": ds.intrinsics.tolist(),
                "test_c2w": t.c2w.tolist(),
                "test_intrinsics": t.intrinsics.tolist(),
                "test_names": t.names,
            },
        }


class _Prediction:
    """Held-out views rendered on demand (each once)."""

    def __init__(self, signal: NerfSignal, field):
        self.signal, self.field, self._views = signal, field, {}

    def view(self, i: int) -> dict[str, np.ndarray]:
        if i not in self._views:
            s, t = self.signal, self.signal.test
            self._views[i] = s.render_view(self.field, t.c2w[i], t.intrinsics[i], t.width, t.height,
                                           None if t.distortion is None else t.distortion[i])
        return self._views[i]


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
    from .image import save_image

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
    cells the training views carved away (``occupancy.safetensors`` beside the checkpoint): the field
    was never trained there, so its density is meaningless. ``meta`` is the checkpoint's ``signal``
    metadata, whose ``bounds`` map the field's ``[-1, 1]³`` to the scene.
    """
    from ..meshing import extract_mesh

    carved = None
    if checkpoint is not None and (Path(checkpoint) / OCCUPANCY).exists():
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
                     downscale: int | None = None) -> NerfSignal:
    """A :class:`NerfSignal` for a checkpoint's ``meta`` (its ``field.json``): cameras, scene box,
    background and render settings from the metadata; the held-out views loaded from ``data`` (a
    scene folder or ``sample:NAME``, its ``split``, at ``downscale``, default the fit's) when given,
    else blank images of the right size (enough to render, not to score)."""
    from ..nerf.datasets import load_scene

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
    """``field`` (a fitted radiance field or its checkpoint folder) and its metadata."""
    from ..outputs import as_field, field_meta

    field = as_field(field)
    return field, field_meta(field, ("nerf",))


def occupancy_grid(field) -> OccupancyGrid | None:
    """The occupancy grid to render a fitted radiance field with (None for the hierarchical sampler).

    The grid training ended with, read from ``occupancy.safetensors`` beside the checkpoint the field
    was loaded from (:func:`inrkit.load` records the folder as ``field.checkpoint_dir``), so renders
    match the fit's own evaluation; for a field without one, rebuilt from its density
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
    return grid_for_field(field, render, device, checkpoint=getattr(field, "checkpoint_dir", None))


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
        grid: the occupancy grid (default :func:`occupancy_grid`: the checkpoint's); pass it to render
            many views without reading it each time.
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
    from ..nerf.cameras import orbit_path, read_camera_path, spiral_path
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
    signal.grid = occupancy_grid(field)
    folder = None if out_dir is None else output_folder(out_dir)
    pred = signal.predict(field)
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


__all__ += ["camera_path", "evaluate_views", "frame_image", "lpips_status", "occupancy_grid", "render_camera_path",
            "render_config", "render_view", "signal_from_meta"]
