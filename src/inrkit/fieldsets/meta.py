"""Meta-learned initialisations: a prior over a dataset's signals as the starting weights of a field.

A field fitted from random weights learns nothing from the signals fitted before it. Meta-learning
finds weights θ from which a few steps of a fixed inner optimiser fit any signal of the dataset
(Tancik et al., "Learned Initializations for Optimizing Coordinate-Based Neural Representations",
CVPR 2021, Sec. 3; Sitzmann et al., MetaSDF, 2020). The inner optimiser is plain SGD at ``inner_lr``
for ``inner_steps`` steps on a signal's full-batch MSE, the loss :func:`inrkit.fit` minimises; the
outer optimiser is Adam on θ. Methods:

- ``maml`` (Finn et al. 2017): the exact meta-gradient, second order, by autograd through the
  unrolled inner loop.
- ``fomaml``: first-order MAML, the loss gradient at the adapted weights, ``mean_i ∇L_i(φ_i)``,
  taken as the meta-gradient (no Hessian terms; the inner loop keeps no graph).
- ``metasgd`` (Li et al., "Meta-SGD", 2017): MAML that also learns one inner learning rate per
  parameter entry (initialised to ``inner_lr``), so the test-time optimiser is learned too.
- ``reptile`` (Nichol et al., "On First-Order Meta-Learning Algorithms", 2018): the outer step
  moves θ toward the adapted weights; its meta-gradient is ``θ - mean_i φ_i``, and an SGD step of
  size ε on it is Reptile's ``θ + ε mean_i (φ_i - θ)``.

Inner loops run for a whole batch of signals at once with ``torch.func`` (``vmap`` over signals of
``grad`` of a ``functional_call``), never a Python loop over signals.

A *meta checkpoint* is a folder: ``meta.safetensors`` (θ by parameter name, and metasgd's rates as
``rate.NAME``), ``meta.json`` (what it is and how it was trained; written last, so a folder without
it is not a complete checkpoint), ``meta_state.pt`` (outer optimiser, step, sampler: for
``resume``) and ``history.csv`` (validation PSNR after ``inner_steps`` steps).

Examples:
    >>> from inrkit.fields import FieldConfig
    >>> from inrkit.networks import SirenConfig
    >>> cfg = FieldConfig(network=SirenConfig(width=8, depth=2))
    >>> images = np.random.default_rng(0).uniform(0, 1, (6, 4, 4, 1)).astype(np.float32)
    >>> init = meta_init(cfg, (4, 4, 1), MetaConfig(method="fomaml", inner_steps=2))
    >>> len(meta_gradient(init, images[:3])), init.inner_steps
    (6, 2)
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.func import functional_call, grad, vmap

from ..checkpoint import resume_training
from ..errors import InrkitError
from ..grids import grid_coordinates
from .batched import build_field
from .distributed import average, barrier, context as distributed_context
from .meta_checkpoint import (INDEX, STATE, MetaInit, _describe, _save, field_from_meta, load_meta_init,
                              resume_from_meta)

__all__ = ["METHODS", "MetaConfig", "MetaInit", "adapt", "adapt_params", "load_meta_init", "meta_gradient",
           "meta_init", "meta_train", "meta_train_dataset", "field_from_meta", "preset_field", "psnr_after",
           "resume_from_meta"]

METHODS = ("maml", "fomaml", "metasgd", "reptile")


@dataclass
class MetaConfig:
    """How to meta-train: the method, its inner loop and the outer loop."""

    method: str = "reptile"
    """maml, fomaml, metasgd or reptile (see the module's docstring; reptile measured best, BENCHMARKS.md)."""
    inner_steps: int = 3
    """K: SGD steps of the inner loop (and of the test-time fit it prepares for)."""
    inner_lr: float = 0.1
    """α: the inner SGD learning rate (metasgd's starting rates). learnit's 1e-2 suits 178x178 CelebA; on
    28x28 images a 64-wide SIREN takes 0.1 (plain SGD from the standard init diverges at 1)."""
    outer_lr: float = 1e-3
    """Adam's learning rate on θ (and metasgd's rates)."""
    steps: int = 1000
    """Outer steps (each on one batch of signals)."""
    batch_size: int = 16
    """Signals per outer step."""
    val_every: int = 100
    """Validate (mean PSNR of the validation signals after K inner steps) and checkpoint every this many steps."""
    seed: int = 0
    """Seed of θ's initialisation and of the batches."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""
    progress: bool = True
    """Show a progress bar (plain lines off a terminal)."""


def meta_init(cfg, shape, config: MetaConfig = MetaConfig(), preset: str | None = None) -> MetaInit:
    """θ of ``cfg`` for signals of ``shape = (H, W, C)`` at its standard initialisation (from
    ``config.seed``), before any meta-training; metasgd's rates start at ``config.inner_lr``."""
    _check_config(config)
    h, w, c = (int(s) for s in shape)
    f = build_field(cfg, 2, c, config.seed)
    params = {k: v.detach().clone() for k, v in f.named_parameters()}
    rates = {k: torch.full_like(v, config.inner_lr) for k, v in params.items()} if config.method == "metasgd" else None
    return MetaInit(cfg, params, rates, config.method, config.inner_steps, config.inner_lr, (h, w, c),
                    {"preset": preset})


def _check_config(c: MetaConfig) -> None:
    if c.method not in METHODS:
        raise InrkitError(f"unknown meta-learning method {c.method!r}; expected {', '.join(METHODS)}")
    for name in ("inner_steps", "steps", "batch_size", "val_every"):
        if getattr(c, name) < 1:
            raise InrkitError(f"{name.replace('_', '-')} must be a positive number, got {getattr(c, name)}")
    for name in ("inner_lr", "outer_lr"):
        if not 0 < getattr(c, name) < math.inf:
            raise InrkitError(f"{name.replace('_', '-')} must be a positive finite number, got {getattr(c, name)}")


# ---------------------------------------------------------------- the inner loop, batched over signals


def _targets(images, shape=None) -> torch.Tensor:
    """``(N, H, W, C)`` images (array or tensor, one ``(H, W, C)`` image allowed) as ``(N, H*W, C)`` float32."""
    t = torch.as_tensor(np.asarray(images, dtype=np.float32) if not torch.is_tensor(images) else images)
    if t.dim() == 3:
        t = t[None]
    if t.dim() != 4:
        raise InrkitError(f"expected images (N, H, W, C), got shape {tuple(t.shape)}")
    if shape is not None and tuple(t.shape[1:]) != tuple(shape):
        h, w, c = shape
        raise InrkitError(f"the images are {t.shape[2]}x{t.shape[1]} with {t.shape[3]} channel(s); this meta "
                          f"initialisation is for {w}x{h} with {c}")
    return t.reshape(t.shape[0], -1, t.shape[3]).float()  # (N, P, C)


def _coords(shape, device=None) -> torch.Tensor:
    """Pixel centres in [-1, 1], ``(H*W, 2)``, in the order of the image signal's ``train_data``."""
    return grid_coordinates(tuple(shape[:2]), device=device).reshape(-1, 2)  # (P, 2)


class _Inner:
    """The field as a function of its parameters, and the inner loop on one signal (vmapped by callers)."""

    def __init__(self, init: MetaInit, device):
        f = init.config.build(init.in_dim, init.out_dim).to(device)
        self.buffers = {k: v for k, v in f.named_buffers()}
        self.template = f.to("meta")

    def loss(self, p: dict, coords: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean squared error of the field with parameters ``p`` at ``coords (P, 2)`` against ``y (P, C)``."""
        pred = functional_call(self.template, (p, self.buffers), (coords,))  # (P, C)
        return ((pred - y) ** 2).mean()

    def run(self, p: dict, lrs: dict, coords, y, steps: int, first_order: bool, record=None):
        """``steps`` SGD steps from ``p``: ``φ ← φ - lr ⊙ ∇L(φ)``; ``record`` collects the loss before each
        step and after the last (list of scalars). Differentiable in ``p`` and ``lrs`` unless ``first_order``."""
        g_fn = grad(self.loss, has_aux=False)
        for _ in range(steps):
            if record is not None:
                record.append(self.loss(p, coords, y))
            g = g_fn(p, coords, y)
            if first_order:
                g = {k: v.detach() for k, v in g.items()}
            p = {k: p[k] - lrs[k] * g[k] for k in p}
        if record is not None:
            record.append(self.loss(p, coords, y))
        return p


def adapt_params(init: MetaInit, images, steps: int | None = None, device=None, first_order: bool = True):
    """The test-time procedure on a batch: ``steps`` (default ``init.inner_steps``) of the meta-learned
    inner optimiser from θ on each image, all at once. Returns stacked parameters ``{name: (N, ...)}``."""
    steps = init.inner_steps if steps is None else steps
    device = torch.device(device or "cpu")
    y = _targets(images, init.shape).to(device)  # (N, P, C)
    coords = _coords(init.shape, device)
    inner = _Inner(init, device)
    theta = {k: v.to(device) for k, v in init.params.items()}
    lrs = {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in init.lrs().items()}
    with torch.no_grad() if first_order else torch.enable_grad():
        out = vmap(lambda yi: inner.run(theta, lrs, coords, yi, steps, first_order), in_dims=0)(y)
    return out


def adapt(init: MetaInit, data, steps: int | None = None, device=None):
    """Fit ``data`` from the meta-learned initialisation with its own inner optimiser (SGD at the
    meta-learned rates) for ``steps`` steps (default: the ``inner_steps`` it was trained for).

    ``data``: one image ``(H, W, C)`` (array in [0, 1], or an image signal) -> a :class:`inrkit.Field`;
    images ``(N, H, W, C)`` (or a :class:`~inrkit.fieldsets.Dataset`) -> a list of fields.

    Examples:
        >>> from inrkit.fields import FieldConfig
        >>> from inrkit.networks import SirenConfig
        >>> init = meta_init(FieldConfig(network=SirenConfig(width=8, depth=2)), (4, 4, 1))
        >>> image = np.full((4, 4, 1), 0.5, np.float32)
        >>> [round(float(adapt(init, image, steps=s)(torch.zeros(1, 2)).detach()), 2) for s in (0, 50)]   # the centre
        [0.25, 0.5]
    """
    one = False
    if hasattr(data, "train_data") and hasattr(data, "image"):  # an image signal
        data, one = data.image, True
    elif hasattr(data, "images"):
        data = data.images
    a = np.asarray(data, dtype=np.float32)
    if a.ndim == 3:
        a, one = a[None], True
    stacked = adapt_params(init, a, steps, device)
    fields = []
    for i in range(a.shape[0]):
        f = init.config.build(init.in_dim, init.out_dim)
        with torch.no_grad():
            for name, p in f.named_parameters():
                p.copy_(stacked[name][i].cpu())
        fields.append(f)
    return fields[0] if one else fields


def psnr_after(init: MetaInit, images, steps=None, device=None, chunk: int = 64) -> dict[int, float]:
    """Mean PSNR (dB, predictions clipped to [0, 1]) of ``images`` after each number of inner steps in
    ``steps`` (default ``(0, init.inner_steps)``), from θ with the meta-learned inner optimiser."""
    steps = sorted(set(steps if steps is not None else (0, init.inner_steps)))
    device = torch.device(device or "cpu")
    y_all = _targets(images, init.shape)
    coords, inner = _coords(init.shape, device), _Inner(init, device)
    theta = {k: v.to(device) for k, v in init.params.items()}
    lrs = {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in init.lrs().items()}
    sums = {s: 0.0 for s in steps}

    def curve(yi):  # the clipped-prediction MSE after each step count
        p, out, done = theta, [], 0
        for s in steps:
            p = inner.run(p, lrs, coords, yi, s - done, True)
            done = s
            pred = functional_call(inner.template, (p, inner.buffers), (coords,)).clamp(0, 1)
            out.append(((pred - yi) ** 2).mean())
        return torch.stack(out)

    with torch.no_grad():
        for i in range(0, len(y_all), chunk):
            mse = vmap(curve)(y_all[i:i + chunk].to(device))  # (n, len(steps))
            psnr = -10 * torch.log10(mse.clamp_min(1e-10))
            for j, s in enumerate(steps):
                sums[s] += float(psnr[:, j].sum())
    return {s: sums[s] / len(y_all) for s in steps}


def meta_gradient(init: MetaInit, images, device=None) -> dict:
    """The meta-gradient of one batch of ``images (B, H, W, C)`` at ``init``'s θ (and rates), by its
    method: ``{name: tensor}`` for every parameter, plus ``rate.NAME`` entries for metasgd. Returns also
    nothing else; :func:`meta_train` hands it to Adam. The outer loss is the mean over signals of the
    MSE after K inner steps."""
    grads, _ = _meta_gradient(init, images, device)
    return grads


def _meta_gradient(init: MetaInit, images, device=None):
    device = torch.device(device or "cpu")
    y = _targets(images, init.shape).to(device)  # (B, P, C)
    coords, inner = _coords(init.shape, device), _Inner(init, device)
    theta = {k: v.detach().to(device) for k, v in init.params.items()}
    k = init.inner_steps
    if init.method in ("fomaml", "reptile"):
        lrs = init.lrs()
        phi = vmap(lambda yi: inner.run(theta, lrs, coords, yi, k, True), in_dims=0)(y)  # {name: (B, ...)}
        phi = {n: v.detach() for n, v in phi.items()}
        losses = vmap(inner.loss, in_dims=(0, None, 0))(phi, coords, y)  # (B,)
        if init.method == "reptile":
            return {n: theta[n] - phi[n].mean(0) for n in theta}, float(losses.mean())
        g = vmap(grad(inner.loss), in_dims=(0, None, 0))(phi, coords, y)
        return {n: v.mean(0) for n, v in g.items()}, float(losses.mean())
    # maml, metasgd: autograd through the unrolled inner loop
    theta = {n: v.requires_grad_(True) for n, v in theta.items()}
    rates = None
    if init.method == "metasgd":
        rates = {n: v.detach().to(device).requires_grad_(True) for n, v in init.rates.items()}
    lrs = rates if rates is not None else init.lrs()
    phi = vmap(lambda yi: inner.run(theta, lrs, coords, yi, k, False), in_dims=0)(y)
    loss = vmap(inner.loss, in_dims=(0, None, 0))(phi, coords, y).mean()
    wrt = [*theta.values(), *(rates.values() if rates else [])]
    gs = torch.autograd.grad(loss, wrt)
    out = dict(zip(theta, gs[:len(theta)]))
    if rates:
        out.update({f"rate.{n}": g for n, g in zip(rates, gs[len(theta):])})
    return out, float(loss.detach())


# ---------------------------------------------------------------- meta-training


def meta_train(images, cfg, out, config: MetaConfig = MetaConfig(), validation=None, preset: str | None = None,
               resume: bool = False, source: dict | None = None) -> MetaInit:
    """Meta-train θ of the field config ``cfg`` on ``images`` (``(N, H, W, C)`` in [0, 1], or a
    :class:`~inrkit.fieldsets.Dataset`) with ``config``; validate on ``validation`` (images of the same
    shape, held out) every ``config.val_every`` steps; write a meta checkpoint to ``out`` (with
    ``resume``, continue the one there up to ``config.steps``). ``preset`` and ``source`` (the
    dataset's description) are recorded in meta.json. Returns the :class:`MetaInit`.

    Examples:
        >>> from inrkit.fields import FieldConfig
        >>> from inrkit.networks import SirenConfig
        >>> import tempfile
        >>> images = np.random.default_rng(0).uniform(0, 1, (8, 4, 4, 1)).astype(np.float32)
        >>> out = Path(tempfile.mkdtemp()) / "meta"
        >>> init = meta_train(images, FieldConfig(network=SirenConfig(width=8, depth=2)), out,
        ...                   MetaConfig(steps=4, batch_size=4, val_every=2, progress=False), images[:2])
        >>> sorted(p.name for p in out.iterdir()), load_meta_init(out).info["outer_steps"]
        (['history.csv', 'meta.json', 'meta.safetensors', 'meta_state.pt'], 4)
    """
    from ..progress import Bar
    from ..train import pick_device

    _check_config(config)
    source = dict(source or {})
    if hasattr(images, "images"):
        source.setdefault("source", images.source)
        images = images.images
    if hasattr(validation, "images"):
        validation = validation.images
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or len(images) == 0:
        raise InrkitError(f"meta-training needs images (N, H, W, C), got shape {images.shape}")
    shape = tuple(int(s) for s in images.shape[1:])
    if validation is not None and len(validation) == 0:
        raise InrkitError("the validation set is empty; give validation images or none")
    if validation is not None and tuple(np.shape(validation)[1:]) != shape:
        raise InrkitError(f"validation images are {np.shape(validation)[1:]}, not {shape} like the training images")
    device = pick_device(config.device)
    rank, world = distributed_context(device)  # under torchrun: each process takes its share of every batch
    batch = min(config.batch_size, len(images))
    if batch % world:
        raise InrkitError(f"a batch of {batch} images does not split over {world} processes; give a multiple")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InrkitError(f"output folder {str(out)!r} is a file")
    if resume:
        if not (out / STATE).exists():
            raise InrkitError(f"cannot resume: {str(out)!r} holds no {STATE} (no meta-training was saved there)")
        init = load_meta_init(out)
        if init.method != config.method or init.inner_steps != config.inner_steps or init.shape != shape:
            raise InrkitError(f"cannot resume: {str(out)!r} holds {init.method} with {init.inner_steps} inner steps "
                              f"on {init.shape}, not {config.method} with {config.inner_steps} on {shape}")
        if init.config.to_dict() != cfg.to_dict():
            raise InrkitError(f"cannot resume: {str(out)!r} holds another architecture "
                              f"({_describe(init.config)}, not {_describe(cfg)})")
    else:
        if (out / INDEX).exists() or (out / STATE).exists():
            raise InrkitError(f"{str(out)!r} already holds a meta checkpoint; pass --resume to continue it or "
                              "choose another --out")
        init = meta_init(cfg, shape, config, preset)
    out.mkdir(parents=True, exist_ok=True)
    for t in [*init.params.values(), *(init.rates or {}).values()]:
        t.data = t.data.to(device)
        t.requires_grad_(False)
    leaves = {**init.params, **{f"rate.{n}": v for n, v in (init.rates or {}).items()}}
    opt = torch.optim.Adam(leaves.values(), lr=config.outer_lr)
    gen = torch.Generator().manual_seed(config.seed)
    step, seconds, history = 0, 0.0, []
    if resume:
        step, seconds, history = resume_training(out / STATE, config.steps, opt, gen, device)
    y_train = torch.from_numpy(images)
    record = dict(preset=preset, source=source, config=config, shape=shape, n_train=len(images), processes=world)

    def validate() -> dict:
        row = {"step": step, "seconds": round(seconds, 3)}
        if validation is not None and rank == 0:
            curve = psnr_after(init, validation, (0, init.inner_steps), device)
            row.update(psnr_0=round(curve[0], 4), psnr=round(curve[init.inner_steps], 4))
        return row

    bar = Bar("meta-training", config.steps, enabled=config.progress and rank == 0)
    text, loss = "", float("nan")
    try:
        if not history:
            history.append(validate())
        while step < config.steps:
            t0 = time.perf_counter()
            idx = torch.randperm(len(images), generator=gen)[:batch]  # (B,), the same on every rank
            grads, loss = _meta_gradient(init, y_train[idx[rank::world]], device)  # this process's share
            if world > 1:  # only the meta-gradients (and the loss, for the history) cross processes
                grads = {n: grads[n].contiguous() for n in leaves}
                shared = [*grads.values(), torch.tensor([loss], dtype=torch.float64, device=device)]
                average(shared, world, "averaging the meta-gradients")
                loss = float(shared[-1])
            if not math.isfinite(loss):
                raise InrkitError(f"the meta-training loss became {loss} at step {step + 1}; try a lower "
                                  "--outer-lr or --inner-lr")
            for name, t in leaves.items():
                t.grad = grads[name]
            opt.step()
            step += 1
            seconds += time.perf_counter() - t0
            if rank == 0 and (step % config.val_every == 0 or step == config.steps):
                history.append({**validate(), "loss": loss})
                _save(out, init, opt, gen, step, seconds, history, record)
            last = history[-1]
            if "psnr" in last:
                text = f"val PSNR {last['psnr']:.2f} dB after {init.inner_steps} steps ({last['psnr_0']:.2f} at 0)"
            bar.update(step, f"step {step}/{config.steps}  {text}  loss {loss:.2e}")
    except KeyboardInterrupt:
        if step > 0 and rank == 0:
            bar.close()
            _save(out, init, opt, gen, step, seconds, history, record)
            raise KeyboardInterrupt(f"step {step} saved in {out}; --resume continues it") from None
        raise
    finally:
        bar.close()
    if rank != 0:
        barrier(world, "rank 0 wrote the meta checkpoint", written=None)
        return None
    barrier(world, "the meta checkpoint was written", written=True)
    return load_meta_init(out)


def preset_field(preset: str, width: int | None = None, depth: int | None = None):
    """The field config of ``preset`` (for images), its network's ``width`` and ``depth`` replaced where given.

    Examples:
        >>> preset_field("siren", 64, 3).network
        SirenConfig(width=64, depth=3, first_omega=30.0, hidden_omega=30.0)
    """
    from ..fields import FieldConfig
    from ..presets import get_preset

    p = get_preset(preset, "image")
    if not isinstance(p.field, FieldConfig) or (p.kinds and "image" not in p.kinds):
        raise InrkitError(f"preset {preset!r} is not for images; meta-training needs an image preset (e.g. siren)")
    cfg = FieldConfig.from_dict(p.field.to_dict())
    for name, value in (("width", width), ("depth", depth)):
        if value is None:
            continue
        if not hasattr(cfg.network, name):
            raise InrkitError(f"preset {preset!r}'s network ({cfg.network.kind}) has no {name} to set")
        if value < 1:
            raise InrkitError(f"{name} must be a positive number, got {value}")
        setattr(cfg.network, name, int(value))
    return cfg


def meta_train_dataset(source, config: MetaConfig = MetaConfig(), out="runs/meta", preset: str = "siren",
                       width: int | None = None, depth: int | None = None, size=None, split: str = "train",
                       limit: int = 0, val_images: int = 100, resume: bool = False) -> MetaInit:
    """:func:`meta_train` on the dataset ``source`` (:func:`~inrkit.fieldsets.load_dataset`'s sources) with
    the field of ``preset`` (:func:`preset_field`): meta-trains on its ``split`` part (at most ``limit``
    images) and validates on ``val_images`` of its test split (or, when ``split`` is not train, on the
    last ``val_images`` of it, held out). ``size``: ``(W, H)`` or ``"WxH"``. What ``inrkit meta-train`` runs."""
    from ..signals.image import parse_size
    from .datasets import load_dataset

    if val_images < 0:
        raise InrkitError(f"val-images must be a number of images (0: no validation), got {val_images}")
    size = parse_size(size) if isinstance(size, str) else size
    cfg = preset_field(preset, width, depth)
    data = load_dataset(source, size=size, split=split, limit=limit)
    images, validation = data.images, None
    if val_images and split == "train":
        validation = load_dataset(source, size=size, split="test", limit=val_images).images
    elif val_images:
        if len(images) <= val_images:
            raise InrkitError(f"dataset {str(source)!r} has {len(images)} images in its {split} split: too few to "
                              f"hold out {val_images} for validation (give fewer --val-images)")
        images, validation = images[:-val_images], images[-val_images:]
    record = {"source": str(source), "split": split, "size": list(size) if size else None, "limit": limit}
    return meta_train(images, cfg, out, config, validation, preset=preset, resume=resume, source=record)
