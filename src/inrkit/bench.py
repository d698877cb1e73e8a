"""Compare representations on a folder of images, the way the papers do.

``bench_images`` fits every image with every preset and tabulates PSNR (full
image and unseen pixels), SSIM, parameters and seconds as mean ± standard
deviation; ``tune_sigma`` picks the Gaussian Fourier-feature scale on a tuning
folder by PSNR on held-out pixels, as the Fourier-features paper picks it on
its grid-search split.
"""
from __future__ import annotations

import dataclasses
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

from .errors import InrkitError
from .io import atomic_path
from .presets import get_preset
from .signals.image import READABLE as IMAGE_SUFFIXES  # the image loader's own list, under its old name here
from .signals.image import load_image
from .train import FitConfig, fit, make_field

__all__ = [
    "BASELINES", "FFN_PROTOCOLS", "bench_images", "interpolate_training_pixels", "list_images",
    "protocol_overrides", "tune_sigma", "write_report",
]

# The Fourier-features paper's 2D image regression (Tancik et al. 2020, Sec. 6, supp.; the authors'
# 2d_image_regression notebook): their ReLU network (three hidden layers of 256, sigmoid output,
# Glorot init), m=256 features, Adam, 2000 full-batch steps, 512x512 images trained on every second
# pixel and scored on the pixels midway between (`psnr_offgrid`). Settings differ per kind of image:
# natural images use lr 1e-2 for no mapping and basic, σ=10 and positional scale 6; text uses lr 1e-3
# throughout, σ=14 and scale 5.
_FFN_COMMON = {"presets": ["relu", "ffn-basic", "ffn-pe", "ffn-gauss"], "steps": 2000, "train_stride": 2,
               "size": (512, 512)}
FFN_PROTOCOLS = {
    "ffn": {**_FFN_COMMON, "lr": {"relu": 1e-2, "ffn-basic": 1e-2}, "sigma": 10.0, "posenc_scale": 6.0},
    "ffn-text": {**_FFN_COMMON, "lr": {}, "sigma": 14.0, "posenc_scale": 5.0},
}


def protocol_overrides(protocol: dict, sigma: float | None = None) -> dict:
    """Per-preset edits (:func:`bench_images`'s ``overrides``) that apply a protocol's settings."""

    def edit(preset):
        enc = preset.field.encoding
        if enc.kind == "gaussian":
            enc.sigma = sigma if sigma is not None else protocol["sigma"]
        if enc.kind == "ffn-positional":
            enc.scale = protocol["posenc_scale"]
        if preset.name in protocol["lr"]:
            preset.optim.lr = protocol["lr"][preset.name]

    return {name: edit for name in protocol["presets"]}


METRICS = ("psnr", "psnr_unseen", "psnr_offgrid", "ssim", "params", "seconds", "steps")


def list_images(folder: str | Path, limit: int | None = None) -> list[Path]:
    folder = Path(folder)
    if folder.is_file():
        raise InrkitError(f"{str(folder)!r} is a file; expected a folder of images")
    if not folder.is_dir():
        raise InrkitError(f"image folder {str(folder)!r} does not exist")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise InrkitError(f"{str(folder)!r} holds no images (PNG, JPEG, BMP, TIFF, GIF or WebP)")
    return images[:limit] if limit else images


# Classical interpolation of the training pixels (spline order), for `bench images --baselines`.
BASELINES = {"bilinear": 1, "bicubic": 3}
LEARNED_BASELINES = ("liif",)
"""Baselines that upscale the training pixels through a learned prior (:mod:`inrkit.superres`; the shipped
model unless ``sr_model`` names another)."""


