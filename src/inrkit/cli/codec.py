"""``inrkit compress`` and ``inrkit decompress``: an image as a small fitted field in a ``.inrz`` file."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import tyro

from ..codec.encode import CompressConfig

__all__ = ["Compress", "Decompress"]


@dataclass
class Compress:
    """Compress an image into a fitted field (.inrz): a file that decodes at any resolution."""

    image: tyro.conf.Positional[str]
    """Image file (PNG, JPEG, BMP, TIFF, WebP; grey or RGB, an alpha channel is dropped) or sample:NAME."""
    out: Optional[Path] = None
    """The compressed file (.inrz; default NAME.inrz beside the input, or in the working folder)."""
    metrics: Optional[Path] = None
    """Where the figures go as JSON (default: the output's name with .json): bpp, PSNR, times."""
    progress: bool = True
    """Show a progress bar."""
    codec: tyro.conf.OmitArgPrefixes[CompressConfig] = field(default_factory=CompressConfig)

    def run(self) -> None:
        import warnings

        from ..codec import compress
        from ..io import atomic_path, write_json
        from ..outputs import render_target
        from ..signals.image import load_image

        sample = self.image.startswith("sample:")
        stem = self.image.split(":", 1)[1] if sample else Path(self.image).stem
        folder = Path(".") if sample else Path(self.image).parent
        out = render_target(self.out, folder, (".inrz",), "a compressed image", f"{stem}.inrz")
        metrics_path = render_target(self.metrics, out.parent, (".json",), "the metrics", f"{out.stem}.json")
        image = load_image(self.image).image
        if image.shape[-1] in (2, 4):
            warnings.warn("the alpha channel is not coded; the image is compressed without it")
            image = image[..., :-1]
        result = compress(image, self.codec, progress=self.progress)
        with atomic_path(out) as tmp:
            Path(tmp).write_bytes(result.data)
        m = result.metrics
        write_json(metrics_path, {"source": self.image, "file": str(out), **m})
        print(f"{out}: {m['bytes']:,} bytes, {m['bpp']:.3f} bpp, PSNR {m['psnr']:.2f} dB (encoded in "
              f"{m['encode_seconds']:.0f} s, decodes in {m['decode_seconds']:.2f} s; figures in {metrics_path})")


@dataclass
class Decompress:
    """Decode a .inrz file to an image, at its own size or any other (--scale, --size)."""

    file: tyro.conf.Positional[Path]
    """A file written by `inrkit compress`."""
    out: Optional[Path] = None
    """Output image (.png, .jpg, ...; default NAME_decoded.png beside the file, NAME_decoded_WxH.png at another
    size: never the original's name)."""
    scale: Optional[float] = None
    """Decode at this many times the original size (any positive number)."""
    size: Optional[str] = None
    """Decode at WIDTHxHEIGHT instead of --scale (a different aspect stretches the image)."""

    def run(self) -> None:
        from ..codec import decode, read_stream
        from ..errors import InrkitError
        from ..outputs import render_target
        from ..signals.image import WRITABLE, save_image
        from ..superres.upscale import target_size

        if self.scale is not None and self.size is not None:
            raise InrkitError("give --scale or --size, not both")
        if not self.file.is_file():
            raise InrkitError(f"no compressed image at {str(self.file)!r}")
        field_ = read_stream(self.file.read_bytes(), repr(str(self.file)))
        shape = (field_.height, field_.width)
        w, h = (field_.width, field_.height) if self.scale is None and self.size is None else \
            target_size(shape, self.scale, self.size)
        # never NAME.png by default: that is usually the original the file was made from
        name = f"{self.file.stem}_decoded.png" if (w, h) == (field_.width, field_.height) else \
            f"{self.file.stem}_decoded_{w}x{h}.png"
        out = render_target(self.out, self.file.parent, WRITABLE, "an image", name)
        save_image(out, decode(field_, (w, h)))
        print(f"{self.file} -> {out} ({w}x{h})")
