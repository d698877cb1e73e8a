"""``inrkit info``, ``inrkit presets`` and ``inrkit samples``: what a run holds, and what there is to use."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import tyro

from ..errors import InrkitError

__all__ = ["Info", "Presets", "Samples"]


@dataclass
class Info:
    """Print what a checkpoint holds."""

    checkpoint: tyro.conf.Positional[Path]
    """Folder written by `inrkit fit` (or fit-many, encode, sr train), or a .inrz file from `inrkit compress`."""
    json: bool = False
    """Print field.json as it is."""

    def run(self) -> None:
        from ..checkpoint import checkpoint_folder, load_meta
        from ..fieldsets import is_fieldset
        from ..io import read_json
        from ..runs import describe_fieldset, describe_run

        if is_fieldset(self.checkpoint):
            rows = describe_fieldset(Path(self.checkpoint))
            return _table(str(self.checkpoint), rows)
        if Path(self.checkpoint).suffix.lower() == ".inrz" and Path(self.checkpoint).is_file():
            from ..codec import describe_inrz

            return _table(str(self.checkpoint), describe_inrz(Path(self.checkpoint)))
        if (Path(self.checkpoint) / "sr.json").is_file():
            from ..superres.train import describe_sr

            return _table(str(self.checkpoint), describe_sr(Path(self.checkpoint)))
        folder = checkpoint_folder(self.checkpoint)  # also when given as a file in it
        meta = load_meta(folder)
        if self.json:
            print(json.dumps(meta, indent=2))
            return
        metrics = read_json(folder / "metrics.json", "metrics file") if (folder / "metrics.json").exists() else {}
        _table(str(folder), describe_run(meta, metrics if isinstance(metrics, dict) else {}))


def _table(title: str, rows) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    for key, value in rows:
        table.add_row(key, str(value))
    Console().print(table)


@dataclass
class Presets:
    """List the presets, grouped by the kinds of signal they are made for."""

    kind: Optional[str] = None
    """Only the presets for this kind (`inrkit --help` lists the kinds)."""

    def run(self) -> None:
        from ..presets import preset_table
        from ..signals import KINDS
        from ..train import pick_device

        if self.kind is not None and self.kind not in KINDS:
            raise InrkitError(f"unknown kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        device = pick_device("auto")
        defaults = {name: kind.default_preset(device) for name, kind in KINDS.items()}
        for kinds, presets in preset_table(self.kind):
            auto = " (the default, auto: ngp on a GPU, tensorf on a CPU)" if "nerf" in kinds else ""
            print(f"for {', '.join(kinds)} (inrkit fit {'|'.join(kinds)} --preset NAME){auto}:")
            for name, description, aliases in presets:
                default_of = [k for k in kinds if defaults.get(k) in (name, *aliases)]
                note = f" [default of fit {'|'.join(default_of)}]" if default_of else ""
                also = f" (also: {', '.join(aliases)})" if aliases else ""
                print(f"  {name:14s} {description}{also}{note}")
            print()


@dataclass
class Samples:
    """List the built-in samples (use them as sample:NAME), grouped by the command that fits them."""

    def run(self) -> None:
        from ..signals import KINDS

        groups: dict[int, tuple] = {}  # kinds sharing one SampleSet are listed together
        for name, kind in KINDS.items():
            if kind.samples is not None:
                groups.setdefault(id(kind.samples), (kind.samples, []))[1].append(name)
        for samples, kinds in groups.values():
            print(f"{samples.title} (inrkit fit {'|'.join(kinds)}):")
            for name, desc in samples.items.items():
                print(f"  sample:{name:22s} {desc}")
            print()
