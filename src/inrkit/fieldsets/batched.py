"""Many fields of one architecture as one model: stacked parameters through ``torch.func``.

``stack_fields`` builds ``n`` fields of a config (each from its own seed, so field ``i`` is the same
whichever batch or process builds it) and stacks their parameters along a new first axis;
``batched_forward`` evaluates all of them with ``vmap(functional_call)``: one set of kernels for the
whole batch, not a Python loop over fields. Adam on stacked parameters is Adam on each field (it is
elementwise), and a loss summed over fields gives each field its own gradient, so a batched fit
computes what separate fits would.

Examples:
    >>> from inrkit.networks import SirenConfig
    >>> from inrkit.encodings import IdentityConfig
    >>> from inrkit.fields import FieldConfig
    >>> cfg = FieldConfig(IdentityConfig(), SirenConfig(width=8, depth=2))
    >>> template, params, buffers = stack_fields(cfg, 2, 3, seeds=[0, 1, 2])
    >>> batched_forward(template, params, buffers, torch.zeros(5, 2)).shape   # (fields, points, out)
    torch.Size([3, 5, 3])
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch.func import functional_call, stack_module_state, vmap

from ..errors import InrkitError

__all__ = ["batched_forward", "build_field", "stack_fields", "unstack"]


def build_field(cfg, in_dim: int, out_dim: int, seed: int) -> torch.nn.Module:
    """One field of ``cfg`` initialised from ``seed`` (the global RNG is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cfg.build(in_dim, out_dim)


def stack_fields(cfg, in_dim: int, out_dim: int, seeds: Sequence[int], device=None):
    """``(template, params, buffers)``: ``len(seeds)`` fields of ``cfg``, their parameters and buffers
    stacked into ``{name: (n, ...)}`` (on ``device``); ``template`` is a field of the architecture on the
    meta device, used only as the function :func:`batched_forward` calls."""
    if not seeds:
        raise InrkitError("no fields to build")
    fields = [build_field(cfg, in_dim, out_dim, s).to(device) for s in seeds]
    params, buffers = stack_module_state(fields)
    template = build_field(cfg, in_dim, out_dim, 0).to("meta")
    return template, params, buffers


def batched_forward(template, params: dict, buffers: dict, x: torch.Tensor, chunk_size: int | None = None):
    """Every field at ``x``: shared points ``(P, in_dim)`` or one set per field ``(n, P, in_dim)`` ->
    ``(n, P, out_dim)``. ``chunk_size`` bounds how many fields run at once (memory)."""
    def one(p, b, xi):
        return functional_call(template, (p, b), (xi,))

    in_x = 0 if x.dim() == 3 else None
    return vmap(one, in_dims=(0, 0, in_x), chunk_size=chunk_size)(params, buffers, x)


def unstack(params: dict, i: int) -> dict:
    """Field ``i``'s parameters from stacked ``{name: (n, ...)}``."""
    return {k: v[i] for k, v in params.items()}
