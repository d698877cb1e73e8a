"""``inrkit fit KIND``: one command per kind, built from the kind's options and the loop's config."""
from __future__ import annotations

import dataclasses
from dataclasses import field, make_dataclass
from typing import Annotated

import tyro

from ..runs import RunOptions
from ..train import FitConfig

__all__ = ["CLI_FIT_DEFAULTS", "fit_command"]

CLI_FIT_DEFAULTS = {"steps": 500, "eval_every": 50}
"""Where ``inrkit fit`` differs from :class:`inrkit.FitConfig` (a short first run; the loop's own
defaults suit longer fits from Python); a kind's ``fit_defaults`` go over these."""

_Flat = tyro.conf.OmitArgPrefixes  # --steps, not --train.steps


def fit_command(kind) -> type:
    """The dataclass tyro parses for ``inrkit fit KIND``: the kind's source options (its ``source`` the
    positional argument), :class:`RunOptions` and :class:`FitConfig`, all as flat flags."""
    train = {**CLI_FIT_DEFAULTS, **kind.fit_defaults}
    unknown = set(train) - {f.name for f in dataclasses.fields(FitConfig)}
    if unknown:
        raise TypeError(f"kind {kind.name!r}: fit_defaults names no FitConfig field: {', '.join(sorted(unknown))}")

    def run(self) -> None:
        from ..runs import fit_run

        result, signal, out = fit_run(kind, self.signal, self.train, self.run_options)
        print(f"{kind.summary(result.metrics, self.signal, signal)} -> {out}")
        if self.run_options.view:  # the viewer's thread serves on until Ctrl-C
            import time

            print(f"the viewer stays up at http://127.0.0.1:{self.run_options.view_port}/ (Ctrl-C stops it)",
                  flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass

    cls = make_dataclass(
        f"Fit{kind.name.title().replace('-', '')}",
        [
            ("signal", Annotated[kind.options, _Flat, tyro.conf.arg(name="")], field(default_factory=kind.options)),
            ("run_options", Annotated[RunOptions, _Flat, tyro.conf.arg(name="run")],
             field(default_factory=lambda: RunOptions(preset=kind.preset_flag))),
            ("train", Annotated[FitConfig, _Flat, tyro.conf.arg(name="training")],
             field(default_factory=lambda: FitConfig(**train))),
        ],
        namespace={"run": run},
    )
    cls.__doc__ = kind.help
    return cls
