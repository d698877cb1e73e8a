"""Checkpoints: ``field.safetensors`` (weights) + ``field.json`` (everything else).

``field.json`` holds the field configuration, the signal's metadata (shape,
value range, ...), the preset and the package version: enough to rebuild the
field and query it anywhere without the training data. ``train_state.pt``
(optimiser state, step, history) is only needed to resume training.

Field configurations (``field.json``'s ``"field"``) hold one object per encoding and network,
``{"kind": ..., its own keys}`` (``"field_format": 2``). Checkpoints written by inrkit 0.1.0
and 0.2.0 (no ``field_format``) hold the flat form, one object with every kind's keys;
:func:`read_flat_field` reads it, and such checkpoints keep loading.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .encodings import ENCODINGS
from .errors import InrkitError
from .fields import Field, FieldConfig, RadianceFieldConfig
from .networks import NETWORKS
from .io import atomic_path, read_json, write_json  # write_json: re-exported, it was defined here

__all__ = ["save_checkpoint", "load", "load_meta", "checkpoint_folder", "read_flat_field", "resume_training",
           "write_json"]

WEIGHTS, META, TRAIN_STATE = "field.safetensors", "field.json", "train_state.pt"
FIELD_FORMAT = 2
"""field.json's ``field_format``: 2, one ``{"kind": ..., own keys}`` object per component; 1 (absent:
inrkit 0.1.0 and 0.2.0), one flat object per component with every kind's keys."""

# Flat-form keys a kind now names otherwise; the other keys keep their names, and keys a kind does
# not use are dropped.
_FLAT_RENAMES = {
    "vm": {"n_features": "n_components", "finest_resolution": "resolution"},
    "wire": {"hidden_omega": "omega", "scale": "sigma"},
}


def read_flat_field(d: dict) -> dict:
    """A field configuration in the flat form of field_format 1 rewritten in field_format 2.

    Examples:
        >>> read_flat_field({"encoding": {"kind": "vm", "n_features": 16, "finest_resolution": 32, "m": 256,
        ...                               "sigma": 10.0, "seed": 0}, "output": "identity"})
        {'encoding': {'kind': 'vm', 'n_components': 16, 'resolution': 32, 'seed': 0}, 'output': 'identity'}
    """

    def component(c: dict, registry: dict) -> dict:
        if c.get("kind") not in registry:
            return c  # from_dict names the unknown kind
        renames, own = _FLAT_RENAMES.get(c["kind"], {}), {f.name for f in dataclasses.fields(registry[c["kind"]])}
        return {"kind": c["kind"], **{renames.get(k, k): v for k, v in c.items() if renames.get(k, k) in own}}

    out = dict(d)
    for key, registry in (("encoding", ENCODINGS), ("direction", ENCODINGS), ("network", NETWORKS),
                          ("color_network", NETWORKS)):
        if isinstance(d.get(key), dict):
            out[key] = component(d[key], registry)
    return out


def save_checkpoint(out_dir: Path, field: Field, meta: dict, train_state: dict | None = None) -> None:
    """Write weights, metadata and (optionally) the training state, each atomically."""
    from . import __version__

    out_dir = Path(out_dir)
    meta = {
        **meta,  # the caller's keys first: the ones below describe the weights and are not theirs to set
        "format": "inrkit-field",
        "inrkit_version": __version__,
        "in_dim": field.in_dim,
        "out_dim": field.out_dim,
        "params": field.n_params(),
        "field_format": FIELD_FORMAT,
        "field": field.config.to_dict(),
    }
    text = json.dumps(meta, indent=2, default=float) + "\n"  # fails here, before any file is replaced
    tensors = {k: v.detach().cpu().contiguous() for k, v in field.state_dict().items()}
    with atomic_path(out_dir / WEIGHTS) as tmp:
        save_file(tensors, str(tmp))
    if train_state is not None:
        with atomic_path(out_dir / TRAIN_STATE) as tmp:
            torch.save(train_state, tmp)
    with atomic_path(out_dir / META) as tmp:
        tmp.write_text(text)


