"""The ``inrkit`` command: fit, render, info, presets, samples.

Subcommands are dataclasses parsed by tyro. User errors (:class:`InrkitError`)
print one sentence to stderr and exit with status 2; nothing is half-written.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import tyro

from .errors import InrkitError

DEFAULT_OUT = Path("runs/latest")


@dataclass
class FitImage:
    """Fit a field to an image (a file, or sample:NAME from `inrkit samples`)."""

    source: tyro.conf.Positional[str] = "sample:camera"
    """Image file (PNG, JPEG, BMP, TIFF; 8 or 16 bit; grey, RGB or RGBA) or sample:NAME."""
    preset: str = "ngp"
    """Representation and optimiser, from `inrkit presets`."""
    out: Path = DEFAULT_OUT
    """Output folder: field.safetensors, field.json, metrics.json, history.csv, reconstruction.png."""
    steps: int = 500
    """Stop after this many steps."""
    time_budget: float = 0.0
    """Also stop after this many seconds of training (0: no budget)."""
    size: Optional[str] = None
    """Resize the image to WIDTHxHEIGHT first (e.g. 256x256)."""
    train_stride: int = 1
    """Train on every S-th pixel of each row and column; metrics are on the full image."""
    lr: Optional[float] = None
    """Learning rate (default: the preset's)."""
    schedule: Optional[str] = None
    """Learning-rate schedule: none, cosine or exponential (default: the preset's)."""
    batch_size: int = 1 << 18
    """Pixels per step; full batch when the image has no more."""
    eval_every: int = 50
    """Evaluate PSNR on the full image every N steps."""
    checkpoint_every: int = 500
    """Write a resumable checkpoint every N steps."""
    resume: bool = False
    """Continue the run in --out up to --steps."""
    seed: int = 0
    """Seed of every random choice."""
    device: str = "auto"
    """auto, cpu or cuda."""
    compile: str = "auto"
    """torch.compile the network: auto, on or off."""
    progress: bool = True
    """Show a progress bar."""

    def run(self) -> None:
        from . import FitConfig, fit, get_preset, load_image, make_field
        from .checkpoint import TRAIN_STATE, load, load_meta
        from .signals.image import parse_size

        size = parse_size(self.size) if self.size else None
        signal = load_image(self.source, size=size, train_stride=self.train_stride)
        preset = get_preset(self.preset)
        if self.resume:
            if not (self.out / TRAIN_STATE).exists():
                raise InrkitError(f"cannot resume: {str(self.out)!r} holds no {TRAIN_STATE}")
            meta = load_meta(self.out)
            if meta.get("signal", {}).get("shape") != signal.metadata()["shape"]:
                raise InrkitError(f"cannot resume: {str(self.out)!r} was fitted to an image of another shape")
            field = load(self.out).train()
            preset = get_preset(meta.get("preset", self.preset))
        else:
            field = make_field(preset.field, signal, seed=self.seed)
        if self.lr is not None:
            if not self.lr > 0:
                raise InrkitError(f"learning rate must be positive, got {self.lr}")
            preset.optim.lr = self.lr
        if self.schedule is not None:
            preset.optim.schedule = self.schedule
        cfg = FitConfig(
            steps=self.steps,
            time_budget=self.time_budget,
            batch_size=self.batch_size,
            eval_every=self.eval_every,
            checkpoint_every=self.checkpoint_every,
            seed=self.seed,
            device=self.device,
            compile=self.compile,
            progress=self.progress,
        )
        result = fit(field, signal, cfg, preset.optim, out_dir=self.out, resume=self.resume, meta={"preset": preset.name})
        m = result.metrics
        extra = f", unseen pixels {m['psnr_unseen']:.2f} dB" if "psnr_unseen" in m else ""
        print(
            f"{preset.name} on {self.source}: PSNR {m['psnr']:.2f} dB{extra}, SSIM {m['ssim']:.4f}, "
            f"{m['steps']} steps in {m['seconds']:.1f} s, {m['params']:,} parameters -> {self.out}"
        )


FIT_KINDS = {"image": FitImage}


def _parse_region(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise InrkitError(f"region {text!r} is malformed; expected x0,y0,x1,y1 such as -1,-1,0,0") from None
    if not (x0 < x1 and y0 < y1):
        raise InrkitError(f"region {text!r} is empty; expected x0 < x1 and y0 < y1")
    return (x0, y0), (x1, y1)


@dataclass
class Render:
    """Sample a fitted field at any resolution and write an image."""

    checkpoint: tyro.conf.Positional[Path]
    """Folder written by `inrkit fit`."""
    size: Optional[str] = None
    """Output WIDTHxHEIGHT (default: the training image's size times --scale)."""
    scale: float = 1.0
    """Multiply the training image's size by this (ignored with --size)."""
    region: Optional[str] = None
    """Render only x0,y0,x1,y1 of the image's own [-1, 1] coordinates (x right, y down)."""
    out: Optional[Path] = None
    """Output image (default: CHECKPOINT/render_WxH.png)."""
    chunk_size: int = 1 << 16
    """Points evaluated at once; bounds memory."""
    device: str = "auto"
    """auto, cpu or cuda."""

    def run(self) -> None:
        from .checkpoint import load
        from .signals.image import parse_size, render_image, save_image
        from .train import pick_device

        field = load(self.checkpoint, device=pick_device(self.device))
        sig = field.meta.get("signal", {})
        if sig.get("kind") != "image":
            raise InrkitError(f"{str(self.checkpoint)!r} holds a {sig.get('kind')!r} field; render handles images")
        h, w, c = sig["shape"]
        region = _parse_region(self.region) if self.region else None
        if self.size:
            size = parse_size(self.size)
        else:
            if not self.scale > 0:
                raise InrkitError(f"scale must be positive, got {self.scale}")
            frac = (1.0, 1.0) if region is None else ((region[1][0] - region[0][0]) / 2, (region[1][1] - region[0][1]) / 2)
            size = (max(1, round(w * self.scale * frac[0])), max(1, round(h * self.scale * frac[1])))
        if self.chunk_size < 1:
            raise InrkitError(f"chunk size must be positive, got {self.chunk_size}")
        out = self.out or self.checkpoint / f"render_{size[0]}x{size[1]}.png"
        if not out.parent.is_dir():
            raise InrkitError(f"cannot write {str(out)!r}: folder {str(out.parent)!r} does not exist")
        device = next(field.parameters()).device
        image = render_image(field, size, c, region=region, chunk_size=self.chunk_size, device=device)
        save_image(out, image)
        print(f"wrote {out} ({size[0]}x{size[1]})")


@dataclass
class Info:
    """Print what a checkpoint holds."""

    checkpoint: tyro.conf.Positional[Path]
    """Folder written by `inrkit fit`."""
    json: bool = False
    """Print field.json as it is."""

    def run(self) -> None:
        from .checkpoint import load_meta

        meta = load_meta(self.checkpoint)
        if self.json:
            print(json.dumps(meta, indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        t = Table(title=str(self.checkpoint), show_header=False)
        sig = meta.get("signal", {})
        enc, net = meta["field"]["encoding"], meta["field"]["network"]
        rows = [
            ("preset", meta.get("preset")),
            ("signal", f"{sig.get('kind')} {sig.get('source', '')}, shape {sig.get('shape')}"),
            ("encoding", enc["kind"]),
            ("network", f"{net['kind']} {net['depth']}x{net['width']}"),
            ("output", meta["field"].get("output")),
            ("parameters", f"{meta.get('params', 0):,}"),
            ("steps", meta.get("step")),
            ("inrkit", meta.get("inrkit_version")),
        ]
        metrics = self.checkpoint / "metrics.json"
        if metrics.exists():
            m = json.loads(metrics.read_text())
            rows.append(("PSNR", f"{m.get('psnr', float('nan')):.2f} dB, SSIM {m.get('ssim', float('nan')):.4f}"))
        for k, v in rows:
            t.add_row(k, str(v))
        Console().print(t)


@dataclass
class Presets:
    """List the presets with their one-line descriptions."""

    def run(self) -> None:
        from .presets import PRESETS

        for p in PRESETS.values():
            print(f"{p.name:10s} {p.description}")


@dataclass
class Samples:
    """List the built-in images (use them as sample:NAME)."""

    def run(self) -> None:
        from .signals.image import SAMPLES

        for name, desc in SAMPLES.items():
            print(f"sample:{name:22s} {desc}")


COMMANDS = {"render": Render, "info": Info, "presets": Presets, "samples": Samples}


def _usage() -> str:
    lines = ["usage: inrkit COMMAND [ARGS]  (inrkit COMMAND --help for its options)", "", "commands:"]
    for kind, cls in FIT_KINDS.items():
        lines.append(f"  fit {kind:10s} {cls.__doc__.splitlines()[0]}")
    for name, cls in COMMANDS.items():
        lines.append(f"  {name:14s} {cls.__doc__.splitlines()[0]}")
    return "\n".join(lines)


def _parse(argv: list[str]):
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        raise SystemExit(0 if argv else 2)
    name, rest = argv[0], argv[1:]
    if name == "fit":
        if not rest or rest[0] in ("-h", "--help"):
            print(_usage())
            raise SystemExit(0 if rest else 2)
        if rest[0] not in FIT_KINDS:
            raise InrkitError(f"unknown signal kind {rest[0]!r} for fit; expected one of {', '.join(FIT_KINDS)}")
        return tyro.cli(FIT_KINDS[rest[0]], args=rest[1:], prog=f"inrkit fit {rest[0]}")
    if name not in COMMANDS:
        raise InrkitError(f"unknown command {name!r}; expected fit, {', '.join(COMMANDS)}")
    return tyro.cli(COMMANDS[name], args=rest, prog=f"inrkit {name}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        _parse(argv).run()
    except InrkitError as e:
        print(f"inrkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("inrkit: interrupted; checkpoints already written are intact", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
