"""``inrkit encode`` and ``inrkit interpolate``: signals as latents of a functa, and paths between them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import tyro

from ..errors import InrkitError

__all__ = ["Encode", "Interpolate"]


@dataclass
class Encode:
    """Encode every image of a dataset as a latent of a functa (a few steps each); write a fieldset of latents."""

    dataset: tyro.conf.Positional[str]
    """A folder of images, IDX files, a .npy array or sample:shapes (the functa's image size)."""
    meta: Path
    """Functa checkpoint folder (`inrkit meta-train --modulations shift`)."""
    out: Path = Path("runs/latents")
    """Output folder: fieldset.safetensors (latents and the shared network) and fieldset.json (per-item PSNR)."""
    inner_steps: Optional[int] = None
    """Steps per latent (default: the functa's training inner steps)."""
    size: Optional[str] = None
    """Resize every image to WIDTHxHEIGHT first."""
    split: str = "test"
    """train, test or all."""
    limit: int = 0
    """Encode only the first N images (0: all)."""
    device: str = "auto"
    """auto, cpu or cuda."""

    def run(self) -> None:
        from ..fieldsets import load_dataset
        from ..fieldsets.functa import encode
        from ..signals.image import parse_size

        data = load_dataset(self.dataset, parse_size(self.size) if self.size else None, self.split, self.limit)
        index = encode(data, self.meta, self.out, self.inner_steps, device=self.device)
        if index:  # rank 0
            print(f"{index['count']} latents of {self.dataset} ({index['inner_steps']} steps each): mean PSNR "
                  f"{index['mean_psnr']:.2f} dB (worst {index['min_psnr']:.2f}) -> {self.out}")


@dataclass
class Interpolate:
    """Render the straight path between two signals' latents (from `inrkit encode`) as an image strip or GIF."""

    latents: tyro.conf.Positional[Path]
    """Folder written by `inrkit encode`."""
    start: int = 0
    """Index of the first signal."""
    end: int = 1
    """Index of the last signal."""
    frames: int = 8
    """Images along the path, both ends included."""
    size: Optional[str] = None
    """WIDTHxHEIGHT of each image (default: the training size)."""
    out: Optional[Path] = None
    """A .png (the frames side by side) or .gif/.mp4 (default: LATENTS/interpolate_START_END.png)."""

    def run(self) -> None:
        from ..fieldsets import load_fieldset
        from ..fieldsets.functa import interpolate
        from ..outputs import render_target
        from ..signals.image import WRITABLE, save_image
        from ..signals.video import save_video

        suffixes = (*WRITABLE, ".gif", ".mp4")
        out = render_target(self.out, self.latents, suffixes, "an interpolation",
                            f"interpolate_{self.start}_{self.end}.png")
        fs = load_fieldset(self.latents)
        if not fs.latents:
            raise InrkitError(f"{str(self.latents)!r} holds fields, not latents; interpolate needs `inrkit encode`'s")
        frames = interpolate(fs, self.start, self.end, self.frames, self.size)  # (F, H, W, C)
        if out.suffix.lower() in (".gif", ".mp4"):
            out = save_video(out, frames, 4)
        else:
            save_image(out, frames.transpose(1, 0, 2, 3).reshape(frames.shape[1], -1, frames.shape[3]))
        print(f"wrote {out} ({self.frames} frames from signal {self.start} to {self.end})")