def resume_training(path: str | Path, steps: int, optimizer, generator, device="cpu",
                    hint: str = "") -> tuple[int, float, list]:
    """Restore the training state saved at ``path`` (what a fit, a meta-training, a functa or a
    super-resolution training writes for ``--resume``: ``optimizer``, ``generator``, ``step``, ``seconds``,
    ``history``) into ``optimizer`` and ``generator``; return ``(step, seconds, history)``. A file that
    cannot be read or restored is one sentence (``hint`` ends it), and so is a run already at ``steps``."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(state, dict) or not {"optimizer", "generator", "step", "seconds", "history"} <= state.keys():
            raise ValueError("not a training state")
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"].cpu())  # generator states are CPU byte tensors on every device
        step, seconds, history = int(state["step"]), float(state["seconds"]), list(state["history"])
    except Exception as e:
        raise InrkitError(f"cannot resume: {str(path)!r} is corrupt ({type(e).__name__}){hint}") from None
    if step >= steps:
        raise InrkitError(f"{str(path.parent)!r} is already at step {step}; ask for more --steps to continue it")
    return step, seconds, history


def checkpoint_folder(path: str | Path) -> Path:
    """A checkpoint folder, given as itself or as any file in it (``field.json``, ``field.safetensors``,
    ``metrics.json``, ...)."""
    path = Path(path)
    return path.parent if path.is_file() and (path.parent / META).is_file() else path


def load_meta(path: str | Path) -> dict:
    """The ``field.json`` of a checkpoint folder (given as the folder or a file in it, or the JSON file itself)."""
    path = checkpoint_folder(path)
    meta_path = path / META if path.is_dir() else path
    if path.is_file() and path.suffix.lower() != ".json":
        raise InrkitError(f"{str(path)!r} is a file, not an inrkit checkpoint (the folder `inrkit fit` writes)")
    if not meta_path.exists():
        raise InrkitError(f"{str(path)!r} is not an inrkit checkpoint (no {META} there)")
    meta = read_json(meta_path, "checkpoint description")
    if not isinstance(meta, dict) or meta.get("format") != "inrkit-field" or "field" not in meta:
        raise InrkitError(f"{str(meta_path)!r} is not an inrkit field description")
    return meta


def load(path: str | Path, device: str | torch.device = "cpu") -> Field:
    """Rebuild a fitted field from a checkpoint folder; ``field.meta`` holds its metadata and
    ``field.checkpoint_dir`` the folder (where a radiance field's occupancy grid is found).

    Examples:
        >>> field = inrkit.load("runs/camera")  # doctest: +SKIP
        >>> field(torch.zeros(1, 2))  # the value at the image centre  # doctest: +SKIP
        >>> field.sample_grid((1024, 1024))  # a (1024, 1024, C) numpy array  # doctest: +SKIP
    """
    path = checkpoint_folder(path)
    meta = load_meta(path)
    try:
        # A radiance field's config says so ({"type": "radiance"}); image-style fields have no type.
        if not isinstance(meta["field"], dict):
            raise TypeError("'field' is not an object")
        kind = meta["field"].get("type", "field")
        d = meta["field"] if meta.get("field_format", 1) >= FIELD_FORMAT else read_flat_field(meta["field"])
        if kind == "prior":  # an image through a learned super-resolution prior (inrkit fit image --prior)
            from .superres.prior import PriorFieldConfig

            cfg = PriorFieldConfig.from_dict(d)
        else:
            cfg = (RadianceFieldConfig if kind == "radiance" else FieldConfig).from_dict(d)
        field = cfg.build(meta["in_dim"], meta["out_dim"])
    except (TypeError, ValueError, KeyError) as e:
        raise InrkitError(f"{str(path)!r} describes a field this version cannot build ({e})") from None
    weights = path / WEIGHTS
    if not weights.exists():
        raise InrkitError(f"{str(path)!r} has no {WEIGHTS}")
    try:
        state = load_file(str(weights))
        field.load_state_dict(state)
    except (SafetensorError, RuntimeError, OSError) as e:
        detail = "; ".join(line.strip() for line in str(e).splitlines() if line.strip())
        raise InrkitError(f"{str(weights)!r} is corrupt or does not match {META} ({detail})") from None
    field.meta = meta
    field.checkpoint_dir = path.resolve()  # where its other files are (a radiance field's occupancy grid)
    return field.to(device).eval()
