"""The fieldset file: many fields of one architecture, as a checkpoint holds one.

A fieldset folder holds ``fieldset.safetensors`` (every parameter and buffer stacked along a first axis
of length ``count``) and ``fieldset.json``: the format and its version, the field config, the preset,
what each field was fitted to (``signal``: kind, shape; ``items``: one name and its metrics per field),
how (steps, seconds, processes) and the inrkit version. The JSON is written last, atomically, so a
folder without it (a run that died) is never taken for a complete fieldset.

Examples:
    >>> import tempfile
    >>> from inrkit.networks import SirenConfig
    >>> from inrkit.encodings import IdentityConfig
    >>> from inrkit.fields import FieldConfig
    >>> from inrkit.fieldsets import stack_fields
    >>> cfg = FieldConfig(IdentityConfig(), SirenConfig(width=8, depth=2))
    >>> _, params, buffers = stack_fields(cfg, 2, 1, seeds=[0, 1])
    >>> folder = tempfile.mkdtemp()
    >>> _ = save_fieldset(folder, cfg, {**params, **buffers}, {"kind": "image", "shape": [4, 4, 1]},
    ...                   [{"name": "a"}, {"name": "b"}])
    >>> fs = load_fieldset(folder)
    >>> len(fs), fs.names, fs.field(1)(torch.zeros(3, 2)).shape
    (2, ['a', 'b'], torch.Size([3, 1]))
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import InrkitError
from ..io import atomic_path, read_json, write_json

__all__ = ["FIELDSET", "FIELDSET_WEIGHTS", "FieldSet", "is_fieldset", "load_fieldset", "save_fieldset"]

FIELDSET = "fieldset.json"
FIELDSET_WEIGHTS = "fieldset.safetensors"
FORMAT, VERSION = "inrkit-fieldset", 1


def is_fieldset(folder: str | Path) -> bool:
    """Whether ``folder`` holds a fieldset, complete (its ``fieldset.json``) or not (weights only: a run
    that did not finish, which :func:`load_fieldset` refuses)."""
    return (Path(folder) / FIELDSET).is_file() or (Path(folder) / FIELDSET_WEIGHTS).is_file()


def save_fieldset(folder: str | Path, cfg, tensors: dict[str, torch.Tensor], signal: dict, items: list[dict],
                  **info) -> Path:
    """Write the fieldset of ``cfg`` fields: ``tensors`` ``{name: (count, ...)}`` (the fields' parameters and
    buffers), ``signal`` (``kind``, ``shape``, ``source``: what every field was fitted to), one ``items``
    entry per field (``name`` and its metrics) and any other ``info`` (preset, steps, seconds, ...)."""
    from safetensors.torch import save_file

    from .. import __version__

    folder = Path(folder)
    counts = {v.shape[0] for v in tensors.values()}
    if counts != {len(items)}:
        raise InrkitError(f"a fieldset of {len(items)} items got tensors of {sorted(counts)} fields")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FIELDSET).unlink(missing_ok=True)  # incomplete until the index is back
    with atomic_path(folder / FIELDSET_WEIGHTS) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))
    write_json(folder / FIELDSET, {"format": FORMAT, "version": VERSION, "count": len(items),
                                   "field": cfg.to_dict(), "signal": signal, "items": items, **info,
                                   "inrkit_version": __version__})
    return folder


class FieldSet:
    """A loaded fieldset: ``len(fs)`` fields; ``fs.field(i)`` is field ``i`` as an ordinary
    :class:`inrkit.Field` (its ``meta`` as a checkpoint's, so :func:`inrkit.render` takes it)."""

    def __init__(self, folder: Path, index: dict, tensors: dict[str, torch.Tensor], device="cpu"):
        from ..fields import FieldConfig

        self.folder, self.index, self.tensors, self.device = folder, index, tensors, torch.device(device)
        self.latents = index.get("type") == "latents"  # a functa's: one shared network, a latent per field
        self.config = None if self.latents else FieldConfig.from_dict(index["field"])
        self.signal = index["signal"]
        self._shared = None

    def __len__(self) -> int:
        return self.index["count"]

    @property
    def names(self) -> list[str]:
        return [item.get("name", str(i)) for i, item in enumerate(self.index["items"])]

    def field(self, i: int):
        """Field ``i`` (0-based), on the fieldset's device."""
        from .batched import build_field

        if not (isinstance(i, int) and 0 <= i < len(self)):
            raise InrkitError(f"index {i} is out of range: the fieldset in {str(self.folder)!r} holds {len(self)} "
                              f"fields (0 to {len(self) - 1})")
        in_dim = len(self.signal["shape"]) - 1
        if self.latents:
            f = self._latent_field(i)
        else:
            f = build_field(self.config, in_dim, self.signal["shape"][-1], 0)
            f.load_state_dict({k: v[i] for k, v in self.tensors.items()})
        f.to(self.device).eval()
        item = self.index["items"][i]
        f.meta = {"signal": {**self.signal, "source": item.get("name", str(i))}, "field": self.index.get("field"),
                  "preset": self.index.get("preset"), "fieldset": {"folder": str(self.folder), "index": i}}
        f.checkpoint_dir = self.folder
        return f


    def _latent_field(self, i: int):
        from .functa import LatentField, ModulatedSiren

        if self._shared is None:
            f = self.index["functa"]
            self._shared = ModulatedSiren(f["in_dim"], f["out_dim"], **f["config"])
            self._shared.load_state_dict({k[len("shared."):]: v for k, v in self.tensors.items()
                                          if k.startswith("shared.")})
        return LatentField(self._shared, self.tensors["latents"][i])

    def latent(self, i: int) -> torch.Tensor:
        """Signal ``i``'s latent ``(latent_dim,)`` (a fieldset of latents, from ``inrkit encode``)."""
        if not self.latents:
            raise InrkitError(f"{str(self.folder)!r} holds fields, not latents (write them with inrkit encode)")
        self.field(i)  # checks the index
        return self.tensors["latents"][i]


def load_fieldset(folder: str | Path, device="cpu") -> FieldSet:
    """The fieldset in ``folder`` (:func:`save_fieldset`); one sentence for a folder that holds none,
    an incomplete one, or weights that do not match its index."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    if not folder.is_dir():
        raise InrkitError(f"fieldset folder {str(folder)!r} does not exist")
    if not (folder / FIELDSET).is_file():
        what = "an incomplete fieldset (no fieldset.json: its run did not finish)" \
            if (folder / FIELDSET_WEIGHTS).exists() else "no fieldset"
        raise InrkitError(f"{str(folder)!r} holds {what}")
    index = read_json(folder / FIELDSET, "fieldset index")
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise InrkitError(f"{str(folder / FIELDSET)!r} is not an inrkit fieldset index")
    if index.get("version", 0) > VERSION:
        raise InrkitError(f"{str(folder)!r} is a fieldset of format version {index['version']}; this inrkit reads "
                          f"up to {VERSION}: upgrade inrkit")
    try:
        tensors = load_file(str(folder / FIELDSET_WEIGHTS), device=str(torch.device(device)))
    except (OSError, SafetensorError) as e:
        raise InrkitError(f"could not read {str(folder / FIELDSET_WEIGHTS)!r}: {e}") from None
    stacked = {k: v for k, v in tensors.items() if not k.startswith("shared.")}  # a functa's network is not
    if {v.shape[0] for v in stacked.values()} != {index["count"]}:
        raise InrkitError(f"{str(folder)!r}: the weights hold another number of fields than the index's "
                          f"{index['count']}")
    return FieldSet(folder, index, tensors, device)
