"""inrkit.metrics: MSE, PSNR and SSIM against closed forms and scikit-image."""
from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from inrkit.metrics import SSIM_WINDOW, mse, psnr, ssim


def _img(shape, seed=0):
    return np.random.default_rng(seed).random(shape)


# --------------------------------------------------------------------------- MSE / PSNR


def test_mse_closed_form():
    a = np.array([0.0, 0.5, 1.0, 0.25])
    b = np.array([0.5, 0.5, 0.0, 0.0])
    assert mse(a, b) == pytest.approx((0.25 + 0 + 1 + 0.0625) / 4)
    assert isinstance(mse(a, b), float)


@pytest.mark.parametrize("e", [0.5, 0.1, 0.01, 1e-4])
@pytest.mark.parametrize("shape", [(8,), (4, 6), (5, 7, 3)])
def test_psnr_of_a_constant_error(e, shape):
    target = _img(shape) * 0.5
    for pred in (target + e, target - e):
        assert psnr(pred, target) == pytest.approx(10 * math.log10(1 / e**2), rel=1e-9)
        assert psnr(pred, target) == pytest.approx(-20 * math.log10(e), rel=1e-9)


@pytest.mark.parametrize("data_range", [2.0, 255.0])
def test_psnr_data_range(data_range):
    e = 0.1 * data_range
    target = _img((6, 6)) * data_range * 0.5
    assert psnr(target + e, target, data_range=data_range) == pytest.approx(20.0)
    # Scaling both images and the range together changes nothing.
    a, b = _img((6, 6), 1), _img((6, 6), 2)
    assert psnr(a * data_range, b * data_range, data_range=data_range) == pytest.approx(psnr(a, b), rel=1e-12)


def test_psnr_of_identical_images_is_infinite():
    a = _img((5, 5, 3))
    assert psnr(a, a.copy()) == float("inf")
    assert psnr(a.astype(np.float32), a.astype(np.float32)) == float("inf")


def test_psnr_is_computed_in_float64():
    """uint8-like float32 values: the error is computed in double precision, not in the input dtype."""
    t = np.full((4, 4), 0.7, np.float32)
    p = t + np.float32(1e-4)
    exact = float(np.float64(p[0, 0]) - np.float64(t[0, 0]))
    assert psnr(p, t) == pytest.approx(-20 * math.log10(exact), rel=1e-9)


def test_psnr_symmetric():
    a, b = _img((7, 9), 3), _img((7, 9), 4)
    assert psnr(a, b) == psnr(b, a)


def test_mask_selects_the_scored_entries():
    target = np.zeros((4, 4))
    pred = target.copy()
    pred[:2] = 0.1  # error 0.1 on the top half only
    top = np.zeros((4, 4), bool)
    top[:2] = True
    assert psnr(pred, target, mask=top) == pytest.approx(20.0)
    assert psnr(pred, target, mask=~top) == float("inf")
    assert psnr(pred, target) == pytest.approx(10 * math.log10(1 / (0.01 / 2)))
    assert mse(pred, target, mask=top) == pytest.approx(0.01)
    # An all-true mask is no mask.
    assert psnr(pred, target, mask=np.ones((4, 4), bool)) == psnr(pred, target)


def test_mask_broadcasts_over_channels():
    target = _img((3, 4, 3))
    pred = target.copy()
    pred[0, 0] += 0.2  # one pixel, every channel
    pred[2, 3, 1] += 0.05
    mask = np.zeros((3, 4, 1), bool)
    mask[0, 0] = True
    assert mse(pred, target, mask=mask) == pytest.approx(0.04)
    assert psnr(pred, target, mask=mask) == pytest.approx(10 * math.log10(1 / 0.04))
    # The mask of a single pixel position counts its 3 channels: MSE over 3 values, not 1 or 36.
    mask[2, 3] = True
    assert mse(pred, target, mask=mask) == pytest.approx((3 * 0.04 + 0.0025) / 6)


# --------------------------------------------------------------------------- SSIM