def interpolate_training_pixels(signal, order: int) -> np.ndarray:
    """The image predicted from its training pixels alone by spline interpolation: ``(H, W, C)`` in [0, 1].

    Order 1 is bilinear, 3 cubic B-spline interpolation (it passes through every training pixel);
    beyond the last training row and column the edge value is held.
    """
    from scipy import ndimage

    s = signal.train_stride
    train = signal.image[::s, ::s].astype(np.float64)  # (h, w, C)
    yy, xx = np.mgrid[0 : signal.height, 0 : signal.width] / s  # every pixel, in training-grid units
    out = [ndimage.map_coordinates(train[..., c], [yy, xx], order=order, mode="nearest")
           for c in range(train.shape[-1])]
    return np.clip(np.stack(out, -1), 0, 1).astype(np.float32)


def upscale_training_pixels(signal, model) -> np.ndarray:
    """The image predicted from its training pixels (every ``train_stride``-th of each row and column) through
    the super-resolution prior ``model``: ``(H, W, C)`` in [0, 1].

    Training pixel ``i`` of the coarse grid is pixel ``i * s`` of the image, whose centre is not the centre
    of the coarse pixel ``i`` (the middle of an ``s x s`` block): the image is sampled where its pixels lie
    on the coarse grid, with the cell of one image pixel.
    """
    import torch

    from .grids import evaluate_grid
    from .superres import ImageField
    from .superres.prior import stride_grid

    s = signal.train_stride
    low = signal.image[::s, ::s]  # (h, w, C)
    field = ImageField(model, torch.from_numpy(np.ascontiguousarray(low)),
                       grid=stride_grid(signal.width, signal.height, s))  # cell: one image pixel
    return evaluate_grid(field, (signal.height, signal.width), low.shape[-1])


def bench_images(
    images: list[Path],
    presets: list[str],
    cfg: FitConfig,
    train_stride: int = 2,
    size: tuple[int, int] | None = None,
    overrides: dict | None = None,
    log=print,
    baselines: tuple[str, ...] = (),
    previous: list[dict] = (),
    on_row=None,
    sr_model=None,
) -> dict:
    """Fit every image with every preset: ``{"runs": [...], "summary": {preset: {metric: (mean, std)}}}``.

    ``overrides`` maps a preset name to a function that edits its (copied) preset. ``baselines``
    (names of :data:`BASELINES` and :data:`LEARNED_BASELINES`) adds rows that interpolate the training pixels
    instead of fitting, or upscale them through the super-resolution prior in the folder ``sr_model`` (default:
    the shipped one).
    ``previous``: rows of an interrupted run with the same settings; their (image, preset) pairs are
    kept, not refitted. ``on_row(runs)`` is called after every new row (to save progress).
    """
    for name in presets:
        get_preset(name)  # fail on an unknown preset before any fitting
    for name in baselines:
        if name not in BASELINES and name not in LEARNED_BASELINES:
            raise InrkitError(f"unknown baseline {name!r}; expected one of "
                              f"{', '.join([*BASELINES, *LEARNED_BASELINES])}")
    if baselines and train_stride < 2:
        raise InrkitError("interpolation baselines need held-out pixels: a train stride of at least 2")
    prior = None
    if any(name in LEARNED_BASELINES for name in baselines):
        from .superres import default_model, load_sr

        prior, _ = load_sr(sr_model) if sr_model is not None else default_model()
    for path in images:  # an unreadable image fails now, not after hours of fitting the others
        load_image(str(path), size=size, train_stride=train_stride)
    runs = []
    kept = {(r["image"], r["preset"]): r for r in previous}

    def report(row, note=""):
        held_out = (("psnr_unseen", "unseen"), ("psnr_offgrid", "off-grid"))
        unseen = "".join(f", {label} {row[k]:.2f}" for k, label in held_out if row.get(k) is not None)
        log(f"{row['image']:>12s} {row['preset']:12s} PSNR {row['psnr']:6.2f} dB{unseen}  {row['seconds']:7.1f} s{note}")

    def record(path, name, metrics):
        row = {"image": path.name, "preset": name, **{k: metrics.get(k) for k in METRICS}}
        runs.append(row)
        report(row)
        if on_row is not None:
            on_row(runs)

    for path in images:
        signal = None
        for name in [*presets, *baselines]:
            if (path.name, name) in kept:
                runs.append(kept[path.name, name])
                report(runs[-1], "  (kept from the earlier run)")
                continue
            signal = signal or load_image(str(path), size=size, train_stride=train_stride)
            if name in baselines:
                t0 = time.perf_counter()
                pred = (upscale_training_pixels(signal, prior) if name in LEARNED_BASELINES
                        else interpolate_training_pixels(signal, BASELINES[name]))
                seconds = time.perf_counter() - t0
                record(path, name, {**signal.evaluate(pred), "params": 0, "seconds": seconds, "steps": 0})
                continue
            preset = get_preset(name)
            if overrides and name in overrides:
                overrides[name](preset)
            field = make_field(preset.field, signal, seed=cfg.seed)
            r = fit(field, signal, cfg, preset.optim, meta={"preset": name})
            record(path, name, r.metrics)
    return {"runs": runs, "summary": summarise(runs, [*presets, *baselines])}


