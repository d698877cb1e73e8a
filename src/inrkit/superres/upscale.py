"""Upscaling an image through a learned prior, at any scale, in bounded memory.

The image becomes an :class:`~inrkit.superres.model.ImageField` (its features computed once) and is
sampled on the output grid through the chunked evaluator, like every other field's render: memory is
the input's feature map, the output and one chunk.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..errors import InrkitError
from .model import LIIF, ImageField

__all__ = ["DEFAULT_MODEL", "MAX_PIXELS", "default_model", "psnr_t", "upscale", "upscale_tensor", "target_size"]

DEFAULT_MODEL = Path(__file__).resolve().parent / "default"
"""The model shipped with inrkit (trained on scikit-image's public-domain and CC0 images; see its sr.json)."""

MAX_PIXELS = 1 << 28
"""The largest output (pixels) :func:`upscale` makes: 268 million (16384²), 0.8 GB as 8-bit RGB."""


def default_model(device="cpu") -> tuple[LIIF, dict]:
    """The shipped model (:data:`DEFAULT_MODEL`)."""
    from .train import load_sr

    return load_sr(DEFAULT_MODEL, device)


def target_size(shape, scale: float | None = None, size=None) -> tuple[int, int]:
    """The ``(W, H)`` of an upscaled ``shape = (H, W, ...)`` image: ``size`` (``(W, H)`` or ``"WxH"``), else
    ``scale`` times the input's size. Refuses a scale that is not a positive finite number and outputs
    over :data:`MAX_PIXELS`.

    Examples:
        >>> target_size((100, 60, 3), 3.5)
        (210, 350)
    """
    from ..signals.image import parse_size

    h, w = shape[:2]
    if size is not None:
        out = parse_size(size) if isinstance(size, str) else tuple(int(v) for v in size)
    else:
        if scale is None:
            raise InrkitError("give a --scale or a --size")
        if not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
            raise InrkitError(f"scale must be a positive finite number, got {scale}")
        out = max(1, round(w * scale)), max(1, round(h * scale))
    if out[0] * out[1] > MAX_PIXELS:
        raise InrkitError(f"an output of {out[0]}x{out[1]} pixels is more than the {MAX_PIXELS:,} that fit in "
                          "memory here; ask for a smaller --scale or --size")
    return out


def upscale(image, scale: float | None = None, size=None, model: LIIF | None = None, chunk_size: int = 1 << 16,
            device=None) -> np.ndarray:
    """``image`` (``(H, W, C)``, uint8 or float in [0, 1], C from 1 to 4) at ``size = (W, H)`` or ``scale``
    times its size through the prior ``model`` (default: the shipped one): ``uint8 (H', W', C)``.

    Examples:
        >>> from inrkit.superres import LIIF, SRConfig
        >>> model = LIIF(SRConfig(channels=4, blocks=1, hidden=8, layers=1))
        >>> upscale(np.zeros((5, 4, 3), np.uint8), 2.5, model=model).shape
        (12, 10, 3)
    """
    from ..signals.image import render_image

    field = image_field(image, model, device)
    w, h = target_size(field.image.shape[2:], scale, size)
    return render_image(field.for_size((w, h)), (w, h), field.channels, chunk_size=chunk_size,
                        device=field.image.device)


def image_field(image, model: LIIF | None = None, device=None) -> ImageField:
    """``image`` (``(H, W, C)`` uint8 or float in [0, 1]) as a field through ``model`` (default: shipped)."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 2, 3, 4):
        raise InrkitError(f"expected an image (H, W) or (H, W, C) with C from 1 to 4, got shape {a.shape}")
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255
    elif a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535
    a = a.astype(np.float32)
    if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
        raise InrkitError("the image has values outside [0, 1] or NaN; expected 8/16-bit or normalised floats")
    if min(a.shape[:2]) < 2:
        raise InrkitError(f"an image of {a.shape[1]}x{a.shape[0]} pixels is too small to upscale (at least 2x2)")
    device = torch.device(device or "cpu")
    if model is None:
        model, _ = default_model(device)
    return ImageField(model.to(device), torch.from_numpy(a).to(device))


def upscale_tensor(model: LIIF, low: torch.Tensor, size, chunk_size: int = 1 << 16) -> torch.Tensor:
    """``low (B, 3, h, w)`` in [0, 1] -> ``(B, 3, H, W)`` float for ``size = (W, H)``, through the chunked
    evaluator (values clipped to [0, 1], not quantised: what the benchmarks score)."""
    from ..grids import evaluate_grid

    w, h = size
    outs = []
    for img in low:
        field = ImageField(model, img.permute(1, 2, 0)).for_size((w, h))
        grid = evaluate_grid(field, (h, w), 3, chunk_size=chunk_size, device=img.device)  # (H, W, 3)
        outs.append(torch.from_numpy(grid).permute(2, 0, 1))
    return torch.stack(outs).to(low.device)


def psnr_t(pred: torch.Tensor, target: torch.Tensor) -> float:
    """PSNR (dB) of two tensors in [0, 1]."""
    mse = float(((pred.float() - target.float()) ** 2).mean())
    return 10 * math.log10(1 / max(mse, 1e-12))
