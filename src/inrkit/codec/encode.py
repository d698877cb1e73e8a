"""Compressing an image: fit the codec's field to it under a rate term, quantise, entropy code; and decoding.

The fit minimises ``MSE + λ · bits per pixel`` (Ballé et al.'s rate-distortion loss, as COOL-CHIC fits
one image). Each step samples a random ``1 / sample`` of the pixels for the distortion and as many
latents of each level for the rate (unbiased estimates: the step costs a fraction of a full pass, so
a CPU takes many more of them). For the first ``noise_fraction`` of the steps the latents are perturbed
by uniform noise (the usual differentiable stand-in for rounding), then rounded with a straight-through
gradient. ``--quality`` fixes λ; ``--bpp`` starts from a λ that suits Kodak-like photos at that rate and
adapts it once the latents are rounded (a dual ascent on the rate constraint; before, the noisy
latents' rate runs well above what rounding leaves), so that the rate lands near the target.

After the fit the latents are rounded and each network tensor is rounded to a power-of-two step chosen
by the same loss (Ladune et al.'s quantisation search); the file is then written, read back and
decoded, and the metrics are those of the decoded image: what ``decompress`` gives, bit for bit.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InrkitError
from .bitstream import (_PARAM_LIMIT, MAX_PIXELS, network_tensors, param_bits, quantise_network, read_stream,
                        write_stream)
from .model import LATENT_MAX, CodecConfig, CodecField

__all__ = ["CompressConfig", "Compressed", "compress", "decode", "lambda_for_quality", "MAX_DECODE_PIXELS"]

MAX_DECODE_PIXELS = 1 << 28
"""The largest output ``decode`` renders (as ``inrkit upscale``)."""


def lambda_for_quality(quality: float) -> float:
    """λ of a quality from 0 (smallest files) to 100 (best pictures): log-linear from 3e-2 to 3e-5.

    >>> lambda_for_quality(0), round(lambda_for_quality(100), 10)
    (0.03, 3e-05)
    """
    return 3e-2 * 10 ** (-3 * quality / 100)


@dataclass
class CompressConfig:
    """How an image is compressed (give ``bpp`` or ``quality``)."""

    bpp: float | None = None
    """Target bits per pixel (e.g. 0.25, 0.5, 1); λ adapts during the fit to land near it."""
    quality: float | None = None
    """0 (smallest) to 100 (best), a fixed rate-distortion trade-off; default 50 when no --bpp is given."""
    steps: int = 1200
    """Optimisation steps of the fit (more: better pictures at the same rate, longer encoding; the default
    takes about 100 s for a Kodak image on two CPU cores)."""
    lr: float = 1e-2
    """Adam's learning rate of the networks (cosine decay to 5% of it)."""
    latent_lr: float = 0.1
    """Adam's learning rate of the latents (they move in steps of whole units, so faster than the networks)."""
    sample: int = 8
    """Each step scores 1/sample of the pixels (1: all of them)."""
    noise_fraction: float = 0.7
    """Share of the steps with noisy latents before rounding takes over."""
    seed: int = 0
    """Seed of the network's initialisation and of the sampling."""
    model: CodecConfig = field(default_factory=CodecConfig)


@dataclass
class Compressed:
    """A compressed image: the file's bytes, its decoded field and image, and the measured figures."""

    data: bytes
    field: CodecField
    image: np.ndarray
    """The decoded image, ``(H, W, C)`` uint8: what ``decompress`` writes."""
    metrics: dict


def _check(image: np.ndarray, cfg: CompressConfig) -> None:
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise InrkitError(f"the codec takes grey or RGB images, not an array of shape {image.shape}")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise InrkitError(f"the image has {image.shape[0] * image.shape[1]:,} pixels; the codec takes at most "
                          f"{MAX_PIXELS:,}")
    if min(image.shape[:2]) < 2:
        raise InrkitError(f"the image is {image.shape[1]}x{image.shape[0]} pixels; the codec needs at least 2x2")
    if cfg.bpp is not None and cfg.quality is not None:
        raise InrkitError("give --bpp or --quality, not both")
    if cfg.bpp is not None and not 0 < cfg.bpp <= 24:
        raise InrkitError(f"--bpp must be a rate above 0 and at most 24 bits per pixel, got {cfg.bpp}")
    if cfg.quality is not None and not 0 <= cfg.quality <= 100:
        raise InrkitError(f"--quality must be from 0 to 100, got {cfg.quality}")
    if cfg.bpp is not None and cfg.noise_fraction >= 1:
        raise InrkitError("--bpp adapts the trade-off once the latents are rounded: give a noise-fraction under 1")
    if cfg.steps < 1 or cfg.sample < 1 or not 0 <= cfg.noise_fraction <= 1 or \
            not (0 < cfg.lr < math.inf and 0 < cfg.latent_lr < math.inf):
        raise InrkitError("steps and sample must be at least 1, lr and latent-lr positive and noise-fraction in "
                          "[0, 1]")