def resumable_runs(out: Path, settings: dict) -> list[dict]:
    """The rows of the interrupted run in ``out`` (else of its finished report) if written with
    ``settings`` (any images), else an error naming what differs; neither: no rows."""
    from .io import read_json

    path = out / PARTIAL if (out / PARTIAL).exists() else out / "bench.json"
    if not path.exists():
        return []
    old = read_json(path, "benchmark report")
    before = old.get("settings", {}) if isinstance(old, dict) else {}
    differ = sorted(k for k in settings if k != "images" and before.get(k) != settings[k])
    if differ:
        raise InrkitError(f"cannot resume: {path} was written with other settings ({', '.join(differ)}); "
                          "use another --out or run without --resume")
    return list(old.get("runs", []))


def summarise(runs: list[dict], presets: list[str]) -> dict:
    out = {}
    for name in presets:
        rows = [r for r in runs if r["preset"] == name]
        out[name] = {"n": len(rows)}
        for k in METRICS:
            vals = [r[k] for r in rows if r.get(k) is not None]
            if vals:
                out[name][k] = (statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0)
    return out


def markdown_table(summary: dict) -> str:
    lines = [
        "| preset | images | PSNR (dB) | PSNR unseen (dB) | PSNR off-grid (dB) | SSIM | parameters | seconds / image |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def pm(stats: dict, key: str, fmt: str) -> str:
        if key not in stats:
            return "–"
        m, s = stats[key]
        return f"{m:{fmt}} ± {s:{fmt}}"

    for name, st in summary.items():
        lines.append(
            f"| {name} | {st['n']} | {pm(st, 'psnr', '.2f')} | {pm(st, 'psnr_unseen', '.2f')} | "
            f"{pm(st, 'psnr_offgrid', '.2f')} | "
            f"{pm(st, 'ssim', '.3f')} | {int(st['params'][0]):,} | {st['seconds'][0]:.1f} |"
        )
    return "\n".join(lines) + "\n"


PARTIAL = "bench.partial.json"  # the rows of a run in progress; bench.json is replaced only at the end


def write_progress(runs: list[dict], out: Path, title: str, settings: dict) -> None:
    """Save the rows finished so far (``out/bench.partial.json``) for ``--resume``."""
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / PARTIAL) as tmp:
        tmp.write_text(json.dumps({"title": title, "settings": settings, "runs": runs}, indent=1) + "\n")


