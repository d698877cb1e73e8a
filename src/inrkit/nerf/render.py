"""One orchestrator from rays to pixels: :func:`render_rays`, and the settings it takes.

Pure functions over tensors: the radiance field is passed in (anything with
``field(x, d) -> (rgb, sigma)`` and ``field.density(x) -> sigma``), the
occupancy grid too; nothing here keeps state between calls. Two samplers:

- ``occupancy`` (Instant-NGP): fixed steps in the occupied cells of a grid,
  with early ray termination (:meth:`~inrkit.nerf.occupancy.OccupancyGrid.march`);
- ``hierarchical`` (the original NeRF): stratified coarse samples, refined by
  importance sampling from the coarse weights (through the field's ``coarse``
  twin when it has one).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import InrkitError
from .occupancy import OccupancyGrid
from .rendering import composite, render_weights
from .sampling import importance_samples, intervals_from_points, ray_aabb, stratified_samples

__all__ = ["NerfRenderConfig", "render_rays"]

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


def render_rays(
    field,
    origins: torch.Tensor,
    directions: torch.Tensor,
    config: NerfRenderConfig,
    grid: OccupancyGrid | None = None,
    background: torch.Tensor | float | None = None,
    *,
    viewdirs: torch.Tensor | None = None,
    depth_scale: float = 1.0,
    generator: torch.Generator | None = None,
    perturb: bool = False,
) -> dict[str, torch.Tensor]:
    """Render rays through a radiance field.

    Args:
        field: ``field(x (N, 3), d (N, 3)) -> (rgb (N, 3), sigma (N,))`` and ``field.density(x)``
            (a :class:`~inrkit.fields.RadianceField`); the hierarchical sampler's coarse pass queries
            ``field.coarse`` when it is set.
        origins, directions: ``(R, 3)`` rays in the field's box coordinates (the box is ``[-1, 1]³``),
            unit directions.
        config: the sampler and its settings (:class:`NerfRenderConfig`).
        grid: the occupancy grid to skip empty space with (occupancy sampler); None or an empty grid
            marches every step inside the box.
        background: a colour ``(3,)``, ``(R, 3)`` or a scalar filling the transparent remainder
            (None: nothing, black).
        viewdirs: ``(R, 3)`` the directions the field is queried with (default ``directions``; NDC
            scenes march in NDC and look along the world direction).
        depth_scale: factor from box distances to the reported depth's units (world units).
        generator, perturb: random step offsets and stratified jitter (training), else deterministic.

    Returns:
        ``rgb (R, 3)``, ``depth (R,)`` (expected distance times ``depth_scale``), ``opacity (R,)``,
        ``samples`` (a 0-d tensor: how many points the field was queried at) and, for the
        hierarchical sampler with fine samples, ``rgb_coarse (R, 3)``.

    Examples:
        >>> class Fog(torch.nn.Module):   # density 2 everywhere, grey
        ...     def forward(self, x, d):
        ...         return torch.full_like(x, 0.5), self.density(x)
        ...     def density(self, x):
        ...         return torch.full(x.shape[:-1], 2.0)
        >>> o, d = torch.tensor([[0.0, 0.0, -3.0]]), torch.tensor([[0.0, 0.0, 1.0]])
        >>> out = render_rays(Fog(), o, d, NerfRenderConfig(render_steps=346, early_stop_eps=0), background=1.0)
        >>> round(out["opacity"].item(), 3), round(out["rgb"][0, 0].item(), 3)   # 1 - exp(-2 * 2)
        (0.982, 0.509)
        >>> int(out["samples"])   # 2 / (2√3 / 346) steps through the box
        200
    """
    cfg = config
    o, d = origins, directions
    viewdir = directions if viewdirs is None else viewdirs
    n = o.shape[0]
    if cfg.sampler == "occupancy":
        grid = grid if grid is not None else OccupancyGrid(0, o.device)  # empty: every step in the box

        def sigma_fn(x, _d):  # densities to drop invisible samples, max_points at a time
            return torch.cat([field.density(c) for c in x.split(cfg.max_points)])

        prune = cfg.early_stop_eps > 0 or cfg.alpha_threshold > 0
        ri, t0, t1 = grid.march(o, d, cfg.step_size, generator, perturb, sigma_fn if prune else None,
                                cfg.early_stop_eps, cfg.alpha_threshold)
        tm = 0.5 * (t0 + t1)
        x = o[ri] + tm[:, None] * d[ri]  # (N, 3)
        rgb, sigma = _query(field, x, viewdir[ri], cfg.max_points)
        w, _, _ = render_weights(t0, t1, sigma, ri)
        out = composite(w, rgb, tm * depth_scale, background, ri, n)
        out["samples"] = torch.tensor(float(ri.numel()))
        return out
    near, far = ray_aabb(o, d)
    far = torch.maximum(far, near)
    t = stratified_samples(near, far, cfg.coarse_samples, generator, perturb)  # (R, S)
    coarse = field.coarse if cfg.fine_samples and getattr(field, "coarse", None) is not None else field
    out, w = _dense_pass(coarse, o, d, viewdir, t, near, far, background, depth_scale, cfg.max_points)
    result = out
    if cfg.fine_samples:
        bins = torch.cat([near[:, None], 0.5 * (t[:, 1:] + t[:, :-1]), far[:, None]], -1)  # (R, S + 1)
        tf = importance_samples(bins, w, cfg.fine_samples, generator, perturb)
        t_all, _ = torch.sort(torch.cat([t, tf], -1), -1)
        result, _ = _dense_pass(field, o, d, viewdir, t_all, near, far, background, depth_scale, cfg.max_points)
        result["rgb_coarse"] = out["rgb"]
    result["samples"] = torch.tensor(float(n * (cfg.coarse_samples + cfg.fine_samples)))
    return result


def _query(field, x: torch.Tensor, d: torch.Tensor, max_points: int):
    """``field(x, d)`` for ``x, d: (N, 3)``; without gradients, ``max_points`` samples at a time."""
    if torch.is_grad_enabled() or x.shape[0] <= max_points:
        return field(x, d)
    parts = [field(a, b) for a, b in zip(x.split(max_points), d.split(max_points))]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def _dense_pass(field, o, d, viewdir, t, near, far, background, scale, max_points):
    """Render ``R`` rays at the sorted distances ``t: (R, S)``: the composite and the weights ``(R, S)``."""
    t0, t1 = intervals_from_points(t, near, far)  # (R, S)
    x = o[:, None] + t[..., None] * d[:, None]  # (R, S, 3)
    rgb, sigma = _query(field, x.reshape(-1, 3), viewdir[:, None].expand_as(x).reshape(-1, 3), max_points)
    rgb, sigma = rgb.reshape(*x.shape[:2], 3), sigma.reshape(x.shape[:2])  # (R, S, 3), (R, S)
    w, _, _ = render_weights(t0, t1, sigma)
    return composite(w, rgb, t * scale, background), w
