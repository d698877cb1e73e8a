"""Progress for anything that takes more than a few seconds.

On a terminal: a rich progress bar (or a spinner for work of unknown length). Anywhere else (a log
file, ``nohup``, CI): a plain line every :data:`INTERVAL` seconds and one when the work ends, so a
log shows what is happening while it happens. Everything goes to standard error; standard output
keeps the results.

Examples:
    >>> from inrkit.progress import track
    >>> sum(track(range(4), "adding", enabled=False))
    6
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

__all__ = ["INTERVAL", "Bar", "is_terminal", "silenced", "status", "track"]

T = TypeVar("T")

INTERVAL = 10.0
"""Seconds between the plain progress lines printed when standard error is not a terminal."""


_LIVE: list["Bar"] = []  # the live bar on the terminal, if any
_SILENT: list[bool] = [False]


@contextmanager
def silenced(silent: bool = True):
    """No progress from anything inside (a caller that was asked for none, e.g. ``FitConfig(progress=False)``)."""
    _SILENT.append(silent)
    try:
        yield
    finally:
        _SILENT.pop()


def is_terminal() -> bool:
    """Whether standard error is an interactive terminal (where a live bar can redraw itself)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def _console():
    from rich.console import Console

    return Console(stderr=True)


class Bar:
    """A bar from 0 to ``total`` with a free-text field, or plain lines off a terminal.

    ``update(completed, text)`` moves it; ``close()`` ends it (the last line is always printed off a
    terminal). ``total=None`` is work of unknown length: a spinner and the elapsed time.
    """

    def __init__(self, description: str, total: float | None = None, enabled: bool = True,
                 interval: float | None = None):
        enabled = enabled and not _SILENT[-1]
        self.description, self.total, self.enabled = description, total, enabled
        self.interval = INTERVAL if interval is None else interval
        self.start = self.last_line = time.perf_counter()
        self.completed, self.text, self.live = 0.0, "", None
        self._printed = None  # the last plain line's (completed, text): not printed twice
        if enabled and is_terminal() and _LIVE:  # one live display at a time: a bar inside a bar is silent
            self.enabled = False
        elif enabled and is_terminal():
            from rich.progress import (BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn,
                                       TimeElapsedColumn)

            columns = [SpinnerColumn(), TextColumn(description)]
            if total is not None:
                columns += [BarColumn(), TaskProgressColumn()]
            columns += [TextColumn("{task.fields[text]}"), TimeElapsedColumn()]
            self.live = Progress(*columns, console=_console(), transient=False)
            self.task = self.live.add_task(description, total=total, text="")
            self.live.start()
            _LIVE.append(self)

    def update(self, completed: float, text: str = "") -> None:
        self.completed, self.text = completed, text
        if self.live is not None:
            self.live.update(self.task, completed=completed, text=text)
        elif self.enabled and time.perf_counter() - self.last_line >= self.interval:
            self._line()

    def _line(self) -> None:
        if (self.completed, self.text) == self._printed:
            return  # the same line again (an update and then the close)
        self._printed = (self.completed, self.text)
        self.last_line = time.perf_counter()
        elapsed = self.last_line - self.start
        done = ""
        if self.total:
            done = f" {100 * min(self.completed / self.total, 1.0):3.0f}%"
        text = f"  {self.text}" if self.text else ""
        print(f"{self.description}{done}{text}  [{elapsed:.0f} s]", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
            _LIVE.remove(self)
        elif self.enabled:
            self._line()
        self.enabled = False


def track(iterable: Iterable[T], description: str, total: int | None = None, enabled: bool = True) -> Iterator[T]:
    """Iterate over ``iterable`` with a bar (``total`` defaults to ``len(iterable)`` where it has one)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    bar = Bar(description, total, enabled)
    try:
        for i, item in enumerate(iterable):
            yield item
            bar.update(i + 1, f"{i + 1}/{total}" if total else f"{i + 1}")
    finally:
        bar.close()


@contextmanager
def status(description: str, enabled: bool = True):
    """A line when work of unknown length starts, and its time when it ends if that took a second or
    more (bars inside it, such as one per rendered view, show as usual)."""
    enabled = enabled and not _SILENT[-1]
    if enabled:
        print(f"{description} ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    yield
    took = time.perf_counter() - t0
    if enabled and took >= 1.0:
        print(f"{description}: done in {took:.1f} s", file=sys.stderr, flush=True)
