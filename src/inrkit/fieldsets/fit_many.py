"""``inrkit fit-many``: one field per image of a dataset, fitted as one batched model.

The fields are fitted in batches of ``fields_per_batch``: their parameters stacked (``batched.py``),
one forward and backward pass for the whole batch per step, full batch over each image's pixels,
Adam with the preset's settings. Field ``i`` starts from seed ``seed + i`` and has its own Adam state,
so the result does not depend on how the fields are batched, or on how many processes share them.

Under ``torchrun`` (``WORLD_SIZE`` > 1) each process fits every ``world``-th image from its rank
(gloo on CPUs, NCCL on GPUs); rank 0 gathers the fields and writes the one fieldset, atomically, when
all are done. A process that dies takes the others down with it (torchrun) and no fieldset index is
written, so nothing incomplete looks complete.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import InrkitError
from .batched import batched_forward, stack_fields
from .datasets import Dataset
from .distributed import barrier, context as distributed_context, gather
from .fieldset import save_fieldset

__all__ = ["fit_many", "fieldset_config"]

BATCH_MEMORY = 1 << 30  # bytes of activations one batch of fields may take (about)


def fieldset_config(preset, dataset: Dataset, width: int | None = None, depth: int | None = None):
    """The preset's field config sized for ``dataset``'s images (as :func:`inrkit.make_field` sizes it),
    with the network's ``width`` and ``depth`` replaced where given."""
    from ..signals.image import ImageSignal
    from ..train import make_field

    cfg = make_field(preset.field, ImageSignal(dataset.images[0]), 0).config
    for name, value in (("width", width), ("depth", depth)):
        if value is not None:
            if not hasattr(cfg.network, name):
                raise InrkitError(f"the {cfg.network.kind} network of preset {preset.name!r} has no {name}")
            if value < 1:
                raise InrkitError(f"{name} must be positive, got {value}")
            setattr(cfg.network, name, value)
    return cfg


def _fields_per_batch(cfg, pixels: int, requested: int) -> int:
    if requested > 0:
        return requested
    width = getattr(cfg.network, "width", 256)
    depth = getattr(cfg.network, "depth", 4)
    per_field = pixels * width * (depth + 1) * 4 * 6  # activations kept for backward, about
    return max(1, min(1024, BATCH_MEMORY // per_field))


def fit_many(dataset: Dataset, preset: str = "siren", steps: int = 500, out: str | Path | None = None,
             width: int | None = None, depth: int | None = None, lr: float | None = None, seed: int = 0,
             device: str = "auto", fields_per_batch: int = 0, progress: bool = True) -> dict:
    """Fit one field per image of ``dataset`` with ``preset`` for ``steps`` full-batch steps; write the
    fieldset to ``out`` (rank 0 only, under torchrun) and return its index (``items``: name and PSNR).

    Examples:
        >>> from inrkit.fieldsets import load_dataset
        >>> index = fit_many(load_dataset("sample:shapes", limit=4), "siren", steps=100, width=32, depth=3,
        ...                  lr=1e-3, progress=False)
        >>> index["count"], index["mean_psnr"] > 25
        (4, True)
    """
    from ..grids import grid_coordinates
    from ..presets import check_preset_kind, get_preset
    from ..progress import Bar
    from ..train import check_seed, lr_factor, pick_device

    if steps < 1:
        raise InrkitError(f"steps must be at least 1, got {steps}")
    check_seed(seed)
    dev = pick_device(device)
    rank, world = distributed_context(dev)
    p = get_preset(preset, "image")
    check_preset_kind(p, "image")
    if lr is not None:
        if not lr > 0:
            raise InrkitError(f"learning rate must be positive, got {lr}")
        p.optim.lr = lr
    cfg = fieldset_config(p, dataset, width, depth)
    h, w, c = dataset.shape
    coords = grid_coordinates((h, w)).reshape(-1, 2).to(dev)  # (P, 2)
    mine = list(range(rank, len(dataset), world))
    per_batch = _fields_per_batch(cfg, h * w, fields_per_batch)
    batches = [mine[i:i + per_batch] for i in range(0, len(mine), per_batch)]
    bar = Bar(f"fitting {len(dataset)} fields" + (f" (rank {rank} of {world})" if world > 1 else ""),
              total=len(batches) * steps, enabled=progress and rank == 0)
    results, start = {}, time.perf_counter()
    try:
        for b, idx in enumerate(batches):
            target = torch.from_numpy(dataset.images[idx]).reshape(len(idx), h * w, c).to(dev)  # (B, P, C)
            template, params, buffers = stack_fields(cfg, 2, c, [seed + i for i in idx], dev)
            opt = torch.optim.Adam(params.values(), lr=p.optim.lr, betas=p.optim.betas, eps=p.optim.eps)
            for step in range(steps):
                for group in opt.param_groups:
                    group["lr"] = p.optim.lr * lr_factor(p.optim, step / steps)
                pred = batched_forward(template, params, buffers, coords)  # (B, P, C)
                loss = (pred - target).square().mean(dim=(1, 2)).sum()  # each field's own MSE: its own gradient
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                value = loss.item()  # one synchronisation per step
                if not math.isfinite(value):
                    raise InrkitError(f"the loss became {value} at step {step + 1}; try a lower --lr")
                bar.update(b * steps + step + 1, f"mean MSE {value / len(idx):.3g}")
            with torch.no_grad():
                pred = batched_forward(template, params, buffers, coords).clamp(0, 1)
                mse = (pred - target).square().mean(dim=(1, 2)).cpu()
            for j, i in enumerate(idx):
                results[i] = ({k: v[j].detach().cpu() for k, v in {**params, **buffers}.items()},
                              {"name": dataset.names[i], "psnr": float(-10 * torch.log10(mse[j].clamp_min(1e-12)))})
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    gathered = gather((results, seconds), world, "gathering the fitted fields")
    if rank != 0:
        barrier(world, "rank 0 wrote the fieldset", written=None)
        return {}
    results = {i: r for part, _ in gathered for i, r in part.items()}
    seconds = max(s for _, s in gathered)
    order = range(len(dataset))
    tensors = {k: torch.stack([results[i][0][k] for i in order]) for k in results[0][0]}
    items = [results[i][1] for i in order]
    psnrs = np.array([it["psnr"] for it in items])
    index = {"count": len(items), "items": items, "mean_psnr": float(psnrs.mean()), "min_psnr": float(psnrs.min()),
             "preset": p.name, "steps": steps, "seconds": round(seconds, 3), "processes": world,
             "device": dev.type, "signal": {"kind": "image", "shape": [h, w, c], "source": dataset.source}}
    if out is not None:
        info = {k: v for k, v in index.items() if k not in ("count", "items", "signal")}
        save_fieldset(out, cfg, tensors, index["signal"], items, **info)
    barrier(world, "the fieldset was written", written=True)
    index["tensors"], index["config"] = tensors, cfg
    return index