def _skimage(a, b, data_range=1.0, channel_axis=None):
    return structural_similarity(a, b, data_range=data_range, channel_axis=channel_axis, gaussian_weights=True,
                                 sigma=1.5, use_sample_covariance=False)


def test_ssim_window_is_what_skimage_uses_for_sigma_1_5():
    # skimage's Gaussian window: 2 * int(truncate * sigma + 0.5) + 1, truncate 3.5.
    assert SSIM_WINDOW == 2 * int(3.5 * 1.5 + 0.5) + 1 == 11


@pytest.mark.parametrize("shape", [(32, 40), (24, 24, 3), (16, 20, 1)])
def test_ssim_of_identical_images_is_one(shape):
    a = _img(shape, 5)
    assert ssim(a, a.copy()) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("shape", [(32, 40), (24, 24, 3)])
def test_ssim_of_different_images_is_below_one_and_symmetric(shape):
    a = _img(shape, 6)
    b = np.clip(a + 0.2 * _img(shape, 7) - 0.1, 0, 1)
    s = ssim(a, b)
    assert -1 <= s < 1
    assert s > 0.3  # a mild perturbation: clearly similar
    assert ssim(b, a) == pytest.approx(s, abs=1e-12)
    # More noise, less similar.
    c = np.clip(a + 0.8 * _img(shape, 8) - 0.4, 0, 1)
    assert ssim(a, c) < s


def test_ssim_matches_skimage_grayscale():
    a, b = _img((40, 33), 9), _img((40, 33), 10)
    b = 0.5 * a + 0.5 * b
    ref = _skimage(a, b)
    assert ssim(a, b) == pytest.approx(ref, abs=1e-12)
    # And the settings matter: skimage's defaults (uniform 7x7 window) give another number.
    assert abs(structural_similarity(a, b, data_range=1.0) - ref) > 1e-4


def test_ssim_matches_skimage_rgb_and_data_range():
    a, b = _img((30, 26, 3), 11), _img((30, 26, 3), 12)
    b = 0.7 * a + 0.3 * b
    assert ssim(a, b) == pytest.approx(_skimage(a, b, channel_axis=-1), abs=1e-12)
    # Values in [0, 255] with data_range=255: the same index.
    assert ssim(a * 255, b * 255, data_range=255.0) == pytest.approx(ssim(a, b), abs=1e-9)
    # data_range is passed on (C1, C2 scale with it): the default range 1 on 0..255 values is another number.
    wrong = ssim(a * 255, b * 255)
    assert wrong == pytest.approx(_skimage(a * 255, b * 255, data_range=1.0, channel_axis=-1), abs=1e-12)
    assert abs(wrong - ssim(a, b)) > 1e-4


def test_ssim_single_channel_last_axis_equals_grayscale():
    a, b = _img((20, 25), 13), _img((20, 25), 14)
    assert ssim(a[..., None], b[..., None]) == pytest.approx(ssim(a, b), abs=1e-12)


def test_ssim_accepts_uint8_like_integer_arrays():
    a = (_img((16, 16), 15) * 255).astype(np.uint8)
    b = (_img((16, 16), 16) * 255).astype(np.uint8)
    expected = _skimage(a.astype(np.float64), b.astype(np.float64), data_range=255.0)
    assert ssim(a, b, data_range=255.0) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("shape", [(10, 40), (40, 10), (10, 10, 3), (5, 64, 3), (10, 12, 1), (1, 1)])
def test_ssim_is_nan_below_the_window(shape):
    a = _img(shape, 17)
    assert math.isnan(ssim(a, a))
    assert math.isnan(ssim(a, 1 - a))


@pytest.mark.parametrize("shape", [(11, 11), (11, 30, 3), (30, 11)])
def test_ssim_is_defined_from_the_window_size(shape):
    a, b = _img(shape, 18), _img(shape, 19)
    s = ssim(a, b)
    assert math.isfinite(s) and s < 1
    assert ssim(a, a) == pytest.approx(1.0)
    assert s == pytest.approx(_skimage(a, b, channel_axis=-1 if len(shape) == 3 else None), abs=1e-12)
