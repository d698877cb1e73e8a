"""``inrkit bench codec``: rate against distortion on a folder of images, beside JPEG, WebP and AVIF.

Every image is compressed by the field codec at each target rate, and by the classical codecs (Pillow's
JPEG, WebP and AVIF) over a sweep of their quality settings, in the same run. Each codec's mean curve
(mean bpp and mean PSNR over the images, per target or per quality) is compared at the target rates by
interpolation in log-bpp, and by the Bjøntegaard delta rate (Bjøntegaard, VCEG-M33, 2001; with
piecewise-cubic interpolation, as in JVET's common test conditions) over the range both curves cover.
The published mean figures on Kodak (collected in google-deepmind/c3_neural_compression) are drawn beside.
"""
from __future__ import annotations

import io
import math
import time
from pathlib import Path

import numpy as np

from ..errors import InrkitError

__all__ = ["CLASSICAL", "PUBLISHED_KODAK", "bd_rate", "classical_curve", "psnr_at", "bench_codec"]

CLASSICAL = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}
"""Classical codecs by name, as Pillow calls them."""
QUALITIES = tuple(range(5, 100, 5))
"""The quality settings each classical codec is swept over."""
PUBLISHED_KODAK = {  # mean PSNR (dB) on Kodak at 0.25, 0.5 and 1.0 bpp; None where not published
    "COIN": (25.9, 27.8, 30.0), "Strümpler et al.": (28.3, 30.6, None), "COOL-CHIC": (29.3, 32.3, 36.5),
    "C3": (30.9, 34.2, 38.5), "JPEG (published)": (24.7, 29.0, 32.6), "BPG 4:4:4": (30.3, 33.3, 37.2),
    "VTM": (31.3, 34.4, 38.2)}
PUBLISHED_BPP = (0.25, 0.5, 1.0)


def classical_curve(image: np.ndarray, codec: str, qualities=QUALITIES) -> list[dict]:
    """``image`` (``(H, W, 3)`` uint8) through a Pillow codec at each quality: bpp, PSNR, seconds."""
    from PIL import Image, features

    from .encode import psnr8

    name = CLASSICAL[codec]
    if codec != "jpeg" and not features.check(codec):
        raise InrkitError(f"this Pillow has no {name} encoder (Pillow 11.3+ wheels include WebP and AVIF); "
                          f"leave {codec} out of --codecs")
    pil = Image.fromarray(image)
    rows = []
    for q in qualities:
        buf = io.BytesIO()
        t = time.perf_counter()
        pil.save(buf, name, quality=int(q))
        enc = time.perf_counter() - t
        t = time.perf_counter()
        back = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert(pil.mode))
        dec = time.perf_counter() - t
        rows.append({"quality": q, "bpp": buf.tell() * 8 / (image.shape[0] * image.shape[1]),
                     "psnr": psnr8(back, image), "encode_seconds": enc, "decode_seconds": dec})
    return rows


def psnr_at(bpps, psnrs, target: float) -> float | None:
    """PSNR at ``target`` bpp on a curve, linear in log-bpp between its points (None outside them).

    >>> round(psnr_at([0.25, 1.0], [30.0, 34.0], 0.5), 3)
    32.0
    """
    order = np.argsort(bpps)
    x, y = np.log(np.asarray(bpps, dtype=float)[order]), np.asarray(psnrs, dtype=float)[order]
    if not x[0] <= math.log(target) <= x[-1]:
        return None
    return float(np.interp(math.log(target), x, y))


def bd_rate(rate_a, psnr_a, rate_b, psnr_b) -> float | None:
    """Bjøntegaard delta rate of curve ``b`` against curve ``a`` in percent (negative: ``b`` needs fewer bits
    for the same PSNR), over the PSNR range both cover, log-rate interpolated piecewise-cubically (PCHIP);
    None when the ranges do not overlap.

    >>> round(bd_rate([1, 2, 4], [30, 33, 36], [0.5, 1, 2], [30, 33, 36]), 1)  # b: half the bits everywhere
    -50.0
    """
    from scipy.interpolate import PchipInterpolator

    def curve(r, p):
        p, r = np.asarray(p, dtype=float), np.log10(np.asarray(r, dtype=float))
        order = np.argsort(p)
        p, r = p[order], r[order]
        keep = np.concatenate([[True], np.diff(p) > 1e-9])  # PCHIP needs increasing PSNRs
        return p[keep], r[keep]

    pa, ra = curve(rate_a, psnr_a)
    pb, rb = curve(rate_b, psnr_b)
    lo, hi = max(pa[0], pb[0]), min(pa[-1], pb[-1])
    if len(pa) < 2 or len(pb) < 2 or hi - lo < 1e-6:
        return None
    ia, ib = PchipInterpolator(pa, ra).antiderivative(), PchipInterpolator(pb, rb).antiderivative()
    mean_diff = ((ib(hi) - ib(lo)) - (ia(hi) - ia(lo))) / (hi - lo)
    return float((10**mean_diff - 1) * 100)


def _mean_curve(rows: list[dict], key: str) -> tuple[list[float], list[float]]:
    """Mean bpp and mean PSNR over the images at each value of ``key`` (a quality or a target rate)."""
    groups = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    keys = sorted(groups)
    return ([float(np.mean([r["bpp"] for r in groups[k]])) for k in keys],
            [float(np.mean([r["psnr"] for r in groups[k]])) for k in keys])