def compress(image: np.ndarray, cfg: CompressConfig = CompressConfig(), progress: bool = False) -> Compressed:
    """Compress ``image`` (``(H, W, C)`` floats in ``[0, 1]``, C = 1 or 3): fit, quantise, write, decode back."""
    from ..grids import grid_coordinates
    from ..progress import Bar
    from ..train import check_seed

    _check(image, cfg)
    check_seed(cfg.seed)
    h, w, c = image.shape
    pixels = h * w
    t_start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    fld = CodecField(cfg.model, h, w, c)
    target = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).reshape(-1, c)
    coords = grid_coordinates((h, w)).reshape(-1, 2)
    n = max(pixels // cfg.sample, 1)
    # the network's bits are about 8 per parameter; --bpp budgets the latents with what is left
    network_bpp = 8 * sum(t.numel() for t in network_tensors(fld)) / pixels
    if cfg.bpp is not None and cfg.bpp <= 1.5 * network_bpp:
        raise InrkitError(f"--bpp {cfg.bpp} is below what this image can take: the network alone needs about "
                          f"{network_bpp:.3f} bits per pixel at {w}x{h} (a larger image, or a higher --bpp)")
    if cfg.bpp is not None:
        target_bpp = cfg.bpp - network_bpp
        # λ for a Kodak-like photo at that rate, scaled by how busy the image is (its JPEG rate at quality 75
        # against kodim23's 0.85 bpp); the fit corrects it once the latents are rounded
        log_lam = math.log(3e-4 / cfg.bpp**2 * (_jpeg_bpp(image) / 0.85) ** 2.5)
    else:
        log_lam = math.log(lambda_for_quality(50 if cfg.quality is None else cfg.quality))
    networks = [p for layers in (fld.synthesis, fld.entropy) for p in layers.parameters()]
    opt = torch.optim.Adam([{"params": list(fld.latents), "lr": cfg.latent_lr, "base": cfg.latent_lr},
                            {"params": networks, "lr": cfg.lr, "base": cfg.lr}])
    noisy_steps = round(cfg.noise_fraction * cfg.steps)
    bar = Bar("compressing", total=cfg.steps, enabled=progress)
    smoothed = 0.0  # the rate, averaged over the last steps
    try:
        for step in range(cfg.steps):
            for g in opt.param_groups:
                g["lr"] = g["base"] * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / cfg.steps)))
            if step < noisy_steps:
                q = [g + torch.rand(g.shape, generator=gen) - 0.5 for g in fld.latents]
            else:
                q = [g + (g.round() - g).detach() for g in fld.latents]  # straight-through
            idx = torch.randint(pixels, (n,), generator=gen)
            mse = (fld(coords[idx], q) - target[idx]).square().mean()
            bpp = fld.rate_bits(q, sample=n, generator=gen) / pixels
            loss = mse + math.exp(log_lam) * bpp
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for g in fld.latents:
                    g.clamp_(-LATENT_MAX, LATENT_MAX)
            rate = bpp.item()
            if not math.isfinite(loss.item()):
                raise InrkitError(f"the fit diverged at step {step + 1}; try a lower --lr and --latent-lr")
            smoothed = rate if step <= noisy_steps else 0.9 * smoothed + 0.1 * rate
            if cfg.bpp is not None and step > noisy_steps:
                # dual ascent once the latents are rounded (the noisy latents' rate runs well above what rounding
                # leaves): raise λ while over the target rate, lower it while under
                log_lam += 0.02 * max(-1.0, min(1.0, smoothed / target_bpp - 1))
            bar.update(step + 1, f"PSNR {-10 * math.log10(max(mse.item(), 1e-10)):.2f} dB, {rate:.3f} bpp")
    finally:
        bar.close()
    lam = math.exp(log_lam)
    with torch.no_grad():
        for g in fld.latents:
            g.copy_(g.round())
    exponents = _search_exponents(fld, coords, target, lam, gen, n)
    quantise_network(fld, exponents)
    data = write_stream(fld, exponents)
    encode_seconds = time.perf_counter() - t_start
    t = time.perf_counter()
    decoded_field = read_stream(data)
    decoded = decode(decoded_field)
    decode_seconds = time.perf_counter() - t
    original = np.round(np.clip(image, 0, 1) * 255)
    if cfg.bpp is not None and not 0.75 < len(data) * 8 / pixels / cfg.bpp < 1.33:
        import warnings

        warnings.warn(f"--bpp {cfg.bpp:g} was asked and the file has {len(data) * 8 / pixels:.3f} bits per pixel: "
                      "the fit did not settle on the rate in its steps (more --steps, or adjust --bpp)")
    metrics = {"bpp": len(data) * 8 / pixels, "bytes": len(data), "psnr": psnr8(decoded, original),
               "width": w, "height": h, "channels": c, "lambda": lam, "steps": cfg.steps,
               "target_bpp": cfg.bpp, "quality": cfg.quality, "network_exponents": exponents,
               "encode_seconds": encode_seconds, "decode_seconds": decode_seconds, "config": cfg.model.to_dict()}
    return Compressed(data, decoded_field, decoded, metrics)


