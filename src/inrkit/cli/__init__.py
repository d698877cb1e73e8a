"""The ``inrkit`` command: parsing and printing only.

``inrkit fit KIND`` exists for every kind in :data:`inrkit.signals.KINDS`, its flags read (with tyro)
from the kind's options dataclass, :class:`inrkit.FitConfig` and :class:`inrkit.runs.RunOptions`; the
other commands are the dataclasses in :mod:`.outputs`, :mod:`.inspect` and :mod:`.bench`. User errors
(:class:`~inrkit.errors.InrkitError`) print one sentence to stderr and exit with status 2; nothing is
half-written.
"""
from __future__ import annotations

import sys
import warnings

import tyro

from ..errors import InrkitError
from .bench import BenchCodec, BenchImages, Ntk, Tune
from .codec import Compress, Decompress
from .fieldsets import FitMany
from .functa import Encode, Interpolate
from .meta import MetaTrain
from .fit import fit_command
from .inspect import Info, Presets, Samples
from .outputs import Eval, Mesh, Render
from .superres import SrTrain, Upscale
from .view import View

__all__ = ["main", "COMMANDS", "GROUPS"]

COMMANDS = {"compress": Compress, "decompress": Decompress, "fit-many": FitMany, "meta-train": MetaTrain,
            "encode": Encode, "interpolate": Interpolate, "upscale": Upscale, "render": Render, "mesh": Mesh,
            "eval": Eval, "info": Info, "presets": Presets, "samples": Samples, "tune": Tune, "ntk": Ntk, "view": View}
"""The commands that take no kind, by name."""
GROUPS = {"bench": {"images": BenchImages, "codec": BenchCodec}, "sr": {"train": SrTrain}}
"""Commands with a second word; ``fit`` takes every kind in :data:`inrkit.signals.KINDS`."""


def _groups() -> dict[str, dict]:
    from ..signals import KINDS

    return {"fit": {name: kind for name, kind in KINDS.items()}, **GROUPS}


def _usage() -> str:
    lines = ["usage: inrkit COMMAND [ARGS]  (inrkit COMMAND --help for its options; inrkit --version)", "",
             "commands:"]
    for group, entries in _groups().items():
        for name, entry in entries.items():
            text = entry.help if group == "fit" else entry.__doc__
            lines.append(f"  {group + ' ' + name:14s} {text.splitlines()[0]}")
    for name, cls in COMMANDS.items():
        lines.append(f"  {name:14s} {cls.__doc__.splitlines()[0]}")
    return "\n".join(lines)


def _parse(argv: list[str]):
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        raise SystemExit(0 if argv else 2)
    if argv[0] in ("--version", "-V"):
        from .. import __version__

        print(f"inrkit {__version__}")
        raise SystemExit(0)
    name, rest = argv[0], argv[1:]
    groups = _groups()
    if name in groups:
        entries = groups[name]
        if not rest or rest[0] in ("-h", "--help"):
            print(_usage())
            raise SystemExit(0 if rest else 2)
        if rest[0] not in entries:
            what = "signal kind" if name == "fit" else "subcommand"
            raise InrkitError(f"unknown {what} {rest[0]!r} for {name}; expected one of {', '.join(entries)}")
        command = fit_command(entries[rest[0]]) if name == "fit" else entries[rest[0]]
        return tyro.cli(command, args=rest[1:], prog=f"inrkit {name} {rest[0]}")
    if name not in COMMANDS:
        raise InrkitError(f"unknown command {name!r}; expected {', '.join([*groups, *COMMANDS])}")
    return tyro.cli(COMMANDS[name], args=rest, prog=f"inrkit {name}")


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """inrkit's own warnings as one line (``inrkit: warning: ...``); others as Python prints them."""
    if "inrkit" in str(filename):
        return f"inrkit: warning: {message}\n"
    return _python_format_warning(message, category, filename, lineno, line)


_python_format_warning = warnings.formatwarning


def main(argv: list[str] | None = None) -> int:
    """Run ``inrkit ARGV``; the exit status (0, 2 for a user error, 130 when interrupted)."""
    argv = sys.argv[1:] if argv is None else argv
    warnings.formatwarning = _format_warning
    try:
        _parse(argv).run()
    except InrkitError as e:
        print(f"inrkit: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `inrkit presets | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt as e:
        saved = f": {e}" if str(e) else "; checkpoints already written are intact"
        print(f"inrkit: interrupted{saved}", file=sys.stderr)
        return 130
    except (MemoryError, RuntimeError) as e:
        if isinstance(e, RuntimeError) and not _out_of_memory(e):
            raise
        print("inrkit: error: out of memory: ask for less at once (a smaller --size, --scale, --resolution, "
              "--batch-size or --chunk-size); files already written are intact", file=sys.stderr)
        return 2
    return 0


def _out_of_memory(e: RuntimeError) -> bool:
    """Whether a RuntimeError is PyTorch failing to allocate (CPU or GPU)."""
    import torch

    return isinstance(e, torch.OutOfMemoryError) or "can't allocate memory" in str(e)
