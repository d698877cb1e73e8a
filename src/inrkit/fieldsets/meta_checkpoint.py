"""Meta checkpoints: the folder :func:`inrkit.fieldsets.meta.meta_train` writes, read back and used.

``meta.safetensors`` holds θ by parameter name and metasgd's rates as ``rate.NAME``; ``meta.json``
(format ``inrkit-meta``, ``meta_format`` 1) the method, inner loop, field config, preset, signal shape,
dataset, outer steps, validation history and inrkit version. It is written last: a folder without it
is not a complete checkpoint. ``meta_state.pt`` resumes meta-training; ``history.csv`` lists validations.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field as dc_field
from pathlib import Path

import torch

from ..errors import InrkitError
from ..io import atomic_path, read_json

__all__ = ["META_FORMAT", "META_VERSION", "MetaInit", "field_from_meta", "load_meta_init", "resume_from_meta"]

META_FORMAT, META_VERSION = "inrkit-meta", 1
WEIGHTS, INDEX, STATE, HISTORY = "meta.safetensors", "meta.json", "meta_state.pt", "history.csv"


@dataclass
class MetaInit:
    """A meta-learned initialisation: θ of a field config, its inner optimiser, and where it came from.

    ``params``: ``{name: tensor}`` θ; ``rates``: metasgd's per-entry inner learning rates (same names and
    shapes), None for the other methods (their rate is ``inner_lr`` everywhere); ``shape``: ``(H, W, C)``
    of the signals; ``info``: meta.json's contents.
    """

    config: object
    params: dict
    rates: dict | None
    method: str
    inner_steps: int
    inner_lr: float
    shape: tuple[int, int, int]
    info: dict = dc_field(default_factory=dict)

    @property
    def in_dim(self) -> int:
        return 2

    @property
    def out_dim(self) -> int:
        return self.shape[2]

    def field(self):
        """A new :class:`inrkit.Field` holding θ."""
        f = self.config.build(self.in_dim, self.out_dim)
        with torch.no_grad():
            for name, p in f.named_parameters():
                p.copy_(self.params[name])
        return f

    def optimizer(self):
        """The test-time optimiser as :func:`inrkit.fit` takes it: SGD at ``inner_lr``, no schedule
        (metasgd's per-entry rates are applied to the gradients by :meth:`apply_rates`)."""
        from ..train import OptimConfig

        return OptimConfig(lr=self.inner_lr, schedule="none", optimizer="sgd")

    def apply_rates(self, field) -> None:
        """metasgd: scale each gradient of ``field`` by its learned rate over ``inner_lr`` (hooks), so SGD at
        ``inner_lr`` steps each entry at its own rate; other methods: nothing to do."""
        if self.rates is None:
            return
        for name, p in field.named_parameters():
            p.register_hook(lambda g, r=self.rates[name].to(p.device) / self.inner_lr: g * r)

    def lrs(self) -> dict:
        """The inner learning rate of every parameter: metasgd's tensors, else ``inner_lr``."""
        return self.rates if self.rates is not None else {k: self.inner_lr for k in self.params}


def _describe(cfg) -> str:
    net = cfg.network
    size = f" {net.depth}x{net.width}" if hasattr(net, "width") else ""
    return f"{cfg.encoding.kind} + {net.kind}{size}"


def _save(out: Path, init: MetaInit, opt, gen, step: int, seconds: float, history: list, record: dict) -> None:
    """Weights, training state, history, then meta.json last, each atomically."""
    from safetensors.torch import save_file

    from .. import __version__
    from ..checkpoint import FIELD_FORMAT

    c = record["config"]  # the MetaConfig
    h, w, ch = record["shape"]
    info = {
        "format": META_FORMAT, "meta_format": META_VERSION, "method": init.method, "inner_steps": init.inner_steps,
        "inner_lr": init.inner_lr, "outer_lr": c.outer_lr, "batch_size": c.batch_size, "seed": c.seed,
        "outer_steps": step, "seconds": round(seconds, 3), "processes": record.get("processes", 1),
        "preset": record["preset"], "field_format": FIELD_FORMAT,
        "field": init.config.to_dict(), "in_dim": 2, "out_dim": ch,
        "signal": {"kind": "image", "shape": [h, w, ch], "value_range": [0.0, 1.0]},
        "dataset": {**record["source"], "images": record["n_train"]}, "history": history,
        "inrkit_version": __version__,
    }
    text = json.dumps(info, indent=2, default=float) + "\n"
    tensors = {n: v.detach().cpu().contiguous() for n, v in init.params.items()}
    tensors.update({f"rate.{n}": v.detach().cpu().contiguous() for n, v in (init.rates or {}).items()})
    with atomic_path(out / WEIGHTS) as tmp:
        save_file(tensors, str(tmp))
    with atomic_path(out / STATE) as tmp:
        torch.save({"optimizer": opt.state_dict(), "generator": gen.get_state(), "step": step, "seconds": seconds,
                    "history": history}, tmp)
    keys = ["step", "seconds", "psnr_0", "psnr", "loss"]
    with atomic_path(out / HISTORY) as tmp, open(tmp, "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        wr.writeheader()
        wr.writerows(history)
    with atomic_path(out / INDEX) as tmp:
        tmp.write_text(text)


def load_meta_init(path) -> MetaInit:
    """The meta checkpoint in folder ``path`` (as :func:`meta_train` writes it); a missing, incomplete
    or corrupt one is one :class:`~inrkit.errors.InrkitError` sentence.

    Examples:
        >>> load_meta_init("no/such/meta")
        Traceback (most recent call last):
        inrkit.errors.InrkitError: meta checkpoint 'no/such/meta' does not exist
    """
    from safetensors.torch import load_file

    from ..fields import FieldConfig

    path = Path(path)
    if not path.exists():
        raise InrkitError(f"meta checkpoint {str(path)!r} does not exist")
    if path.is_file() and path.name in (INDEX, WEIGHTS):
        path = path.parent
    if not path.is_dir():
        raise InrkitError(f"{str(path)!r} is a file; expected a meta checkpoint folder (inrkit meta-train --out)")
    if not (path / INDEX).exists():
        raise InrkitError(f"{str(path)!r} is not a complete meta checkpoint (no {INDEX}: meta-training did not "
                          "finish its first save there)")
    info = read_json(path / INDEX, "meta checkpoint description")
    if not isinstance(info, dict) or info.get("format") != META_FORMAT:
        raise InrkitError(f"{str(path / INDEX)!r} is not a meta checkpoint description (format {META_FORMAT})")
    if info.get("meta_format", 0) > META_VERSION:
        raise InrkitError(f"{str(path)!r} is meta format {info['meta_format']}, newer than this inrkit reads "
                          f"({META_VERSION}); upgrade inrkit")
    try:
        cfg = FieldConfig.from_dict(info["field"])
        shape = tuple(int(s) for s in info["signal"]["shape"])
        names = [n for n, _ in cfg.build(2, shape[2]).named_parameters()]  # the field's order (Adam's state)
        tensors = load_file(str(path / WEIGHTS))
    except (KeyError, TypeError, ValueError) as e:
        raise InrkitError(f"{str(path)!r} describes a meta initialisation this version cannot build ({e})") from None
    except Exception as e:  # safetensors' own errors, a missing file
        raise InrkitError(f"{str(path / WEIGHTS)!r} is missing or corrupt ({type(e).__name__})") from None
    rates = {n: tensors[f"rate.{n}"] for n in names if f"rate.{n}" in tensors} or None
    if set(tensors) != {*names, *(f"rate.{n}" for n in rates or {})} or (rates is not None and len(rates) != len(names)):
        raise InrkitError(f"{str(path / WEIGHTS)!r} does not hold the weights of the field meta.json describes")
    params = {n: tensors[n] for n in names}
    return MetaInit(cfg, params, rates, info["method"], int(info["inner_steps"]), float(info["inner_lr"]), shape,
                    info)


def field_from_meta(path, signal, preset=None):
    """``(field, init)``: a new field for ``signal`` holding the meta-learned θ in ``path`` (what
    ``inrkit fit KIND --init META`` starts from). ``preset``: a preset the user chose (None: the meta's
    own); its encoding, network and output must be the meta's. The signal must take the meta's
    coordinates and values (2 in, C out).

    Examples:
        >>> field_from_meta("no/such/meta", None)
        Traceback (most recent call last):
        inrkit.errors.InrkitError: meta checkpoint 'no/such/meta' does not exist
    """
    from ..presets import get_preset

    init = load_meta_init(path)
    if preset is not None:
        chosen = get_preset(preset).field
        mine = init.config
        parts = lambda c: (c.encoding.kind, c.network.kind, getattr(c, "output", None))  # noqa: E731
        if not hasattr(chosen, "encoding") or parts(chosen) != parts(mine):
            raise InrkitError(f"meta checkpoint {str(path)!r} holds a {_describe(mine)} field (preset "
                              f"{init.info.get('preset')!r}), which preset {preset!r} does not describe; drop --preset "
                              "to use the meta checkpoint's own")
    dims = (getattr(signal, "in_dim", None), getattr(signal, "out_dim", None))
    if dims != (init.in_dim, init.out_dim):
        h, w, c = init.shape
        raise InrkitError(f"meta checkpoint {str(path)!r} is for {w}x{h} images with {c} channel(s) (fields from 2 "
                          f"to {c} values); this {getattr(signal, 'kind', 'signal')} needs fields from {dims[0]} to "
                          f"{dims[1]}")
    field = init.field()
    init.apply_rates(field)
    return field, init


def resume_from_meta(run_meta: dict, field):
    """For ``--resume`` of a fit that started from a meta checkpoint (its field.json ``run_meta``): the
    run's optimiser, and metasgd's rates put back on ``field`` when the meta checkpoint is still there."""
    from ..train import OptimConfig

    optim = OptimConfig(**{**run_meta["optim"], "betas": tuple(run_meta["optim"]["betas"])})
    if optim.optimizer == "sgd" and Path(run_meta["init"]).is_dir():
        load_meta_init(run_meta["init"]).apply_rates(field)
    return optim