def psnr8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two 8-bit pictures (values 0 to 255), at most 120 (an exact copy)."""
    mse = float(np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2))
    return 10 * math.log10(255**2 / max(mse, 1e-12))


def _jpeg_bpp(image: np.ndarray, quality: int = 75) -> float:
    """Bits per pixel of ``image`` as a JPEG at ``quality``: a quick measure of how much detail it has."""
    import io

    from PIL import Image

    a = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a).save(buf, "JPEG", quality=quality)
    return max(buf.tell() * 8 / (a.shape[0] * a.shape[1]), 0.05)


def _search_exponents(fld: CodecField, coords, target, lam: float, gen, n: int) -> list[int]:
    """Per network tensor, the quantisation exponent (step ``2^-e``) that minimises the fit's loss with the
    network's own bits counted; one tensor at a time, the others left unquantised."""
    pixels = len(coords)
    idx = torch.randint(pixels, (min(4 * n, pixels),), generator=gen)
    tensors = network_tensors(fld)
    n_synthesis = 2 * len(fld.synthesis)
    latents = [g.detach() for g in fld.latents]
    exponents = []
    def latent_bits():  # the same latents each time, so that the candidates compare exactly
        return float(fld.rate_bits(latents, sample=n, generator=torch.Generator().manual_seed(0)))

    with torch.no_grad():
        base_bits = latent_bits()
        for k, t in enumerate(tensors):
            original = t.clone()
            best = None
            for e in range(4, 15):
                if float(original.abs().max()) * 2.0**e > _PARAM_LIMIT:
                    break  # finer steps would clip the tensor's largest values
                t.copy_(torch.round(original * 2.0**e) * 2.0**-e)
                if k < n_synthesis:  # the synthesis changes the distortion; the entropy model, the latents' bits
                    mse = float((fld(coords[idx]) - target[idx]).square().mean())
                    bits = base_bits
                else:
                    mse, bits = 0.0, latent_bits()
                bits += param_bits(torch.round(original.double() * 2.0**e))
                cost = mse + lam * bits / pixels
                if best is None or cost < best[0]:
                    best = (cost, e)
            t.copy_(original)
            exponents.append(best[1] if best is not None else 0)  # a tensor over 2^11 in size: whole units
    return exponents


def decode(fld: CodecField, size: tuple[int, int] | None = None, chunk_size: int = 1 << 16) -> np.ndarray:
    """The image a field decodes to, ``(H, W, C)`` uint8, at its own size or ``size = (W, H)``."""
    from ..grids import evaluate_grid

    w, h = size if size is not None else (fld.width, fld.height)
    if w * h > MAX_DECODE_PIXELS:
        raise InrkitError(f"{w}x{h} is {w * h:,} pixels, over the {MAX_DECODE_PIXELS:,} that one image may have")
    with torch.no_grad():
        out = evaluate_grid(lambda x: fld(x), (h, w), fld.channels, chunk_size=chunk_size)
    return np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)
