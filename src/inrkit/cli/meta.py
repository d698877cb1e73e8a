"""``inrkit meta-train``: a meta-learned initialisation from a dataset of images."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import tyro

__all__ = ["MetaTrain"]


@dataclass
class MetaTrain:
    """Meta-learn an initialisation (MAML, first-order MAML, Meta-SGD or Reptile) that fits a dataset's images in a few steps."""

    dataset: tyro.conf.Positional[str]
    """Folder of images, Fashion-MNIST's IDX folder, a .npy array, or sample:shapes."""
    method: str = "reptile"
    """reptile (measured best on Fashion-MNIST), maml (second order), fomaml (first order) or metasgd (learned
    per-parameter inner rates)."""
    inner_steps: int = 3
    """SGD steps of the inner loop: the steps a fit from the initialisation is trained to need."""
    inner_lr: Optional[float] = None
    """Learning rate of the inner SGD (metasgd and functa: its starting value; default 0.1, functa 0.01)."""
    modulations: str = "none"
    """none: meta-learn the weights (--method); shift: a functa, a shared SIREN whose layers are shifted by a
    per-signal latent, meta-learned so that --inner-steps on the latent alone fit a signal (then `inrkit encode`)."""
    latent_dim: int = 128
    """--modulations shift: size of each signal's latent."""
    outer_lr: float = 1e-3
    """Adam's learning rate on the initialisation."""
    preset: str = "siren"
    """The field's recipe, from `inrkit presets` (its encoding and network)."""
    width: Optional[int] = 64
    """Network width, replacing the preset's (None: the preset's)."""
    depth: Optional[int] = 3
    """Network depth, replacing the preset's (None: the preset's)."""
    size: Optional[str] = None
    """Resize the images to WIDTHxHEIGHT (needed when they differ in size)."""
    split: str = "train"
    """Part of the dataset to meta-train on: train, test or all; validation uses --val-images of the test split."""
    limit: int = 0
    """Meta-train on at most this many images (0: all of the split)."""
    val_images: int = 100
    """Held-out test-split images scored (PSNR after --inner-steps) at each validation."""
    steps: int = 1000
    """Outer steps (each on one batch of images)."""
    batch_size: int = 16
    """Images per outer step."""
    val_every: int = 100
    """Validate and checkpoint every this many outer steps."""
    out: Path = Path("runs/meta")
    """Output folder: meta.safetensors, meta.json, meta_state.pt (for --resume) and history.csv; with
    --modulations shift, functa.safetensors, functa.json and functa_state.pt."""
    resume: bool = False
    """Continue the meta-training in --out up to --steps."""
    seed: int = 0
    """Seed of the initialisation and of the batches."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""

    def run(self) -> None:
        from ..errors import InrkitError
        from ..fieldsets.meta import MetaConfig, meta_train_dataset

        if self.modulations == "shift":
            return self._functa()
        if self.modulations != "none":
            raise InrkitError(f"unknown modulations {self.modulations!r}; expected none or shift")
        config = MetaConfig(method=self.method, inner_steps=self.inner_steps,
                            inner_lr=0.1 if self.inner_lr is None else self.inner_lr,
                            outer_lr=self.outer_lr, steps=self.steps, batch_size=self.batch_size,
                            val_every=self.val_every, seed=self.seed, device=self.device)
        init = meta_train_dataset(self.dataset, config, self.out, preset=self.preset, width=self.width,
                                  depth=self.depth, size=self.size, split=self.split, limit=self.limit,
                                  val_images=self.val_images, resume=self.resume)
        if init is None:  # not rank 0 under torchrun: rank 0 reports
            return
        last = init.info["history"][-1]
        score = (f": validation PSNR {last['psnr']:.2f} dB after {init.inner_steps} steps "
                 f"({last['psnr_0']:.2f} dB at 0)") if "psnr" in last else ""
        print(f"{init.method} on {self.dataset}, {init.info['outer_steps']} outer steps in "
              f"{init.info['seconds']:.1f} s{score} -> {self.out}")

    def _functa(self) -> None:
        from ..errors import InrkitError
        from ..fieldsets import load_dataset
        from ..fieldsets.functa import FunctaConfig, train_functa
        from ..signals.image import parse_size

        if self.preset != "siren":
            raise InrkitError(f"--modulations shift modulates a SIREN; drop --preset {self.preset}")
        size = parse_size(self.size) if self.size else None
        train = load_dataset(self.dataset, size, self.split, self.limit)
        val = load_dataset(self.dataset, size, "test", self.val_images)
        config = FunctaConfig(width=self.width or 128, depth=self.depth or 4, latent_dim=self.latent_dim)
        meta = train_functa(train, val, self.out, config, self.inner_steps, self.steps, self.batch_size,
                            self.outer_lr, 0.01 if self.inner_lr is None else self.inner_lr, self.val_every,
                            self.seed, self.device, resume=self.resume)
        if meta:  # rank 0
            print(f"functa ({config.latent_dim}-d latents) on {self.dataset}, {self.steps} outer steps in "
                  f"{meta['seconds']:.1f} s: validation PSNR {meta['val_psnr']:.2f} dB after {self.inner_steps} "
                  f"steps -> {self.out}")
