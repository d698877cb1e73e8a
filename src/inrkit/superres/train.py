"""Training a super-resolution prior on folders of images, and its checkpoint.

Each step takes a batch of random crops (LIIF's recipe, Sec. 4.1): a scale ``s`` uniform in
``[1, scale_max]``, a high-resolution crop of ``round(patch * s)`` pixels from a random image (flipped
and transposed at random), the same crop downscaled to ``patch x patch`` (:func:`downscale`: bicubic
with antialiasing), and ``queries`` random pixels of the high-resolution crop as targets, with the
cell of that scale. The loss is L1, Adam at ``lr`` halved at 50%, 75% and 90% of the steps (or of the
``time_budget``, if that comes first). Every
``val_every`` steps the held-out images are scored at x2 and x4 (PSNR of the prior against bicubic
upscaling, on centre crops), and the checkpoint is written.

A checkpoint is a folder: ``sr.safetensors`` (the weights), ``sr.json`` (format, config, training
settings, validation history; written last: a folder without it is incomplete) and ``sr_state.pt``
(optimiser, step, random state: for ``resume``).
"""
from __future__ import annotations

import math
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InrkitError
from ..io import atomic_path, read_json, write_json
from .model import LIIF, SRConfig

__all__ = ["SRTrainConfig", "describe_sr", "downscale", "load_sr", "read_images", "save_sr", "train_sr", "FORMAT", "INDEX",
           "WEIGHTS", "STATE"]

FORMAT, VERSION = "inrkit-sr", 1
INDEX, WEIGHTS, STATE = "sr.json", "sr.safetensors", "sr_state.pt"
VAL_SHARE = 10  # percent of the images held out for validation (by a hash of the file name)


