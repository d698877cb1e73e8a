"""Volume rendering as pure functions (Max 1995; Mildenhall et al. 2020, eq. 3).

For samples with densities ``σ_i`` over intervals of length ``δ_i`` along a ray:
``α_i = 1 - exp(-σ_i δ_i)``, transmittance ``T_i = exp(-Σ_{j<i} σ_j δ_j)``, weight
``w_i = T_i α_i``; colour ``Σ w_i c_i``, depth ``Σ w_i t_i``, opacity ``Σ w_i``.

Every function takes either a dense layout (``(..., S)`` samples per ray) or a
packed one (``(N,)`` samples with ``ray_indices (N,)`` sorted by ray, as the
occupancy-grid marcher returns).
"""
from __future__ import annotations

from typing import Callable

import torch

__all__ = ["render_weights", "accumulate", "composite", "render_chunked"]


def render_weights(
    t_starts: torch.Tensor,
    t_ends: torch.Tensor,
    sigmas: torch.Tensor,
    ray_indices: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weights, transmittance and alpha of each sample: three tensors shaped like ``sigmas``.

    Dense: ``t_starts, t_ends, sigmas: (..., S)``. Packed: ``(N,)`` each plus
    ``ray_indices: (N,)`` (sorted). Transmittance is the light reaching the
    sample's start: ``T_1 = 1``.

    Examples:
        >>> t0, t1 = torch.tensor([[0.0, 0.5]]), torch.tensor([[0.5, 1.0]])
        >>> sigma = torch.full((1, 2), 4.0).log()   # σδ = ln 2: each interval lets half the light through
        >>> [x.tolist() for x in render_weights(t0, t1, sigma)]   # weights, transmittance, alpha
        [[[0.5, 0.25]], [[1.0, 0.5]], [[0.5, 0.5]]]
        >>> w, _, _ = render_weights(t0.flatten(), t1.flatten(), sigma.flatten(), torch.tensor([0, 1]))
        >>> w.tolist()   # packed: two rays of one sample each
        [0.5, 0.5]
    """
    tau = sigmas * (t_ends - t_starts)  # optical thickness, (..., S) or (N,)
    alpha = 1 - torch.exp(-tau)
    if ray_indices is None:
        excl = torch.cumsum(tau, -1) - tau  # Σ_{j<i}, (..., S)
    else:
        if tau.numel() == 0:
            return tau, tau, tau
        cs = torch.cumsum(tau.double(), 0)  # (N,), double: the running sum spans many rays
        excl_global = cs - tau.double()
        first = torch.ones_like(ray_indices, dtype=torch.bool)
        first[1:] = ray_indices[1:] != ray_indices[:-1]
        starts = torch.nonzero(first).flatten()  # index of each ray's first sample
        run = torch.cumsum(first.long(), 0) - 1  # which run each sample belongs to
        excl = (excl_global - excl_global[starts][run]).to(tau.dtype)
    trans = torch.exp(-excl)
    return trans * alpha, trans, alpha


def accumulate(
    weights: torch.Tensor,
    values: torch.Tensor | None = None,
    ray_indices: torch.Tensor | None = None,
    n_rays: int | None = None,
) -> torch.Tensor:
    """``Σ_i w_i v_i`` per ray. Dense: ``weights (..., S)``, ``values (..., S, C)`` -> ``(..., C)``
    (``values=None``: ``Σ w_i``, shape ``(..., 1)``). Packed: ``(N,)``, ``(N, C)`` -> ``(n_rays, C)``."""
    v = weights[..., None] if values is None else weights[..., None] * values
    if ray_indices is None:
        return v.sum(-2)
    out = torch.zeros(n_rays, v.shape[-1], dtype=v.dtype, device=v.device)
    return out.index_add(0, ray_indices, v)


def composite(
    weights: torch.Tensor,
    rgb: torch.Tensor,
    t_mid: torch.Tensor,
    background: torch.Tensor | float | None = None,
    ray_indices: torch.Tensor | None = None,
    n_rays: int | None = None,
) -> dict[str, torch.Tensor]:
    """Colour, depth and opacity per ray from per-sample weights.

    ``weights, t_mid: (R, S)`` or ``(N,)`` packed; ``rgb: (R, S, 3)`` or
    ``(N, 3)``. ``background`` (a colour ``(3,)``, ``(R, 3)`` or a scalar) fills
    the transparent remainder ``1 - opacity``. Returns ``rgb (R, 3)``,
    ``depth (R,)`` (expected distance, divided by the opacity so a half-opaque
    surface keeps its true depth; 0 where nothing is hit) and ``opacity (R,)``.
    """
    colour = accumulate(weights, rgb, ray_indices, n_rays)  # (R, 3)
    opacity = accumulate(weights, None, ray_indices, n_rays)[..., 0]  # (R,)
    depth = accumulate(weights, t_mid[..., None], ray_indices, n_rays)[..., 0]
    depth = depth / opacity.clamp(min=1e-6)
    if background is not None:
        colour = colour + (1 - opacity[..., None]) * torch.as_tensor(background, dtype=colour.dtype, device=colour.device)
    return {"rgb": colour, "depth": depth, "opacity": opacity}


def render_chunked(
    render_fn: Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]],
    origins: torch.Tensor,
    directions: torch.Tensor,
    chunk_size: int = 1 << 13,
) -> dict[str, torch.Tensor]:
    """Render rays of any leading shape ``(..., 3)`` by ``chunk_size`` rays at a time, without gradients.

    ``render_fn(origins (R, 3), directions (R, 3))`` returns a dict of ``(R, ...)``
    tensors; the result holds them reshaped to ``(..., ...)`` on the CPU. Each chunk's
    result is copied into an output allocated at the first chunk, so memory is the
    output plus one chunk's samples and activations. The rays stay where they are
    (``render_fn`` may move each chunk to its device).

    Examples:
        >>> o, d = torch.zeros(2, 3, 3), torch.ones(2, 3, 3)
        >>> out = render_chunked(lambda o, d: {"rgb": o + d, "depth": d.sum(-1)}, o, d, chunk_size=4)
        >>> out["rgb"].shape, out["depth"][1]
        (torch.Size([2, 3, 3]), tensor([3., 3., 3.]))
    """
    lead = origins.shape[:-1]
    o, d = origins.reshape(-1, 3), directions.reshape(-1, 3)  # (R, 3)
    r = o.shape[0]
    out: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for s in range(0, r, chunk_size):
            part = render_fn(o[s : s + chunk_size], d[s : s + chunk_size])
            for k, v in part.items():
                if k not in out:
                    out[k] = torch.empty((r, *v.shape[1:]), dtype=v.dtype)  # (R, ...) on the CPU
                out[k][s : s + v.shape[0]] = v.detach().cpu()
    return {k: v.reshape(*lead, *v.shape[1:]) for k, v in out.items()}
