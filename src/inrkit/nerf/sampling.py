"""Where to sample along rays: box intersection, stratified and importance sampling.

Samples are intervals ``[t_start, t_end)`` along each ray; a field is queried at
the interval's midpoint. Dense layouts are ``(R, S)`` (R rays, S samples each);
packed layouts (see :mod:`inrkit.nerf.occupancy`) are ``(N,)`` with a
``ray_indices (N,)`` tensor, sorted by ray and then by distance.
"""
from __future__ import annotations

import torch

__all__ = ["ray_aabb", "stratified_samples", "importance_samples", "intervals_from_points"]


def ray_aabb(origins: torch.Tensor, directions: torch.Tensor, lo: float = -1.0, hi: float = 1.0):
    """Entry and exit distances of rays ``o + t d`` through the box ``[lo, hi]^3`` (the slab method).

    ``origins, directions: (R, 3)`` (either may be ``(3,)``, shared by every ray) ->
    ``near, far: (R,)``; ``near`` is clamped at 0 (the camera may sit inside the box)
    and ``far <= near`` for a ray that misses. Distances are in units of ``|d|``.

    Examples:
        >>> near, far = ray_aabb(torch.tensor([[0.0, 0, -3], [0, 3, -3]]), torch.tensor([0.0, 0, 1]))
        >>> near[0].item(), far[0].item()  # enters at z = -1, leaves at z = 1
        (2.0, 4.0)
        >>> (far > near).tolist()  # the second ray passes above the box
        [True, False]
    """
    inv = 1.0 / torch.where(directions.abs() < 1e-9, torch.full_like(directions, 1e-9), directions)
    t0, t1 = (lo - origins) * inv, (hi - origins) * inv  # (R, 3)
    near = torch.minimum(t0, t1).amax(-1).clamp(min=0.0)
    far = torch.maximum(t0, t1).amin(-1)
    return near, far


def intervals_from_points(t: torch.Tensor, near: torch.Tensor, far: torch.Tensor):
    """Intervals around sorted sample distances ``t: (R, S)``: boundaries halfway between
    neighbours, the first starting at ``near (R,)`` and the last ending at ``far (R,)``.
    Returns ``t_starts, t_ends: (R, S)``."""
    mid = 0.5 * (t[:, 1:] + t[:, :-1])  # (R, S - 1)
    return torch.cat([near[:, None], mid], -1), torch.cat([mid, far[:, None]], -1)


def stratified_samples(
    near: torch.Tensor, far: torch.Tensor, n_samples: int, generator: torch.Generator | None = None, perturb: bool = True
) -> torch.Tensor:
    """One distance in each of ``n_samples`` equal bins of ``[near, far]``: ``(R, n_samples)``.

    Uniformly random within its bin when ``perturb`` (training), else the bin's
    centre. ``near, far: (R,)``.
    """
    edges = torch.linspace(0, 1, n_samples + 1, device=near.device, dtype=near.dtype)  # (S + 1,)
    if perturb:
        u = torch.rand(near.shape[0], n_samples, device=near.device, dtype=near.dtype, generator=generator)
    else:
        u = torch.full((near.shape[0], n_samples), 0.5, device=near.device, dtype=near.dtype)
    s = edges[:-1] + u * (edges[1:] - edges[:-1])  # (R, S) in [0, 1]
    return near[:, None] + s * (far - near)[:, None]


def importance_samples(
    bins: torch.Tensor,
    weights: torch.Tensor,
    n_samples: int,
    generator: torch.Generator | None = None,
    perturb: bool = True,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Inverse-transform samples from the piecewise-constant density ``weights`` over ``bins``.

    ``bins: (R, S + 1)`` sorted edges, ``weights: (R, S)`` non-negative (e.g. a
    coarse pass's render weights). Returns sorted ``t: (R, n_samples)``, each
    bin receiving samples in proportion to its weight (``eps`` keeps empty rays
    uniform). Stratified ``u`` when ``perturb``, else evenly spaced. No gradient.
    """
    weights = weights.detach() + eps
    pdf = weights / weights.sum(-1, keepdim=True)  # (R, S)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), pdf.cumsum(-1)], -1).clamp(max=1.0)  # (R, S + 1)
    r = bins.shape[0]
    if perturb:
        u = (torch.arange(n_samples, device=bins.device, dtype=bins.dtype)
             + torch.rand(r, n_samples, device=bins.device, dtype=bins.dtype, generator=generator)) / n_samples
    else:
        u = ((torch.arange(n_samples, device=bins.device, dtype=bins.dtype) + 0.5) / n_samples).expand(r, n_samples)
    u = u.contiguous()
    idx = torch.searchsorted(cdf.contiguous(), u, right=True).clamp(1, cdf.shape[-1] - 1)  # (R, n)
    c0, c1 = cdf.gather(-1, idx - 1), cdf.gather(-1, idx)
    b0, b1 = bins.gather(-1, idx - 1), bins.gather(-1, idx)
    frac = ((u - c0) / (c1 - c0).clamp(min=1e-12)).clamp(0, 1)
    return (b0 + frac * (b1 - b0)).detach()
