"""Functa: one shared SIREN, a latent vector per signal (Dupont et al., "From data to functa", ICML 2022).

The network is a SIREN whose hidden layers are shifted per signal: layer ``l`` computes
``sin(ω0 (W_l h + b_l + s_l))`` with the shifts ``s = A z + c`` a linear map of the signal's latent ``z``
(the paper's shift modulations, Sec. 3). Training is meta-learning (the paper's Sec. 3.2, as COIN++):
every signal's latent starts at zero and takes ``inner_steps`` steps of gradient descent with learned
per-dimension rates ``α`` (Meta-SGD); the outer loop updates the shared weights, ``A``, ``c`` and ``α``
through those steps (second order; cheap, since only the latent moves). Encoding a new signal is the
same few steps: its latent is the signal, and the field renders at any resolution.

A functa checkpoint folder holds ``functa.safetensors`` (the shared weights and ``α``),
``functa.json`` (the architecture, the training settings and history; written last) and
``functa_state.pt`` (the optimiser and batch sampler, for ``resume``). ``encode`` writes a fieldset
of latents (``fieldset.json`` of type ``latents``) that :func:`inrkit.fieldsets.load_fieldset` reads:
its ``field(i)`` is signal ``i``'s field.

Examples:
    >>> model = ModulatedSiren(2, 3, width=16, depth=2, latent_dim=4)
    >>> model(torch.zeros(5, 2), torch.zeros(2, 4)).shape       # (signals, points, channels)
    torch.Size([2, 5, 3])
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import InrkitError
from ..io import atomic_path, read_json, write_json
from .distributed import all_reduce_mean, barrier, context as distributed_context, gather

__all__ = ["FunctaConfig", "ModulatedSiren", "LatentField", "encode", "interpolate", "load_functa",
           "meta_loss", "train_functa",
           "FUNCTA", "FUNCTA_WEIGHTS"]

FUNCTA, FUNCTA_WEIGHTS, STATE = "functa.json", "functa.safetensors", "functa_state.pt"
FORMAT, VERSION = "inrkit-functa", 1


@dataclass
class FunctaConfig:
    """The shared network of a functa."""

    width: int = 128
    """Hidden width of the SIREN."""
    depth: int = 4
    """Sine layers (each shifted by the latent)."""
    latent_dim: int = 128
    """Size of each signal's latent vector."""
    omega: float = 30.0
    """ω0 of every sine layer."""


class ModulatedSiren(nn.Module):
    """A SIREN with per-signal shift modulations: ``forward(x (P, in_dim), z (B, latent_dim)) -> (B, P, out_dim)``
    (or ``z (latent_dim,)`` -> ``(P, out_dim)``). Initialised as SIREN (Sitzmann et al. 2020, Sec. 3.2):
    first layer U(±1/n), the others U(±√(6/n)/ω0); the modulation map is PyTorch's default linear layer
    with a zero bias (a zero map would give the latents no gradient, and itself none through them)."""

    def __init__(self, in_dim: int, out_dim: int, width: int = 128, depth: int = 4, latent_dim: int = 128,
                 omega: float = 30.0):
        super().__init__()
        self.in_dim, self.out_dim, self.width, self.depth, self.latent_dim, self.omega = \
            in_dim, out_dim, width, depth, latent_dim, omega
        self.layers = nn.ModuleList(nn.Linear(in_dim if i == 0 else width, width) for i in range(depth))
        self.last = nn.Linear(width, out_dim)
        self.modulation = nn.Linear(latent_dim, width * depth)
        with torch.no_grad():
            for i, layer in enumerate([*self.layers, self.last]):
                n = layer.in_features
                bound = 1 / n if i == 0 else math.sqrt(6 / n) / omega
                layer.weight.uniform_(-bound, bound)
                layer.bias.uniform_(-bound, bound)
            self.modulation.bias.zero_()

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        single = z.dim() == 1
        z = z[None] if single else z  # (B, D)
        shifts = self.modulation(z).view(len(z), self.depth, 1, self.width)  # (B, L, 1, W)
        h = x[None]  # (1, P, in)
        for i, layer in enumerate(self.layers):
            h = torch.sin(self.omega * (layer(h) + shifts[:, i]))  # (B, P, W)
        out = self.last(h) + 0.5  # (B, P, out): values around the middle of [0, 1] from the start
        return out[0] if single else out


