"""``inrkit sr train`` and ``inrkit upscale``: a super-resolution prior learned across images, and its use."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import tyro

from ..superres.model import SRConfig
from ..superres.train import SRTrainConfig

__all__ = ["SrTrain", "Upscale"]


@dataclass
class SrTrain:
    """Train a super-resolution prior (a local implicit image function) on folders of images."""

    folders: tyro.conf.Positional[list[Path]]
    """Folders of training images (PNG, JPEG, ...); a stable 10% of them (by file name) is held out for validation."""
    out: Path = Path("runs/sr")
    """Output folder: sr.safetensors, sr.json (config and validation history), sr_state.pt (for --resume)."""
    resume: bool = False
    """Continue the training in --out up to --steps."""
    model: tyro.conf.OmitArgPrefixes[SRConfig] = field(default_factory=SRConfig)
    train: tyro.conf.OmitArgPrefixes[SRTrainConfig] = field(default_factory=SRTrainConfig)

    def run(self) -> None:
        from ..superres import train_sr

        index = train_sr(self.folders, self.out, self.model, self.train, resume=self.resume)
        last = index["history"][-1]
        print(f"super-resolution prior, {index['steps']} steps in {index['seconds']:.0f} s: validation x2 "
              f"{last['x2']:.2f} dB (bicubic {last['x2_bicubic']:.2f}), x4 {last['x4']:.2f} dB "
              f"(bicubic {last['x4_bicubic']:.2f}) -> {self.out}")


@dataclass
class Upscale:
    """Upscale an image by any factor through a learned prior (the shipped model unless --model)."""

    image: tyro.conf.Positional[str]
    """Image file (PNG, JPEG, BMP, TIFF, WebP; grey, RGB or RGBA) or sample:NAME."""
    scale: Optional[float] = None
    """Upscaling factor, any positive number (3.5, 8, ...); or give --size."""
    size: Optional[str] = None
    """Output WIDTHxHEIGHT instead of --scale (a different aspect stretches the image)."""
    model: Optional[Path] = None
    """Folder written by `inrkit sr train` (default: the model shipped with inrkit)."""
    out: Optional[Path] = None
    """Output image (.png, .jpg, ...; default: NAME_xSCALE.png beside the input, or in the working folder)."""
    chunk_size: int = 1 << 16
    """Output pixels evaluated at once (memory: the input's features, the output and one chunk)."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""

    def run(self) -> None:
        from ..errors import InrkitError
        from ..outputs import render_target
        from ..signals.image import WRITABLE, load_image, save_image
        from ..superres import default_model, load_sr, target_size, upscale
        from ..train import pick_device

        if self.scale is None and self.size is None:
            raise InrkitError("give a --scale (e.g. 4) or a --size WIDTHxHEIGHT")
        if self.scale is not None and self.size is not None:
            raise InrkitError("give --scale or --size, not both")
        if self.chunk_size < 1:
            raise InrkitError(f"chunk-size must be a positive number, got {self.chunk_size}")
        signal = load_image(self.image)
        image = signal.image  # (H, W, C) float32 in [0, 1]
        w, h = target_size(image.shape, self.scale, self.size)  # a bad scale fails before any work
        stem = Path(self.image).stem if not self.image.startswith("sample:") else self.image.split(":", 1)[1]
        folder = Path(self.image).parent if not self.image.startswith("sample:") else Path(".")
        out = render_target(self.out, folder, WRITABLE, "an image", f"{stem}_{w}x{h}.png")
        device = pick_device(self.device)
        model, _ = load_sr(self.model, device) if self.model is not None else default_model(device)
        result = upscale(image, size=(w, h), model=model, chunk_size=self.chunk_size, device=device)
        save_image(out, result)
        h0, w0 = image.shape[:2]
        print(f"wrote {out} ({w}x{h} from {w0}x{h0}, x{w / w0:.3g})")
