"""An occupancy grid for empty-space skipping, and the ray marcher that uses it.

The structure follows Instant-NGP (Müller et al. 2022, Sec. 4 and appendix E)
and nerfacc's ``OccGridEstimator``: a ``res³`` grid over the scene box
``[-1, 1]³`` keeps an exponential moving average of the density seen in each
cell; a cell is occupied while that density could make a marching step at
least ``threshold`` opaque. The marcher takes fixed steps along each ray,
keeps the steps whose midpoint falls in an occupied cell and, when given the
density, drops the steps behind which the ray is already opaque (early ray
termination). The grid is an ``nn.Module`` holding buffers only (a radiance field keeps one,
saved with its weights); the field is passed in as a callable.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from .rendering import render_weights
from .sampling import ray_aabb

__all__ = ["OccupancyGrid"]


class OccupancyGrid(nn.Module):
    """``resolution³`` cells over ``[-1, 1]³``: buffers ``density (res, res, res)`` (the EMA), ``mask``
    (occupied), ``carved`` (allowed by the training views' silhouettes) and ``updates`` (a count).

    Everything starts occupied, so the first steps see the whole box. ``resolution=0`` makes an empty
    grid (no buffers, nothing in the ``state_dict``) that :meth:`reset` allocates, or that loading a
    ``state_dict`` holding a grid sizes to the saved one: a :class:`~inrkit.fields.RadianceField` keeps
    one, saved with its weights, which the renderer fills while training.

    Examples:
        >>> grid = OccupancyGrid(4)
        >>> sorted(grid.state_dict()), grid.mask.shape, grid.resolution
        (['carved', 'density', 'mask', 'updates'], torch.Size([4, 4, 4]), 4)
        >>> empty = OccupancyGrid(0)
        >>> empty.resolution, len(empty.state_dict())
        (0, 0)
        >>> empty.load_state_dict(grid.state_dict()); empty.resolution
        <All keys matched successfully>
        4
    """

    def __init__(self, resolution: int = 64, device: torch.device | str = "cpu"):
        super().__init__()
        if resolution < 0:
            raise ValueError(f"occupancy grid resolution must be positive (0: empty), got {resolution}")
        # follows the module across devices, so that an empty grid allocates where its field lives
        self.register_buffer("_anchor", torch.zeros(0, device=device), persistent=False)
        for name in ("density", "mask", "carved", "updates"):
            self.register_buffer(name, None)
        if resolution:
            self.reset(resolution)

    @property
    def resolution(self) -> int:
        """Cells per side (0: empty)."""
        return 0 if self.density is None else self.density.shape[0]

    def reset(self, resolution: int) -> "OccupancyGrid":
        """Allocate a fresh ``resolution³`` grid, every cell occupied (0: empty it)."""
        dev, shape = self._anchor.device, (resolution,) * 3
        if resolution == 0:
            self.density = self.mask = self.carved = self.updates = None
            return self
        self.density = torch.full(shape, 1e3, device=dev)  # (X, Y, Z)
        self.mask = torch.ones(shape, dtype=torch.bool, device=dev)
        self.carved = torch.ones(shape, dtype=torch.bool, device=dev)  # allowed by the silhouettes
        self.updates = torch.zeros((), dtype=torch.long, device=dev)
        return self

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # The saved grid sets the size (an empty one included): a field is built before its grid is known.
        saved = state_dict.get(prefix + "density")
        resolution = 0 if saved is None else saved.shape[0]
        if resolution != self.resolution:
            self.reset(resolution)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def cell_centres(self) -> torch.Tensor:
        """``(res³, 3)`` cell centres in ``[-1, 1]³``, in flat-index order."""
        r, dev = self.resolution, self._anchor.device
        ijk = torch.stack(torch.meshgrid(*[torch.arange(r, device=dev)] * 3, indexing="ij"), -1).reshape(-1, 3)
        return (ijk + 0.5) / r * 2 - 1

    @torch.no_grad()
    def carve(self, c2w: torch.Tensor, intrinsics: torch.Tensor, masks: torch.Tensor, centre, half_size: float) -> float:
        """Empty the cells that some view sees as background (the visual hull; Laurentini 1994).

        ``c2w: (N, 4, 4)`` OpenGL cameras and ``intrinsics: (N, 4)`` in world
        units; ``masks: (N, H, W)`` true where a view sees the object (alpha > 0);
        the box maps ``[-1, 1]³`` to ``centre ± half_size``. A cell is kept when
        its centre projects outside a view or onto a foreground pixel after
        growing the foreground by the cell's projected size, so thin structures
        survive. Returns the fraction of cells kept.
        """
        dev = self.density.device
        centre = torch.as_tensor(centre, dtype=torch.float32, device=dev)
        x = self.cell_centres() * half_size + centre  # (M, 3) world
        keep = torch.ones(x.shape[0], dtype=torch.bool, device=dev)
        cell = 2 * half_size / self.resolution * math.sqrt(3)  # cell diagonal, world units
        h, w = masks.shape[1:]
        for i in range(c2w.shape[0]):
            rot, t = c2w[i, :3, :3].to(dev), c2w[i, :3, 3].to(dev)
            xc = (x - t) @ rot  # (M, 3) camera coordinates (R^T (x - t))
            depth = -xc[:, 2]
            fx, fy, cx, cy = intrinsics[i].tolist()
            front = depth > 1e-3
            u = fx * xc[:, 0] / depth.clamp(min=1e-3) + cx
            v = -fy * xc[:, 1] / depth.clamp(min=1e-3) + cy
            inside = front & (u >= 0) & (u < w) & (v >= 0) & (v < h)
            nearest = float(depth[front].min()) if front.any() else 1.0
            k = int(min(2 * math.ceil(0.5 * cell * fx / max(nearest, 1e-3)) + 1, 31))
            grown = torch.nn.functional.max_pool2d(masks[i][None, None].float().to(dev), k, 1, k // 2)[0, 0] > 0
            ui, vi = u.long().clamp(0, w - 1), v.long().clamp(0, h - 1)
            keep &= ~inside | grown[vi, ui]
        self.carved = keep.reshape(self.mask.shape)
        self.mask = self.mask & self.carved
        return float(keep.float().mean())

    def cell_index(self, x: torch.Tensor) -> torch.Tensor:
        """Flat cell index of points ``x: (..., 3)`` in ``[-1, 1]³``: ``(...,)`` (clamped to the grid)."""
        r = self.resolution
        ijk = ((x + 1) * (0.5 * r)).long().clamp(0, r - 1)  # (..., 3)
        return (ijk[..., 0] * r + ijk[..., 1]) * r + ijk[..., 2]

    def occupied(self, x: torch.Tensor) -> torch.Tensor:
        """Whether points ``x: (..., 3)`` lie in occupied cells (points outside the box: False; an empty
        grid counts every point in the box as occupied)."""
        inside = (x.abs() <= 1).all(-1)
        if self.mask is None:  # an empty grid skips nothing
            return inside
        return self.mask.reshape(-1)[self.cell_index(x)] & inside

    @torch.no_grad()
    def update(
        self,
        density_fn: Callable[[torch.Tensor], torch.Tensor],
        step_size: float,
        generator: torch.Generator | None = None,
        threshold: float = 0.01,
        decay: float = 0.95,
        chunk_size: int = 1 << 16,
    ) -> None:
        """Query ``density_fn(x (N, 3)) -> (N,)`` at one random point in every cell; update the EMA
        (``max(decay * old, new)``) and the mask: occupied where ``1 - exp(-σ step) > threshold``
        (or above the mean density, whichever is lower, so a faint scene never empties the grid)."""
        r, dev = self.resolution, self.density.device
        u = torch.rand(r**3, 3, device=dev, generator=generator) - 0.5
        x = self.cell_centres() + u * (2 / r)  # (r³, 3) one random point per cell
        new = torch.cat([density_fn(c).reshape(-1) for c in x.split(chunk_size)]).reshape(r, r, r)
        self.density = torch.maximum(self.density * decay, new) if int(self.updates) else new
        self.updates += 1
        limit = -math.log(1 - threshold) / step_size
        self.mask = (self.density > min(limit, float(self.density[self.carved].mean()))) & self.carved

    @torch.no_grad()
    def march(
        self,
        origins: torch.Tensor,
        directions: torch.Tensor,
        step_size: float,
        generator: torch.Generator | None = None,
        perturb: bool = True,
        sigma_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        early_stop_eps: float = 1e-4,
        alpha_threshold: float = 0.0,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Fixed-step samples in occupied cells along rays, packed.

        ``origins, directions: (R, 3)`` in the box's coordinates (unit
        directions); ``step_size`` in the same units. Steps start at the box
        entry, shifted by one random fraction per ray when ``perturb``. With
        ``sigma_fn(x (N, 3), d (N, 3)) -> (N,)`` the densities are computed
        (without gradient) to drop the samples whose transmittance is below
        ``early_stop_eps`` or whose alpha is below ``alpha_threshold``.
        Returns ``ray_indices (N,)``, ``t_starts (N,)``, ``t_ends (N,)`` sorted by ray, then distance.
        """
        dev = origins.device
        near, far = ray_aabb(origins, directions)  # (R,)
        hit = far > near
        n_max = int(math.ceil(float((far - near)[hit].max()) / step_size)) if hit.any() else 0
        if n_max == 0:
            e = torch.zeros(0, device=dev)
            return torch.zeros(0, dtype=torch.long, device=dev), e, e
        shift = torch.rand(origins.shape[0], 1, device=dev, generator=generator) if perturb else 0.5
        k = torch.arange(n_max, device=dev, dtype=origins.dtype)  # (S,)
        t0 = near[:, None] + (k + shift - 0.5).clamp(min=0) * step_size  # (R, S)
        t1 = (near[:, None] + (k + shift + 0.5) * step_size).minimum(far[:, None])
        valid = t1 > t0  # (R, S)
        mid = 0.5 * (t0 + t1)
        x = origins[:, None] + mid[..., None] * directions[:, None]  # (R, S, 3)
        keep = valid & self.occupied(x)
        ray_indices, s = torch.nonzero(keep, as_tuple=True)  # row-major: sorted by ray, then distance
        t_starts, t_ends = t0[ray_indices, s], t1[ray_indices, s]
        if sigma_fn is not None and ray_indices.numel():
            xs = origins[ray_indices] + (0.5 * (t_starts + t_ends))[:, None] * directions[ray_indices]
            sig = sigma_fn(xs, directions[ray_indices])
            _, trans, alpha = render_weights(t_starts, t_ends, sig, ray_indices)
            good = (trans > early_stop_eps) & (alpha >= alpha_threshold)
            ray_indices, t_starts, t_ends = ray_indices[good], t_starts[good], t_ends[good]
        return ray_indices, t_starts, t_ends