@dataclass
class SRTrainConfig:
    """How a super-resolution prior is trained."""

    steps: int = 5000
    """Optimiser steps (each on one batch of crops)."""
    time_budget: float = 0.0
    """Stop after this many seconds of training (0: no limit); the checkpoint is written. The learning rate then
    decays by whichever comes first, steps or seconds."""
    batch_size: int = 16
    """Crops per step."""
    patch: int = 32
    """Side of each low-resolution crop, in pixels (LIIF: 48)."""
    queries: int = 1024
    """High-resolution pixels per crop that the loss is taken on (LIIF: 2304)."""
    scale_max: float = 4.0
    """Scales are drawn uniformly from [1, scale_max] (LIIF: 4)."""
    lr: float = 2e-4
    """Adam's learning rate, halved at 50%, 75% and 90% of the steps."""
    val_every: int = 250
    """Validate and write the checkpoint every this many steps."""
    seed: int = 0
    """Seed of the initialisation and of every crop."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""
    progress: bool = True
    """Show a progress bar."""


def downscale(image: torch.Tensor, size) -> torch.Tensor:
    """``(B, C, H, W)`` in [0, 1] -> ``(B, C, h, w)`` for ``size = (w, h)``: bicubic with antialiasing (what
    the benchmarks and training use to make low-resolution inputs), clipped to [0, 1].

    Examples:
        >>> downscale(torch.full((1, 3, 8, 8), 0.25), (4, 2)).shape
        torch.Size([1, 3, 2, 4])
    """
    w, h = size
    return F.interpolate(image, size=(h, w), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def upscale_bicubic(image: torch.Tensor, size) -> torch.Tensor:
    """``(B, C, h, w)`` -> ``(B, C, H, W)``, bicubic interpolation (the classical baseline), clipped."""
    w, h = size
    return F.interpolate(image, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)


def read_images(folders, min_side: int = 1) -> tuple[list[np.ndarray], list[str]]:
    """Every image file in ``folders`` (not recursive) as RGB float32 ``(H, W, 3)`` in [0, 1] (grey repeated,
    alpha composited onto white), in name order; images with a side under ``min_side`` are skipped."""
    from ..io import IMAGE_SUFFIXES
    from ..signals.image import load_image

    if not folders:
        raise InrkitError("give at least one folder of training images")
    images, names = [], []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise InrkitError(f"{str(folder)!r} is not a folder of images")
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            a = load_image(str(path)).image  # (H, W, C) float32 in [0, 1]
            images.append(_rgb(a))
            names.append(str(path))
    if not images:
        raise InrkitError(f"no images in {', '.join(map(str, folders))} (PNG, JPEG, BMP, TIFF, WebP)")
    keep = [i for i, a in enumerate(images) if min(a.shape[:2]) >= min_side]
    if not keep:
        raise InrkitError(f"every image in {', '.join(map(str, folders))} is smaller than {min_side} pixels on a "
                          "side, too small for the crops asked (a smaller --patch or --scale-max)")
    return [images[i] for i in keep], [names[i] for i in keep]


def _rgb(a: np.ndarray) -> np.ndarray:
    c = a.shape[-1]
    if c in (2, 4):  # alpha onto white
        a = a[..., :-1] * a[..., -1:] + (1 - a[..., -1:])
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return np.ascontiguousarray(a, dtype=np.float32)


def held_out(name: str) -> bool:
    """Whether an image is in the validation share (a stable hash of its file name)."""
    return zlib.crc32(Path(name).name.encode()) % 100 < VAL_SHARE


class CropSampler:
    """Batches of (low-resolution crops, query coordinates, cells, target values), from one seed."""

    def __init__(self, images: list[torch.Tensor], cfg: SRTrainConfig, generator: torch.Generator):
        self.images, self.cfg, self.gen = images, cfg, generator

    def _uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=self.gen))

    def _int(self, n: int) -> int:
        return int(torch.randint(n, (), generator=self.gen))

    def batch(self):
        c = self.cfg
        lows, coords, cells, targets = [], [], [], []
        for _ in range(c.batch_size):
            while True:
                img = self.images[self._int(len(self.images))]  # (3, H, W)
                s = self._uniform(1.0, c.scale_max)
                side = round(c.patch * s)
                if side <= min(img.shape[1:]):
                    break
            y0, x0 = self._int(img.shape[1] - side + 1), self._int(img.shape[2] - side + 1)
            crop = img[:, y0:y0 + side, x0:x0 + side]
            if self._int(2):
                crop = crop.flip(2)
            if self._int(2):
                crop = crop.flip(1)
            if self._int(2):
                crop = crop.transpose(1, 2)
            lows.append(downscale(crop[None], (c.patch, c.patch))[0])
            pick = torch.randint(side * side, (c.queries,), generator=self.gen)  # (Q,) pixels of the crop
            iy, ix = pick // side, pick % side
            coords.append(torch.stack([(ix + 0.5) / side * 2 - 1, (iy + 0.5) / side * 2 - 1], -1))  # (Q, 2)
            cells.append(torch.full((2,), 2 / side))
            targets.append(crop[:, iy, ix].T)  # (Q, 3)
        return torch.stack(lows), torch.stack(coords), torch.stack(cells), torch.stack(targets)


def _lr_factor(step: int, steps: int, seconds: float = 0.0, time_budget: float = 0.0) -> float:
    """The learning-rate factor: halved at 50%, 75% and 90% of the training, which is measured in steps, or in
    seconds of ``time_budget`` when one is set and comes first."""
    done = step / steps
    if time_budget:
        done = max(done, seconds / time_budget)
    return 0.5 ** sum(done >= f for f in (0.5, 0.75, 0.9))


def validate(model: LIIF, images: list[torch.Tensor], scales=(2, 4), crop: int = 256, device="cpu") -> dict:
    """Mean PSNR (dB, RGB) of the prior and of bicubic at each scale on centre crops of ``images``."""
    from .upscale import psnr_t, upscale_tensor

    out = {}
    model.eval()
    with torch.no_grad():
        for s in scales:
            ours, cubic = [], []
            for img in images:
                side = min(crop, *img.shape[1:]) // s * s
                y0, x0 = (img.shape[1] - side) // 2, (img.shape[2] - side) // 2
                hr = img[None, :, y0:y0 + side, x0:x0 + side].to(device)
                lr = downscale(hr, (side // s, side // s))
                ours.append(psnr_t(upscale_tensor(model, lr, (side, side)), hr))
                cubic.append(psnr_t(upscale_bicubic(lr, (side, side)), hr))
            out[f"x{s}"], out[f"x{s}_bicubic"] = float(np.mean(ours)), float(np.mean(cubic))
    model.train()
    return out


def train_sr(folders, out, config: SRConfig = SRConfig(), train: SRTrainConfig = SRTrainConfig(),
             resume: bool = False) -> dict:
    """Train a prior on the images of ``folders`` (a stable 10% held out for validation, at least one
    image); write the checkpoint to ``out``; return its index (sr.json's content)."""
    from ..progress import Bar
    from ..train import check_seed, pick_device

    check_seed(train.seed)
    for name in ("steps", "batch_size", "patch", "queries", "val_every"):
        if getattr(train, name) < 1:
            raise InrkitError(f"{name.replace('_', '-')} must be a positive number, got {getattr(train, name)}")
    if not 1 <= train.scale_max < math.inf:
        raise InrkitError(f"scale-max must be a finite number of at least 1, got {train.scale_max}")
    if not 0 < train.lr < math.inf or not 0 <= train.time_budget < math.inf:
        raise InrkitError("lr must be positive and time-budget at least 0")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InrkitError(f"output folder {str(out)!r} is a file")
    if not resume and ((out / INDEX).exists() or (out / STATE).exists()):
        raise InrkitError(f"{str(out)!r} already holds a super-resolution model; pass --resume to continue it "
                          "or choose another --out")
    arrays, names = read_images(folders, min_side=train.patch)
    val_idx = [i for i, n in enumerate(names) if held_out(n)]
    if len(arrays) > 1 and not val_idx:
        val_idx = [len(arrays) - 1]
    train_idx = [i for i in range(len(arrays)) if i not in val_idx] or val_idx
    device = pick_device(train.device)
    tensors = [torch.from_numpy(a).permute(2, 0, 1).contiguous() for a in arrays]  # (3, H, W) each
    if max(min(tensors[i].shape[1:]) for i in train_idx) < round(train.patch * train.scale_max):
        raise InrkitError(f"no training image has {round(train.patch * train.scale_max)} pixels on both sides, "
                          "which the largest crops need (a smaller --patch or --scale-max)")
    torch.manual_seed(train.seed)
    model = LIIF(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=train.lr)
    gen = torch.Generator().manual_seed(train.seed)
    step, seconds, history = 0, 0.0, []
    if resume:
        model, opt, gen, step, seconds, history = _resume(out, config, train, model, opt, gen, device)
    sampler = CropSampler([tensors[i] for i in train_idx], train, gen)
    val_images = [tensors[i] for i in val_idx]
    record = {"format": FORMAT, "version": VERSION, "config": config.to_dict(),
              "training": {k: v for k, v in asdict(train).items() if k not in ("progress", "device")},
              "images": {"train": [names[i] for i in train_idx], "validation": [names[i] for i in val_idx]}}
    bar = Bar("training a super-resolution prior", total=train.steps, enabled=train.progress)
    text, index = "", None

    def checkpoint():
        row = {"step": step, "seconds": round(seconds, 1), **validate(model, val_images, device=device),
               "loss": loss_value}
        history.append(row)
        return save_sr(out, model, {**record, "steps": step, "seconds": round(seconds, 1), "history": history},
                       {"optimizer": opt.state_dict(), "generator": gen.get_state(), "step": step,
                        "seconds": seconds, "history": history})

    loss_value = float("nan")
    try:
        while step < train.steps and not (train.time_budget and seconds >= train.time_budget):
            t0 = time.perf_counter()
            low, coords, cells, target = (t.to(device) for t in sampler.batch())
            for group in opt.param_groups:
                group["lr"] = train.lr * _lr_factor(step, train.steps, seconds, train.time_budget)
            loss = (model(low, coords, cells) - target).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                raise InrkitError(f"the loss became {loss_value} at step {step + 1}; try a lower --lr")
            step += 1
            seconds += time.perf_counter() - t0
            if step % train.val_every == 0:
                index = checkpoint()
                last = history[-1]
                text = (f"val x2 {last['x2']:.2f} dB (bicubic {last['x2_bicubic']:.2f}), "
                        f"x4 {last['x4']:.2f} ({last['x4_bicubic']:.2f})")
            bar.update(step, f"L1 {loss_value:.4f}  {text}")
        if not history or history[-1]["step"] != step:
            index = checkpoint()
    except KeyboardInterrupt:
        if step > 0:
            bar.close()
            checkpoint()
            raise KeyboardInterrupt(f"step {step} saved in {out}; --resume continues it") from None
        raise
    finally:
        bar.close()
    return index


def _resume(out: Path, config, train, model, opt, gen, device):
    if not (out / STATE).is_file():
        raise InrkitError(f"cannot resume: {str(out)!r} holds no {STATE} (no training was saved there)")
    saved, index = load_sr(out, device)
    if index["config"] != config.to_dict():
        raise InrkitError(f"cannot resume: {str(out)!r} holds another architecture ({index['config']})")
    from ..checkpoint import resume_training

    model.load_state_dict(saved.state_dict())
    step, seconds, history = resume_training(out / STATE, train.steps, opt, gen, device)
    return model, opt, gen, step, seconds, history


def save_sr(out, model: LIIF, index: dict, state: dict | None = None) -> dict:
    """Write a checkpoint: weights, then the training state, then ``sr.json`` last (each atomically)."""
    from safetensors.torch import save_file

    from .. import __version__

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / INDEX).unlink(missing_ok=True)  # incomplete until the index is back
    with atomic_path(out / WEIGHTS) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    if state is not None:
        with atomic_path(out / STATE) as tmp:
            torch.save(state, tmp)
    index = {**index, "inrkit_version": __version__}
    write_json(out / INDEX, index)
    return index


