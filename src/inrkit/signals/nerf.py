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

from .. import metrics
from ..errors import InrkitError, output_folder
from ..nerf.cameras import image_rays, ndc_rays, pixel_rays
from ..nerf.datasets import NerfDataset
from ..nerf.occupancy import OccupancyGrid
from ..nerf.rendering import composite, render_chunked, render_weights
from ..nerf.sampling import importance_samples, intervals_from_points, ray_aabb, stratified_samples

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


class NerfSignal:
    """Posed training views and held-out views of one scene.

    ``train``, ``test``: :class:`NerfDataset`; ``background``: the colour the
    RGBA views are composited onto for evaluation (white for Blender scenes).
    """

    kind = "nerf"
    in_dim, out_dim = 3, 4
    metric = "psnr"
    batch_unit = "rays"  # the fit loop reports rays/s (progress bar, metrics.json)
    output_name = "test_views"

    def __init__(self, train: NerfDataset, test: NerfDataset, render: NerfRenderConfig = NerfRenderConfig(),
                 background=(1.0, 1.0, 1.0), eval_views: int = 1):
        render.check()
        if len(test) == 0 or len(train) == 0:
            raise InrkitError("a scene needs at least one training and one held-out view")
        self.train, self.test, self.render = train, test, render
        self.background = tuple(float(v) for v in background)
        self.resolution = max(train.height, train.width)
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
            sigma_fn = None
            if cfg.early_stop_eps > 0 or cfg.alpha_threshold > 0:
                def sigma_fn(x, _d):
                    return torch.cat([field.density(c) for c in x.split(cfg.max_points)])
            ri, t0, t1 = grid.march(o, d, cfg.step_size, generator, perturb, sigma_fn, cfg.early_stop_eps,
                                    cfg.alpha_threshold)
            tm = 0.5 * (t0 + t1)
            x = o[ri] + tm[:, None] * d[ri]  # (N, 3)
            rgb, sigma = self._query(field, x, viewdir[ri])
            w, _, _ = render_weights(t0, t1, sigma, ri, n)
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
        loss = torch.nn.functional.mse_loss(out["rgb"], target)
        if "rgb_coarse" in out:
            loss = loss + torch.nn.functional.mse_loss(out["rgb_coarse"], target)
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

    def predict(self, field, device=None):
        return _Prediction(self, field)

    def evaluate(self, pred: "_Prediction", full: bool = True) -> dict:
        """PSNR and SSIM on held-out views: all of them (``full``), else the first ``eval_views``."""
        n = len(self.test) if full else min(self.eval_views, len(self.test))
        psnrs, ssims = [], []
        for i in range(n):
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

            from ..errors import atomic_path

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
