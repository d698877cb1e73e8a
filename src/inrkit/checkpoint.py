"""Checkpoints: ``field.safetensors`` (weights) + ``field.json`` (everything else).

``field.json`` holds the field configuration, the signal's metadata (shape,
value range, ...), the preset and the package version: enough to rebuild the
field and query it anywhere without the training data. ``train_state.pt``
(optimiser state, step, history) is only needed to resume training.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import InrkitError
from .fields import Field, FieldConfig, RadianceFieldConfig
from .io import atomic_path, read_json, write_json  # write_json: re-exported, it was defined here

__all__ = ["save_checkpoint", "load", "load_meta", "checkpoint_folder", "write_json"]

WEIGHTS, META, TRAIN_STATE = "field.safetensors", "field.json", "train_state.pt"


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

    >>> field = inrkit.load("runs/camera")          # doctest: +SKIP
    >>> field(torch.zeros(1, 2))                    # value at the image centre
    >>> field.sample_grid((1024, 1024))             # (1024, 1024, C) numpy array
    """
    path = checkpoint_folder(path)
    meta = load_meta(path)
    try:
        # A radiance field's config says so ({"type": "radiance"}); image-style fields have no type.
        if not isinstance(meta["field"], dict):
            raise TypeError("'field' is not an object")
        kind = meta["field"].get("type", "field")
        cfg = (RadianceFieldConfig if kind == "radiance" else FieldConfig).from_dict(meta["field"])
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