def load_sr(folder, device="cpu") -> tuple[LIIF, dict]:
    """``(model, index)`` of the super-resolution checkpoint in ``folder``."""
    from safetensors.torch import load_file

    folder = Path(folder)
    if not folder.exists():
        raise InrkitError(f"super-resolution model {str(folder)!r} does not exist")
    if not (folder / INDEX).is_file():
        other = ""
        for name, what in (("field.json", "a fitted field"), ("meta.json", "a meta-learned initialisation"),
                           ("functa.json", "a functa"), ("fieldset.json", "a fieldset")):
            if (folder / name).is_file():
                other = f" (it holds {what}, not a super-resolution model from `inrkit sr train`)"
        raise InrkitError(f"{str(folder)!r} holds no super-resolution model ({INDEX}){other}")
    index = read_json(folder / INDEX, "super-resolution model index")
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise InrkitError(f"{str(folder / INDEX)!r} is not an inrkit super-resolution model")
    if index.get("version", 0) > VERSION:
        raise InrkitError(f"{str(folder)!r} was written by a newer inrkit (format {index['version']}); upgrade")
    try:
        model = LIIF(SRConfig(**index["config"]))
        model.load_state_dict(load_file(str(folder / WEIGHTS)))
    except InrkitError:
        raise
    except Exception as e:
        raise InrkitError(f"the weights in {str(folder)!r} are missing or corrupt ({type(e).__name__})") from None
    return model.to(device).eval(), index


def describe_sr(folder) -> list[tuple[str, str]]:
    """The rows ``inrkit info`` shows for a super-resolution model."""
    model, index = load_sr(folder)
    c, t = index["config"], index.get("training", {})
    rows = [("model", f"LIIF: encoder {c['blocks']} residual blocks of {c['channels']} channels, decoder "
                      f"{c['layers']} layers of {c['hidden']}"),
            ("parameters", f"{sum(p.numel() for p in model.parameters()):,}"),
            ("training", f"{index.get('steps', '?')} steps in {index.get('seconds', 0):.0f} s, crops of "
                         f"{t.get('patch', '?')} px at scales 1 to {t.get('scale_max', '?')}"),
            ("images", f"{len(index['images']['train'])} for training, {len(index['images']['validation'])} held out")]
    if index.get("history"):
        last = index["history"][-1]
        rows.append(("validation", f"x2 {last['x2']:.2f} dB (bicubic {last['x2_bicubic']:.2f}), "
                                   f"x4 {last['x4']:.2f} dB (bicubic {last['x4_bicubic']:.2f})"))
    rows.append(("inrkit", index.get("inrkit_version", "?")))
    return rows
