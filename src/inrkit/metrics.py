"""Signal metrics on arrays with values in ``[0, data_range]``."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["mse", "psnr", "ssim"]

SSIM_WINDOW = 11  # the Gaussian window (σ = 1.5) spans 11 pixels


def mse(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean squared error over all values, or over the entries where ``mask`` (broadcast) is true."""
    err = (np.asarray(pred, np.float64) - np.asarray(target, np.float64)) ** 2
    if mask is not None:
        mask = np.broadcast_to(mask, err.shape)
        err = err[mask]
    return float(err.mean())


def psnr(pred: np.ndarray, target: np.ndarray, data_range: float = 1.0, mask: np.ndarray | None = None) -> float:
    """``10 log10(range² / MSE)`` in dB (infinite for an exact match)."""
    m = mse(pred, target, mask)
    return float("inf") if m == 0 else 10 * math.log10(data_range**2 / m)


def ssim(pred: np.ndarray, target: np.ndarray, data_range: float = 1.0) -> float:
    """Structural similarity of ``(H, W)`` or ``(H, W, C)`` images (scikit-image, Gaussian window as Wang et al.).

    NaN for an image with a side shorter than the window (11 pixels): SSIM is not defined there."""
    from skimage.metrics import structural_similarity

    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    if pred.ndim == 3 and pred.shape[-1] == 1:
        pred, target = pred[..., 0], target[..., 0]
    if min(pred.shape[:2]) < SSIM_WINDOW:
        return float("nan")
    return float(
        structural_similarity(
            pred,
            target,
            data_range=data_range,
            channel_axis=-1 if pred.ndim == 3 else None,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )
