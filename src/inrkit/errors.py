"""The user-facing error.

The file helpers that used to live here (``atomic_path``, ``read_json``, ``input_file``,
``output_folder``, ``output_folder_exists``) are in :mod:`inrkit.io`; importing them from here
still works.
"""
from __future__ import annotations

__all__ = ["InrkitError"]


class InrkitError(Exception):
    """Bad input from the user: the CLI prints the message as one sentence and exits non-zero."""


_MOVED_TO_IO = frozenset({"atomic_path", "read_json", "input_file", "output_folder", "output_folder_exists"})


def __getattr__(name: str):
    # Resolved lazily: inrkit.io imports InrkitError from here, so an eager import would be circular.
    if name in _MOVED_TO_IO:
        from . import io

        return getattr(io, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