def write_report(result: dict, out: Path, title: str, settings: dict) -> list[Path]:
    """``bench.json``, ``bench.md`` and (with matplotlib) ``bench.png`` in ``out``; removes the
    progress file of the run."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with atomic_path(out / "bench.json") as tmp:
        tmp.write_text(json.dumps({"title": title, "settings": settings, **result}, indent=1) + "\n")
    written.append(out / "bench.json")
    with atomic_path(out / "bench.md") as tmp:
        tmp.write_text(f"# {title}\n\n{json.dumps(settings)}\n\n" + markdown_table(result["summary"]))
    written.append(out / "bench.md")
    (out / PARTIAL).unlink(missing_ok=True)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        warnings.warn("matplotlib is not installed: bench.png skipped (pip install 'inrkit[bench]')")
        return written
    names = list(result["summary"])
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names)), 4.4), layout="constrained")
    xs = range(len(names))
    bars = [("psnr", "full image"), ("psnr_unseen", "unseen pixels"), ("psnr_offgrid", "off-grid pixels")]
    for i, (key, label) in enumerate(bars):
        means = [result["summary"][n].get(key, (0, 0))[0] for n in names]
        stds = [result["summary"][n].get(key, (0, 0))[1] for n in names]
        ax.bar([x + (i - 1) * 0.27 for x in xs], means, 0.27, yerr=stds, label=label, capsize=3)
    ax.set_xticks(list(xs), names, rotation=30, ha="right")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(title)
    fig.legend(loc="outside lower center", ncol=len(bars), frameon=False)  # never over a bar
    with atomic_path(out / "bench.png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    written.append(out / "bench.png")
    return written


def tune_sigma(
    images: list[Path],
    sigmas: list[float],
    cfg: FitConfig,
    train_stride: int = 2,
    size: tuple[int, int] | None = None,
    preset: str = "ffn-gauss",
    log=print,
) -> dict:
    """Mean held-out PSNR for each Gaussian scale σ; ``best`` is the highest."""
    if not sigmas or not all(0 < s < float("inf") for s in sigmas):
        raise InrkitError(f"sigmas must be a non-empty list of positive finite numbers, got {list(sigmas)}")
    if train_stride < 2:
        raise InrkitError("tuning scores held-out pixels, so it needs --train-stride of at least 2")
    if get_preset(preset).field.encoding.kind != "gaussian":
        raise InrkitError(f"preset {preset!r} has no Gaussian Fourier features to tune")
    scores = {}
    for sigma in sigmas:

        def set_sigma(p, sigma=sigma):
            p.field.encoding.sigma = sigma

        r = bench_images(images, [preset], cfg, train_stride, size, {preset: set_sigma}, log=lambda *_: None)
        scores[sigma] = r["summary"][preset]["psnr_unseen"][0]
        log(f"sigma {sigma:6.2f}: held-out PSNR {scores[sigma]:.2f} dB")
    best = max(scores, key=scores.get)
    return {"preset": preset, "scores": scores, "best": best, "fit": dataclasses.asdict(cfg)}


# ---------------------------------------------------------------- whole folders, as `inrkit bench images` and `tune` run them

DEFAULT_PRESETS = ("relu", "ffn-basic", "ffn-pe", "ffn-gauss", "siren", "ngp")


def folder_fit_config(steps: int, time_budget: float = 0.0, seed: int = 0, device: str = "auto",
                      compile: str = "auto"):
    """The :class:`inrkit.FitConfig` of one fit of a folder: evaluated once, at the end; no checkpoints."""
    from .train import FitConfig

    return FitConfig(steps=steps, time_budget=time_budget, eval_every=max(steps, 1), checkpoint_every=0, seed=seed,
                     device=device, compile=compile, progress=False)


def _folder(folder, limit: int, size: str | None):
    from .signals.image import parse_size

    if limit < 0:
        raise InrkitError(f"limit must be a number of images (0: all), got {limit}")
    return list_images(folder, limit or None), parse_size(size) if size else None


def bench_folder(folder, presets: list[str], protocol: str = "fast", sigma: float | None = None,
                 baselines: tuple[str, ...] = (), out=Path("runs/bench"), resume: bool = False,
                 fit: dict | None = None, train_stride: int = 2, size: str | None = None, limit: int = 0,
                 sr_model=None):
    """``inrkit bench images``: fit every image of ``folder`` with every preset (default
    :data:`DEFAULT_PRESETS`; ``protocol`` ``ffn`` or ``ffn-text`` fixes the Fourier-features paper's setup),
    write bench.json, bench.md and bench.png in ``out`` (rows kept in bench.partial.json as they come, which
    ``resume`` picks up). ``fit``: :func:`folder_fit_config`'s arguments; ``sr_model``: the prior of the
    ``liif`` baseline (default: the shipped one). Returns ``(result, files written)``."""
    from .io import output_folder

    folder, out, fit = Path(folder), Path(out), dict(fit or {})
    steps, budget = fit.pop("steps", 2000), fit.pop("time_budget", 0.0)
    if protocol not in ("fast", *FFN_PROTOCOLS):
        raise InrkitError(f"unknown protocol {protocol!r}; expected fast, {', '.join(FFN_PROTOCOLS)}")
    if sigma is not None and not 0 < sigma < float("inf"):
        raise InrkitError(f"sigma must be a positive finite number, got {sigma}")
    images, wh = _folder(folder, limit, size)
    if out.resolve() == folder.resolve():
        raise InrkitError("--out must not be the image folder: the next run would read bench.png as an image")
    chosen, stride, overrides = list(presets) or list(DEFAULT_PRESETS), train_stride, {}
    if protocol in FFN_PROTOCOLS:
        proto = FFN_PROTOCOLS[protocol]
        if budget or size or (steps, train_stride) != (proto["steps"], proto["train_stride"]):
            raise InrkitError(f"--protocol {protocol} fixes the fit (2000 full-batch steps on every second "
                              "pixel of 512x512 images); drop --steps, --time-budget, --size and --train-stride")
        chosen = [p for p in proto["presets"] if not presets or p in presets]
        other = [p for p in presets if p not in proto["presets"]]
        if other:
            raise InrkitError(f"--protocol {protocol} runs {', '.join(proto['presets'])}; "
                              f"{', '.join(other)} is not one of them")
        steps, stride, wh, budget = proto["steps"], proto["train_stride"], proto["size"], 0.0
        overrides = protocol_overrides(proto, sigma)
    elif sigma is not None:
        def set_sigma(preset):
            preset.field.encoding.sigma = sigma

        overrides = {p: set_sigma for p in chosen if get_preset(p).field.encoding.kind == "gaussian"}
    cfg = folder_fit_config(steps, budget, **fit)
    settings = {"protocol": protocol, "steps": steps, "time_budget": budget, "train_stride": stride,
                "size": wh, "sigma": sigma, "images": [p.name for p in images], "folder": str(folder),
                "baselines": list(baselines), "sr_model": None if sr_model is None else str(sr_model)}
    output_folder(out)  # before hours of fitting
    previous = resumable_runs(out, json.loads(json.dumps(settings))) if resume else []
    title = f"{folder.name}: {len(images)} images"

    def save(runs):  # progress survives an interruption; resume picks it up
        write_progress(runs, out, title, settings)

    result = bench_images(images, chosen, cfg, stride, wh, overrides=overrides, baselines=tuple(baselines),
                          previous=previous, on_row=save, sr_model=sr_model)
    return result, write_report(result, out, title, settings)


def tune_folder(folder, sigmas: list[float], preset: str = "ffn-gauss", out=Path("runs/tune"),
                fit: dict | None = None, train_stride: int = 2, size: str | None = None, limit: int = 0):
    """``inrkit tune``: the Gaussian Fourier-feature scale σ of ``preset`` that scores best on the held-out
    pixels of ``folder``'s images (:func:`tune_sigma`), written to ``out/tune.json``. Returns
    ``(result, path written)``."""
    from .io import output_folder, write_json

    out, fit = Path(out), dict(fit or {})
    images, wh = _folder(folder, limit, size)
    cfg = folder_fit_config(fit.pop("steps", 2000), fit.pop("time_budget", 0.0), **fit)
    output_folder(out)  # before hours of fitting
    result = tune_sigma(images, list(sigmas), cfg, train_stride, wh, preset)
    write_json(out / "tune.json", {**result, "images": [p.name for p in images]})
    return result, out / "tune.json"