def bench_codec(folder, out, bpps=(0.25, 0.5, 1.0), codecs=("jpeg", "webp", "avif"), steps: int | None = None,
                limit: int = 0, seed: int = 0, progress: bool = True) -> dict:
    """Compress every image of ``folder`` with the field codec at each rate in ``bpps`` and with each classical
    codec over its quality sweep; write ``out/metrics.json``, ``out/rd.md`` and ``out/rd.png``; return the
    summary."""
    from ..io import IMAGE_SUFFIXES, write_json
    from ..signals.image import load_image
    from .encode import CompressConfig, compress

    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise InrkitError(f"{str(folder)!r} is not a folder of images")
    bad = [c for c in codecs if c not in CLASSICAL]
    if bad:
        raise InrkitError(f"unknown codec {bad[0]!r}; expected some of {', '.join(CLASSICAL)}")
    if not bpps or any(not 0 < b <= 24 for b in bpps):
        raise InrkitError("--bpp takes rates above 0 and at most 24 bits per pixel")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[: limit or None]
    if not paths:
        raise InrkitError(f"no images in {str(folder)!r} (PNG, JPEG, BMP, TIFF, WebP)")
    if out.exists() and not out.is_dir():
        raise InrkitError(f"output folder {str(out)!r} is a file")
    out.mkdir(parents=True, exist_ok=True)
    ours, classical = [], {c: [] for c in codecs}
    for path in paths:
        image = load_image(str(path)).image
        if image.shape[-1] in (2, 4):  # alpha is not coded (as inrkit compress)
            image = image[..., :-1]
        if image.shape[-1] == 1:
            image = np.repeat(image, 3, -1)
        image8 = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
        for c in codecs:
            classical[c] += [{"image": path.name, **r} for r in classical_curve(image8, c)]
        for b in bpps:
            cfg = CompressConfig(bpp=b, seed=seed, **({"steps": steps} if steps else {}))
            m = compress(image8.astype(np.float32) / 255, cfg).metrics
            ours.append({"image": path.name, "target_bpp": b, **{k: m[k] for k in (
                "bpp", "psnr", "bytes", "encode_seconds", "decode_seconds", "lambda", "steps")}})
            if progress:
                print(f"{path.name} @ {b} bpp: {m['bpp']:.3f} bpp, {m['psnr']:.2f} dB "
                      f"({m['encode_seconds']:.0f} s to encode, {m['decode_seconds']:.2f} s to decode)", flush=True)
    summary = _summarise(ours, classical, bpps)
    summary.update(folder=str(folder), images=[p.name for p in paths], steps=ours[0]["steps"])
    write_json(out / "metrics.json", {**summary, "rows": {"inrkit": ours, **classical}})
    (out / "rd.md").write_text(_table(summary, bpps))
    _plot(summary, out / "rd.png", kodak=folder.name.lower() == "kodak")
    return summary


def _summarise(ours, classical, bpps) -> dict:
    curves = {"inrkit": _mean_curve(ours, "target_bpp"), **{c: _mean_curve(r, "quality") for c, r in classical.items()}}
    at = {name: [psnr_at(*curve, b) for b in bpps] for name, curve in curves.items()}
    bd = {c: bd_rate(*curves[c], *curves["inrkit"]) for c in classical}
    times = {"encode_seconds_median": float(np.median([r["encode_seconds"] for r in ours])),
             "decode_seconds_median": float(np.median([r["decode_seconds"] for r in ours]))}
    return {"bpps": list(bpps), "curves": {k: {"bpp": v[0], "psnr": v[1]} for k, v in curves.items()},
            "psnr_at": at, "bd_rate_percent": bd, **times}


def _table(summary, bpps) -> str:
    def fmt(v):
        return "–" if v is None else f"{v:.2f}"

    lines = ["| codec | " + " | ".join(f"{b:g} bpp" for b in bpps) + " | BD-rate of inrkit against it |",
             "|---|" + "---|" * (len(bpps) + 1)]
    for name, values in summary["psnr_at"].items():
        bd = summary["bd_rate_percent"].get(name)
        bd_text = "–" if bd is None else f"{bd:+.1f} %"
        lines.append(f"| {name} | " + " | ".join(fmt(v) for v in values) + f" | {bd_text} |")
    lines += ["", "PSNR in dB (RGB, 8 bit), mean over the images, interpolated in log-bpp at each rate; inrkit's "
              f"median encode {summary['encode_seconds_median']:.1f} s, decode "
              f"{summary['decode_seconds_median']:.2f} s per image."]
    return "\n".join(lines) + "\n"


def _plot(summary, path: Path, kodak: bool) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the plot is optional; the table and JSON are written
        return
    fig, ax = plt.subplots(figsize=(7, 5))
    for name, c in summary["curves"].items():
        ax.plot(c["bpp"], c["psnr"], "o-" if name == "inrkit" else ".-", label=name, lw=2 if name == "inrkit" else 1)
    if kodak:
        for name, values in PUBLISHED_KODAK.items():
            pts = [(b, v) for b, v in zip(PUBLISHED_BPP, values) if v is not None]
            ax.plot(*zip(*pts), "x--", alpha=0.6, label=f"{name} (published)" if "published" not in name else name)
    ax.set(xscale="log", xlabel="bits per pixel", ylabel="PSNR (dB)", title="rate against distortion")
    ax.set_xlim(0.08, 3)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
