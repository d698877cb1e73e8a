"""``inrkit fit-many``: a dataset of images fitted as one batched model, written as a fieldset."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import tyro

__all__ = ["FitMany"]


@dataclass
class FitMany:
    """Fit one field per image of a dataset as one batched model; write a fieldset (torchrun-ready)."""

    dataset: tyro.conf.Positional[str] = "sample:shapes"
    """A folder of images, IDX files (Fashion-MNIST's folder), a .npy array (N, H, W[, C]) or sample:shapes."""
    out: Path = Path("runs/fieldset")
    """Output folder: fieldset.safetensors (the stacked weights) and fieldset.json (the index, per-item PSNR)."""
    preset: str = "siren"
    """Representation and optimiser, from `inrkit presets` (image presets)."""
    width: Optional[int] = None
    """Hidden width of the preset's network (default: the preset's; small fields: e.g. 32)."""
    depth: Optional[int] = None
    """Hidden layers of the preset's network (default: the preset's)."""
    steps: int = 500
    """Full-batch steps per field."""
    lr: Optional[float] = None
    """Learning rate (default: the preset's)."""
    size: Optional[str] = None
    """Resize every image to WIDTHxHEIGHT (needed when the images differ in size)."""
    split: str = "train"
    """train, test or all (IDX folders: their own split; folders: a stable 90/10 split by name group)."""
    limit: int = 0
    """Fit only the first N images (0: all)."""
    fields_per_batch: int = 0
    """Fields fitted at once (0: as many as about 1 GiB of activations holds)."""
    seed: int = 0
    """Field i starts from seed SEED + i."""
    device: str = "auto"
    """auto, cpu or cuda."""
    progress: bool = True
    """Show progress (rank 0 under torchrun)."""

    def run(self) -> None:
        from ..fieldsets import fit_many, load_dataset
        from ..signals.image import parse_size

        data = load_dataset(self.dataset, parse_size(self.size) if self.size else None, self.split, self.limit)
        index = fit_many(data, self.preset, self.steps, self.out, self.width, self.depth, self.lr, self.seed,
                         self.device, self.fields_per_batch, self.progress)
        if index:  # rank 0
            procs = f" on {index['processes']} processes" if index["processes"] > 1 else ""
            print(f"{index['count']} fields ({index['preset']}) on {self.dataset}: mean PSNR {index['mean_psnr']:.2f} dB "
                  f"(worst {index['min_psnr']:.2f}), {self.steps} steps in {index['seconds']:.1f} s{procs} -> {self.out}")