class LatentField(nn.Module):
    """The field of one latent: ``forward(x (..., in_dim)) -> (..., out_dim)``, an ordinary field to
    :func:`inrkit.render` (``meta`` as a checkpoint's)."""

    def __init__(self, model: ModulatedSiren, latent: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("latent", latent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        return self.model(x.reshape(-1, x.shape[-1]), self.latent).reshape(*lead, -1)


def _inner(model, coords, target, z, alpha, steps: int, create_graph: bool):
    """``steps`` of ``z <- z - α ⊙ ∇z MSE`` for every signal at once; ``z (B, D)``, ``target (B, P, C)``."""
    for _ in range(steps):
        loss = (model(coords, z) - target).square().mean(dim=(1, 2)).sum()  # each signal's own gradient
        (g,) = torch.autograd.grad(loss, z, create_graph=create_graph)
        z = z - alpha * g
    return z


def meta_loss(model, alpha, coords, target, inner_steps: int) -> torch.Tensor:
    """The outer loss of a batch ``target (B, P, C)``: the MSE after ``inner_steps`` latent steps from zero,
    differentiable (second order) in the shared weights and the rates ``alpha``."""
    z0 = torch.zeros(len(target), model.latent_dim, device=target.device, requires_grad=True)
    z = _inner(model, coords, target, z0, alpha, inner_steps, create_graph=True)
    return (model(coords, z) - target).square().mean()


def _psnr(model, coords, target, z) -> torch.Tensor:
    with torch.no_grad():
        mse = (model(coords, z).clamp(0, 1) - target).square().mean(dim=(1, 2))
    return -10 * torch.log10(mse.clamp_min(1e-12))  # (B,)


def train_functa(train, val, out, config: FunctaConfig = FunctaConfig(), inner_steps: int = 3,
                 steps: int = 1000, batch_size: int = 16, lr: float = 1e-4, inner_lr: float = 1e-2,
                 eval_every: int = 100, seed: int = 0, device: str = "auto", progress: bool = True,
                 resume: bool = False, time_budget: float = 0.0) -> dict:
    """Meta-learn a functa on ``train`` (a :class:`~inrkit.fieldsets.Dataset`), scoring ``val`` (mean PSNR after
    ``inner_steps``) and checkpointing to ``out`` every ``eval_every`` steps; return the checkpoint's JSON.
    With ``resume``, continue the training in ``out`` (same network, inner steps and image shape) up to
    ``steps``: the optimiser, the batch sampler and the history carry on where they were saved. A
    ``time_budget`` (seconds of training, 0: none) stops earlier, with a last evaluation and checkpoint.

    Under torchrun the batch is shared by rank and only the meta-gradients are averaged; rank 0 writes
    (the other ranks return ``{}``)."""
    from ..grids import grid_coordinates
    from ..progress import Bar
    from ..train import check_seed, pick_device

    check_seed(seed)
    if inner_steps < 1 or steps < 1 or batch_size < 1 or eval_every < 1:
        raise InrkitError("inner steps, steps, batch size and eval-every must be at least 1")
    if not 0 <= time_budget < math.inf:
        raise InrkitError(f"time-budget must be a number of seconds of at least 0, got {time_budget}")
    if train.shape != val.shape:
        raise InrkitError(f"the validation images are {val.shape}, the training images {train.shape}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InrkitError(f"output folder {str(out)!r} is a file")
    dev = pick_device(device)
    h, w, c = train.shape
    saved = _check_resume(out, config, inner_steps, (h, w, c)) if resume else None
    if not resume and ((out / FUNCTA).exists() or (out / STATE).exists()):
        raise InrkitError(f"{str(out)!r} already holds a functa; pass --resume to continue it or choose another --out")
    rank, world = distributed_context(dev)  # under torchrun: the batch is shared, the meta-gradients averaged
    if batch_size % world:
        raise InrkitError(f"a batch of {batch_size} does not split over {world} processes; give a multiple")
    if time_budget and world > 1:
        raise InrkitError("a time budget would stop the processes of a torchrun job at different steps; give "
                          "--steps instead")
    torch.manual_seed(seed)
    model = ModulatedSiren(2, c, config.width, config.depth, config.latent_dim, config.omega).to(dev)
    alpha = torch.full((config.latent_dim,), inner_lr, device=dev, requires_grad=True)
    opt = torch.optim.Adam([*model.parameters(), alpha], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    step, seconds, history = 0, 0.0, []
    if saved is not None:
        from ..checkpoint import resume_training

        with torch.no_grad():
            model.load_state_dict(saved[0].state_dict())
            alpha.copy_(saved[1])
        step, seconds, history = resume_training(out / STATE, steps, opt, gen, dev)
    coords = grid_coordinates((h, w)).reshape(-1, 2).to(dev)  # (P, 2)
    images = torch.from_numpy(train.images).reshape(len(train), h * w, c)
    val_images = torch.from_numpy(val.images[:256]).reshape(-1, h * w, c).to(dev)
    record = {"format": FORMAT, "version": VERSION, "config": asdict(config), "in_dim": 2, "out_dim": c,
              "shape": [h, w, c], "inner_steps": inner_steps, "batch_size": batch_size, "lr": lr,
              "inner_lr": inner_lr, "seed": seed, "dataset": train.source, "processes": world}

    def checkpoint():
        if rank == 0:
            meta = {**record, "steps": step, "history": history, "val_psnr": history[-1]["val_psnr"],
                    "seconds": round(seconds, 2)}
            _save(out, model, alpha.detach(), meta, {"optimizer": opt.state_dict(), "generator": gen.get_state(),
                                                     "step": step, "seconds": seconds, "history": history})
            return meta

    bar = Bar("meta-training a functa", total=steps, enabled=progress and rank == 0)
    meta = None
    try:
        while step < steps:
            t0 = time.perf_counter()
            idx = torch.randint(len(train), (batch_size,), generator=gen)  # the same on every rank
            target = images[idx[rank::world]].to(dev)  # (B / world, P, C): this process's share
            loss = meta_loss(model, alpha, coords, target, inner_steps)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            all_reduce_mean([*model.parameters(), alpha], world, "averaging the meta-gradients")
            opt.step()
            with torch.no_grad():
                alpha.clamp_(min=0)
            value = loss.item()  # one synchronisation per step
            if not math.isfinite(value):
                raise InrkitError(f"the meta-loss became {value} at step {step + 1}; try a lower --lr")
            step += 1
            seconds += time.perf_counter() - t0
            out_of_time = bool(time_budget) and seconds >= time_budget
            if step % eval_every == 0 or step == steps or out_of_time:
                if rank == 0:
                    zv = torch.zeros(len(val_images), config.latent_dim, device=dev, requires_grad=True)
                    zv = _inner(model, coords, val_images, zv, alpha, inner_steps, create_graph=False).detach()
                    history.append({"step": step, "seconds": round(seconds, 2),
                                    "val_psnr": float(_psnr(model, coords, val_images, zv).mean()), "loss": value})
                meta = checkpoint()
            bar.update(step, f"val PSNR {history[-1]['val_psnr']:.2f} dB" if history else "")
            if out_of_time:
                break
    except KeyboardInterrupt:
        if step > 0 and history and rank == 0:
            bar.close()
            checkpoint()
            raise KeyboardInterrupt(f"step {step} saved in {out}; --resume continues it") from None
        raise
    finally:
        bar.close()
    if rank != 0:
        barrier(world, "rank 0 wrote the functa", written=None)
        return {}
    barrier(world, "the functa was written", written=True)
    return meta


def _check_resume(out: Path, config: FunctaConfig, inner_steps: int, shape):
    """``(model, α)`` of the training saved in ``out``, checked against what is asked."""
    if not (out / STATE).is_file():
        raise InrkitError(f"cannot resume: {str(out)!r} holds no {STATE} (no functa training was saved there)")
    model, alpha, meta = load_functa(out)
    if meta["config"] != asdict(config) or meta["inner_steps"] != inner_steps or meta["shape"] != list(shape):
        cfg = meta["config"]
        raise InrkitError(f"cannot resume: {str(out)!r} holds a {cfg['depth']}x{cfg['width']} functa with "
                          f"{cfg['latent_dim']}-d latents and {meta['inner_steps']} inner steps on {meta['shape']}, "
                          f"not {config.depth}x{config.width}, {config.latent_dim}-d and {inner_steps} on {list(shape)}")
    return model, alpha


def _save(out, model, alpha, meta, state=None) -> None:
    from safetensors.torch import save_file

    from .. import __version__

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / FUNCTA).unlink(missing_ok=True)  # incomplete until the JSON is back
    with atomic_path(out / FUNCTA_WEIGHTS) as tmp:
        save_file({**{k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
                   "alpha": alpha.cpu()}, str(tmp))
    if state is not None:
        with atomic_path(out / STATE) as tmp:
            torch.save(state, tmp)
    write_json(out / FUNCTA, {**meta, "inrkit_version": __version__})


def load_functa(folder, device="cpu") -> tuple[ModulatedSiren, torch.Tensor, dict]:
    """``(model, α, meta)`` of the functa checkpoint in ``folder`` (:func:`train_functa`)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / FUNCTA).is_file():
        other = " (it is a meta-learned initialisation: encode needs `inrkit meta-train --modulations shift`)" \
            if (folder / "meta.json").is_file() else ""
        raise InrkitError(f"{str(folder)!r} holds no functa checkpoint (functa.json){other}")
    meta = read_json(folder / FUNCTA, "functa checkpoint")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InrkitError(f"{str(folder / FUNCTA)!r} is not an inrkit functa checkpoint")
    cfg = FunctaConfig(**meta["config"])
    model = ModulatedSiren(meta["in_dim"], meta["out_dim"], cfg.width, cfg.depth, cfg.latent_dim, cfg.omega)
    tensors = load_file(str(folder / FUNCTA_WEIGHTS))
    alpha = tensors.pop("alpha")
    model.load_state_dict(tensors)
    return model.to(device).eval(), alpha.to(device), meta


def encode(dataset, functa_folder, out=None, inner_steps: int | None = None, batch_size: int = 64,
           device: str = "auto", progress: bool = True) -> dict:
    """The latent of every image of ``dataset``: ``inner_steps`` (default: the training's) steps from zero
    with the meta-learned rates; written to ``out`` as a fieldset of latents. Returns its index
    (``items``: name and PSNR; ``latents`` ``(N, D)``). Under torchrun each process encodes every
    ``world``-th image and rank 0 writes the one fieldset (the others return ``{}``)."""
    from ..grids import grid_coordinates
    from ..progress import Bar
    from ..train import pick_device
    from .fieldset import FIELDSET, FIELDSET_WEIGHTS

    dev = pick_device(device)
    rank, world = distributed_context(dev)
    model, alpha, meta = load_functa(functa_folder, dev)
    if list(dataset.shape) != meta["shape"]:
        h, w, c = meta["shape"]
        raise InrkitError(f"the functa in {str(functa_folder)!r} was trained on {w}x{h} images of {c} channel(s); "
                          f"these are {dataset.shape[1]}x{dataset.shape[0]} of {dataset.shape[2]} (give --size)")
    k = meta["inner_steps"] if inner_steps is None else inner_steps
    h, w, c = dataset.shape
    coords = grid_coordinates((h, w)).reshape(-1, 2).to(dev)
    mine = list(range(rank, len(dataset), world))
    latents, psnrs = [], []
    bar = Bar("encoding", total=len(mine), enabled=progress and rank == 0)
    for s in range(0, len(mine), batch_size):
        target = torch.from_numpy(dataset.images[mine[s:s + batch_size]]).reshape(-1, h * w, c).to(dev)
        z = torch.zeros(len(target), model.latent_dim, device=dev, requires_grad=True)
        z = _inner(model, coords, target, z, alpha, k, create_graph=False).detach()
        latents.append(z.cpu())
        psnrs += _psnr(model, coords, target, z).tolist()
        bar.update(min(s + batch_size, len(mine)))
    bar.close()
    z = torch.cat(latents)
    if world > 1:  # every latent to rank 0, in dataset order
        parts = gather((mine, z, psnrs), world, "gathering the latents")
        if rank != 0:
            barrier(world, "rank 0 wrote the latents", written=None)
            return {}
        order = {i: (zi, p) for idx, zs, ps in parts for i, zi, p in zip(idx, zs, ps)}
        z = torch.stack([order[i][0] for i in range(len(dataset))])
        psnrs = [order[i][1] for i in range(len(dataset))]
    items = [{"name": n, "psnr": p} for n, p in zip(dataset.names, psnrs)]
    index = {"count": len(items), "items": items, "mean_psnr": float(np.mean(psnrs)), "min_psnr": float(np.min(psnrs)),
             "inner_steps": k, "latents": z}
    if out is not None:
        from safetensors.torch import save_file

        from .. import __version__

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / FIELDSET).unlink(missing_ok=True)
        with atomic_path(out / FIELDSET_WEIGHTS) as tmp:
            save_file({"latents": z.contiguous(), **{f"shared.{n}": v.detach().cpu().contiguous()
                                                    for n, v in model.state_dict().items()}}, str(tmp))
        write_json(out / FIELDSET, {"format": "inrkit-fieldset", "version": 1, "type": "latents",
                                    "count": len(items), "functa": {k2: meta[k2] for k2 in
                                                                    ("config", "in_dim", "out_dim", "shape")},
                                    "functa_folder": str(Path(functa_folder).resolve()),
                                    "signal": {"kind": "image", "shape": [h, w, c], "source": dataset.source},
                                    "items": items, "mean_psnr": index["mean_psnr"], "min_psnr": index["min_psnr"],
                                    "inner_steps": k, "inrkit_version": __version__})
    barrier(world, "the latents were written", written=True)
    return index


def interpolate(fieldset, a: int, b: int, frames: int = 8, size=None, device=None) -> np.ndarray:
    """Signals ``a`` and ``b`` of a fieldset of latents and ``frames - 2`` between them, rendered from
    the straight line between their latents: ``uint8 (frames, H, W, C)`` (``size`` ``(W, H)``, default
    the training size)."""
    from ..outputs import output_size
    from ..signals.image import render_image

    if frames < 2:
        raise InrkitError(f"an interpolation needs at least 2 frames, got {frames}")
    za, zb = fieldset.latent(a), fieldset.latent(b)
    h, w, c = fieldset.signal["shape"]
    wh = output_size(size, 1.0, (w, h))
    base = fieldset.field(a)
    out = []
    for t in np.linspace(0, 1, frames):
        field = LatentField(base.model, (1 - t) * za + t * zb).to(fieldset.device)
        out.append(render_image(field, wh, c, device=device or fieldset.device))
    return np.stack(out)
