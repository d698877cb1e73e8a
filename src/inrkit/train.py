"""The fit loop: one explicit loop, top to bottom.

Sample coordinates, compare the field to the observations, step Adam; evaluate
every ``eval_every`` steps, checkpoint every ``checkpoint_every`` steps, stop at
``steps`` or when the training time reaches ``time_budget``.

What the loop needs from a signal is declared in :mod:`inrkit.signals.base`
(:class:`~inrkit.signals.base.Signal`): a :class:`~inrkit.signals.base.SampledSignal`
(image, sound, volume, clip) is fitted to its ``train_data()`` directly (MSE, full batch
with the encoding's cache where it fits), any other signal through its own
``loss(field, step, batch_size, generator)``.
"""
from __future__ import annotations

import csv
import ctypes
import dataclasses
import math
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import TRAIN_STATE, resume_training, save_checkpoint
from .encodings import Identity  # noqa: F401 (auto_batch_size's example)
from .errors import InrkitError
from .io import atomic_path, output_folder, write_json
from .losses import multiscale_mse
from .memory import available_memory
from .fields import Field, FieldConfig
from .networks import MLP  # noqa: F401 (auto_batch_size's example)
from .progress import Bar, silenced, status
from .signals.base import SampledSignal, Signal
from .threads import ThreadGovernor

__all__ = ["FitConfig", "FitResult", "OptimConfig", "fit", "make_field", "pick_device"]

PROGRESS = "progress.json"
"""What a fit writes at each evaluation when it has an output folder: step, history, done."""


@dataclass
class OptimConfig:
    """Adam and its learning-rate schedule."""

    lr: float = 1e-3
    """Learning rate."""
    betas: tuple[float, float] = (0.9, 0.999)
    """Adam's betas."""
    eps: float = 1e-8
    """Adam's epsilon."""
    schedule: str = "none"
    """none | cosine | exponential (both decay to lr * final_lr_ratio at the last step)."""
    final_lr_ratio: float = 0.1
    """Learning rate at the last step, relative to lr, for the decaying schedules."""
    optimizer: str = "adam"
    """adam, or sgd: plain SGD at lr (no momentum), the test-time optimiser of a meta-learned initialisation."""


@dataclass
class FitConfig:
    """How long and how to train."""

    steps: int = 2000
    """Stop after this many optimiser steps."""
    time_budget: float = 0.0
    """Also stop once training has taken this many seconds (0: no budget). Training time counts the
    steps and the one-off caching of encodings; evaluation and checkpoint writing are not counted."""
    batch_size: int = 0
    """Coordinates per step. 0 (automatic, :func:`auto_batch_size`): signals fitted to their samples
    (images, audio, volumes, video) train on all of them at once (full batch) when that step fits in
    half the available memory, else on random batches of 65,536; under a time budget on a CPU, on
    random batches of 16,384. Signals seen through a forward model use their own
    ``default_batch_size``. A batch at least as large as the signal is full batch."""
    eval_every: int = 100
    """Evaluate on the full signal every this many steps (and at the end)."""
    checkpoint_every: int = 500
    """Write a resumable checkpoint every this many steps (0: only at the end)."""
    seed: int = 0
    """Seed of every random choice: initialisation, features, batches."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""
    compile: str = "auto"
    """torch.compile the network for training: auto (for networks of width >= 128 over >= 200 steps,
    when a C++ compiler or CUDA is there), on or off. Evaluation always uses the plain network."""
    reuse_cpu_memory: bool = True
    """On Linux CPUs, ask glibc to keep freed memory for reuse instead of handing large blocks back
    to the OS after every step (20-25% faster steps here); it stays so for the rest of the process."""
    cache_mb: int = 1024
    """Largest cached encoding of the training coordinates, in MiB."""
    progress: bool = True
    """Show progress: a bar on a terminal, a plain line every 10 s elsewhere (logs, nohup, CI)."""
    threads: int = 0
    """CPU threads (0: follow the load, using the cores other processes leave free, re-checked
    every 2 s; PyTorch's default of one per core stalls when another process is busy)."""
    keep_train_state: bool = True
    """Keep train_state.pt (the optimiser state, for resuming; about twice the weights) after the run."""


@dataclass
class FitResult:
    field: Field
    history: list[dict]
    metrics: dict
    prediction: object = None


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InrkitError("device 'cuda' was asked for but PyTorch sees no CUDA GPU")
    if name != "cpu" and not name.startswith("cuda"):
        raise InrkitError(f"unknown device {name!r}; expected auto, cpu or cuda")
    return torch.device(name)


def make_field(cfg: FieldConfig, signal, seed: int = 0) -> Field:
    """Build ``cfg`` for ``signal``: a hash grid with ``finest_resolution=0`` takes the signal's
    ``grid_resolution`` (the output grid's size, where the signal has one) or else its ``resolution``;
    BACON's band limit follows ``resolution`` (the training samples' Nyquist)."""
    cfg = FieldConfig.from_dict(cfg.to_dict())
    if cfg.encoding.kind == "hashgrid" and cfg.encoding.finest_resolution <= 0:
        finest = getattr(signal, "grid_resolution", signal.resolution)  # any object with a resolution
        cfg.encoding.finest_resolution = max(int(finest), cfg.encoding.base_resolution)
    if cfg.network.kind == "bacon" and cfg.network.max_frequency <= 0:
        cfg.network.max_frequency = signal.resolution / 4  # Nyquist of `resolution` samples across [-1, 1]
    check_seed(seed)
    torch.manual_seed(seed)
    return cfg.build(signal.in_dim, signal.out_dim)


def check_seed(seed: int) -> None:
    """A seed every generator takes: an integer in [0, 2^63)."""
    if not 0 <= seed < 2**63:
        raise InrkitError(f"seed must be an integer from 0 to 2^63 - 1, got {seed}")


def lr_factor(optim: OptimConfig, progress: float) -> float:
    """Learning-rate multiplier at ``progress`` in [0, 1] of the run.

    Progress is the larger of ``step / steps`` and ``seconds / time_budget``, so a
    schedule spans the run whichever limit ends it.
    """
    r, t = optim.final_lr_ratio, min(max(progress, 0.0), 1.0)
    if optim.schedule == "none":
        return 1.0
    if optim.schedule == "cosine":
        return r + (1 - r) * 0.5 * (1 + math.cos(math.pi * t))
    if optim.schedule == "exponential":
        return r**t
    raise InrkitError(f"unknown schedule {optim.schedule!r}; expected none, cosine or exponential")


def fit(
    field: Field,
    signal,
    cfg: FitConfig = FitConfig(),
    optim: OptimConfig = OptimConfig(),
    out_dir: str | Path | None = None,
    resume: bool = False,
    meta: dict | None = None,
) -> FitResult:
    """Fit ``field`` to ``signal``; with ``out_dir``, write checkpoint, metrics, history and reconstruction there."""
    if cfg.steps < 1:
        raise InrkitError(f"steps must be positive, got {cfg.steps}")
    if cfg.time_budget < 0 or not math.isfinite(cfg.time_budget):
        raise InrkitError(f"time budget must be a non-negative number of seconds, got {cfg.time_budget}")
    if cfg.batch_size < 0:
        raise InrkitError(f"batch size must be a positive number of samples (0: automatic), got {cfg.batch_size}")
    if cfg.eval_every < 1:
        raise InrkitError(f"eval-every must be a positive number of steps, got {cfg.eval_every}")
    if cfg.checkpoint_every < 0:
        raise InrkitError(f"checkpoint-every must be a number of steps (0: only at the end), got {cfg.checkpoint_every}")
    check_seed(cfg.seed)
    if not (0 < optim.lr < math.inf):
        raise InrkitError(f"learning rate must be a positive finite number, got {optim.lr}")
    device = pick_device(cfg.device)
    out_dir = Path(out_dir) if out_dir is not None else None
    if out_dir is not None and getattr(field, "config", None) is None:
        raise InrkitError(f"cannot save the fit in {str(out_dir)!r}: a checkpoint records how to rebuild the field "
                          "(its config), and this one was built from modules; build it from a config "
                          "(FieldConfig(...).build or inrkit.make_field), or fit without out_dir")
    if cfg.threads < 0:
        raise InrkitError(f"threads must be a positive number (0: follow the load), got {cfg.threads}")
    field = field.to(device)
    if device.type == "cpu" and cfg.reuse_cpu_memory:
        reuse_freed_memory()
    if not isinstance(signal, Signal):
        raise InrkitError(f"fit takes an inrkit signal (a subclass of inrkit.signals.base.Signal), "
                          f"got a {type(signal).__name__}")
    # Samples of the field (images, sounds, ...) are fitted directly, with what can be cached cached;
    # a forward model (projections, k-space, rays, ...) computes its own loss.
    signal_loss = None if isinstance(signal, SampledSignal) else signal.loss
    metric, batch_unit = signal.metric, signal.batch_unit
    if signal_loss is None:
        coords, values = (t.to(device) for t in signal.train_data())  # (N, in_dim), (N, out_dim)
        n = coords.shape[0]
        batch_size = cfg.batch_size or auto_batch_size(field, n, device, timed=bool(cfg.time_budget))
    else:
        batch_size = cfg.batch_size or signal.default_batch_size
    if optim.optimizer not in ("adam", "sgd"):
        raise InrkitError(f"unknown optimizer {optim.optimizer!r}; expected adam or sgd")
    if optim.optimizer == "sgd":
        opt = torch.optim.SGD(field.parameters(), lr=optim.lr)
    else:
        opt = torch.optim.Adam(field.parameters(), lr=optim.lr, betas=tuple(optim.betas), eps=optim.eps)
    lr_factor(optim, 0.0)  # rejects an unknown schedule before any work

    def set_lr():
        for group in opt.param_groups:
            group["lr"] = optim.lr * lr_factor(optim, run_progress(step, seconds, cfg))
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    step, seconds, history = 0, 0.0, []
    if resume:
        step, seconds, history = resume_training(out_dir / TRAIN_STATE, cfg.steps, opt, gen, device,
                                                 "; fit without --resume to start again")

    # What can be computed once for fixed coordinates is computed once (and counted as training time),
    # by the field (Field.cache); a compiled form of it (same parameters) takes the training steps.
    t_setup = time.perf_counter()
    cache, full_batch, train_field = None, False, field
    if signal_loss is None:
        full_batch = n <= batch_size
        cache = field.cache(coords, batches=not full_batch, max_bytes=cfg.cache_mb * 2**20)
        train_field = field.compiled(compile_mode(cfg, device))
    seconds += time.perf_counter() - t_setup

    run_meta = dict(meta or {})
    run_meta.update(signal=absolute_source(signal.metadata()), fit={**dataclasses.asdict(cfg), "batch_size": batch_size},
                    optim=dataclasses.asdict(optim))

    def evaluate(full: bool):
        field.eval()
        pred = signal.predict(field, device=device)
        field.train()
        return pred, signal.evaluate(pred, full=full)

    def checkpoint():
        train_state = {
            "optimizer": opt.state_dict(),
            "generator": gen.get_state(),
            "step": step,
            "seconds": seconds,
            "history": history,
        }
        run = {"seconds": round(seconds, 3), "device": str(device),
               "threads": used if used is not None else (threads.threads if threads else None)}
        save_checkpoint(out_dir, field, {**run_meta, "step": step, "run": run}, train_state)

    shape = (run_meta.get("signal") or {}).get("shape")

    def report(done: bool = False, stopped: str | None = None):
        """``progress.json``: the history so far, for a viewer watching the run (``inrkit view``, ``--view``);
        values that are not finite (an exact fit's PSNR) are written as null, which JSON readers accept."""
        finite = [{k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in h.items()}
                  for h in history]
        write_json(out_dir / PROGRESS, {"kind": signal.kind, "shape": shape, "step": step, "steps": cfg.steps,
                                        "seconds": round(seconds, 3), "time_budget": cfg.time_budget,
                                        "metric": metric, "history": finite, "done": done, "stopped": stopped})

    if out_dir is not None:
        output_folder(out_dir)
        if step > 0:
            report()  # a resumed run is training again from here

    progress = FitProgress(cfg, metric, start=(step, seconds), unit=(batch_unit, batch_size) if batch_unit else None)
    field.train()
    last_metric = history[-1][metric] if history else None
    threads = ThreadGovernor(cfg.threads) if device.type == "cpu" else None
    used = None  # the thread count at the end of training
    try:
        while step < cfg.steps and not (cfg.time_budget and seconds >= cfg.time_budget):
            if threads is not None:
                threads.poll()
            t0 = time.perf_counter()
            try:
                if signal_loss is not None:
                    loss = signal_loss(field, step=step, batch_size=batch_size, generator=gen)
                else:
                    idx = None if full_batch else torch.randint(n, (batch_size,), device=device, generator=gen)  # (B,)
                    target = values if idx is None else values[idx]
                    # every output the field trains (BACON: one per scale) fits the samples
                    loss = multiscale_mse(train_field.training_outputs(cache, idx), target)
                opt.zero_grad(set_to_none=True)
                loss.backward()
            except Exception as e:  # a compiled network that cannot run here: fall back, once
                if train_field is field:
                    raise
                warnings.warn(f"torch.compile failed ({type(e).__name__}: {e}); training continues without it")
                train_field = field
                continue
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                saved = _saved_step(out_dir) if out_dir else None
                kept = "" if saved is None else f"; the last good checkpoint (step {saved}) is kept in {out_dir}"
                raise InrkitError(
                    f"the loss became {loss_value} at step {step + 1}: training diverged, "
                    f"try a lower learning rate (--lr){kept}"
                )
            set_lr()
            opt.step()
            step += 1
            seconds += time.perf_counter() - t0
            done = step >= cfg.steps or (cfg.time_budget and seconds >= cfg.time_budget)
            if step % cfg.eval_every == 0 or done:
                _, m = evaluate(full=False)
                last_metric = m[metric]
                history.append({"step": step, "seconds": round(seconds, 4), metric: m[metric], "loss": loss_value})
                if out_dir is not None:
                    report()
            if out_dir is not None and cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and not done:
                checkpoint()
            progress.update(step, seconds, last_metric, loss_value)
    except KeyboardInterrupt:  # keep what was trained: --resume continues from here
        if out_dir is not None and (out_dir / PROGRESS).exists():
            report(done=True, stopped="interrupted")
        if out_dir is not None and step > 0:
            progress.close()
            checkpoint()
            raise KeyboardInterrupt(f"step {step} saved in {out_dir}; --resume continues it") from None
        raise
    except BaseException:
        if out_dir is not None and (out_dir / PROGRESS).exists():
            report(done=True, stopped="failed")  # a viewer stops waiting for it
        raise
    finally:
        progress.close()
        if threads is not None:
            used = threads.threads
            threads.restore()

    # The signal's own bars (rendering test views, meshing) follow cfg.progress too.
    with silenced(not cfg.progress):
        with status("evaluating on the full signal"):
            pred, final = evaluate(full=True)
        metrics = {
            **final,
            "steps": step,
            "seconds": round(seconds, 3),
            "steps_per_second": round(step / seconds, 3) if seconds else None,
            "params": field.n_params(),
            **({f"{batch_unit}_per_second": round(step * batch_size / seconds, 1) if seconds else None}
               if batch_unit else {}),
            "batch_size": batch_size,
            "preset": run_meta.get("preset"),
            "device": str(device),
            "threads": used,
        }
        if out_dir is not None:
            with status(f"writing the results to {out_dir}"):
                checkpoint()
                if not cfg.keep_train_state:
                    (out_dir / TRAIN_STATE).unlink(missing_ok=True)
                write_json(out_dir / "metrics.json", metrics)
                with atomic_path(out_dir / "history.csv") as tmp, open(tmp, "w", newline="") as f:
                    w = csv.DictWriter(f, fieldnames=["step", "seconds", metric, "loss"])
                    w.writeheader()
                    w.writerows(history)
                from .plots import training_curve

                training_curve(history, metric, out_dir / "training.png")
                signal.save(out_dir / signal.output_name, pred)
                report(done=True)
    return FitResult(field, history, metrics, pred)


def absolute_source(signal_meta: dict) -> dict:
    """``signal_meta`` with its ``source`` made absolute when it names a file or folder, so the
    checkpoint can be evaluated and rendered from any working directory (``sample:``/``builtin:``
    names stay as they are)."""
    source = signal_meta.get("source")
    if isinstance(source, str) and source and Path(source).exists():
        return {**signal_meta, "source": str(Path(source).resolve())}
    return signal_meta


def run_progress(step: int, seconds: float, cfg: FitConfig) -> float:
    """How far a run is, in [0, 1]: the larger of ``step / steps`` and ``seconds / time_budget``, so a
    schedule (and the progress bar) spans the run whichever limit ends it.

    Examples:
        >>> run_progress(250, 10.0, FitConfig(steps=1000))
        0.25
        >>> run_progress(250, 10.0, FitConfig(steps=1000, time_budget=20))
        0.5
    """
    progress = step / cfg.steps
    if cfg.time_budget:
        progress = max(progress, seconds / cfg.time_budget)
    return min(progress, 1.0)


# Memory a full-batch step may use, as a share of the memory available when the fit starts.
FULL_BATCH_MEMORY_SHARE = 0.5
MINI_BATCH = 1 << 16  # when a full batch does not fit
TIMED_BATCH = 1 << 14  # on a CPU, under a time budget


def auto_batch_size(field: Field, n: int, device: torch.device, timed: bool = False) -> int:
    """The batch ``FitConfig(batch_size=0)`` picks for ``n`` training samples.

    - Under a time budget on a CPU (``timed``): :data:`TIMED_BATCH` random samples, since a fit
      limited by time gains more from many cheap steps than from few exact ones (24 Kodak photos,
      20 s: 41.97 dB mean with 16,384 samples a step against 22.92 dB full batch; BENCHMARKS.md).
    - Otherwise all ``n`` (full batch: the most progress per step) when that step fits in half the
      available memory, else :data:`MINI_BATCH` random samples.

    Examples:
        >>> field = Field(Identity(2), MLP(2, 3, width=64, depth=2))
        >>> auto_batch_size(field, 512 * 768, torch.device("cpu"))   # a Kodak photo: full batch
        393216
        >>> auto_batch_size(field, 512 * 768, torch.device("cpu"), timed=True)
        16384
        >>> auto_batch_size(field, 4096, torch.device("cpu"), timed=True)   # a small signal: all of it
        4096
    """
    if timed and device.type == "cpu":
        return min(n, TIMED_BATCH)
    if n <= MINI_BATCH:
        return n
    need = n * field.training_bytes_per_point()
    return n if need <= FULL_BATCH_MEMORY_SHARE * available_memory(device) else MINI_BATCH


def reuse_freed_memory() -> bool:
    """Keep freed heap memory for reuse (glibc ``mallopt``); True when it took effect.

    glibc serves blocks over 32 MiB with ``mmap`` and unmaps them on free, so each
    training step page-faults its activations in afresh (a 65536x256 float32 matmul
    runs at ~150 instead of ~195 GFLOP/s here). PyTorch's CPU performance guide gets
    the same effect by preloading jemalloc or tcmalloc; this does it in-process.
    """
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl)
        return False
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))


def compile_mode(cfg: FitConfig, device: torch.device) -> str:
    """What the loop asks of :meth:`Field.compiled`: ``cfg.compile``, or off where compiling cannot pay.

    Off without a C++ compiler on a CPU (``on`` then stops with an error). ``auto`` is off for runs
    under 200 steps and under a time budget: compiling takes 5-20 s on a CPU, counted as training
    time, which a short budget cannot win back (ffn-gauss with --time-budget 5: 1 step compiled
    against 12 plain); the field decides the rest (the families and widths that gain).

    Examples:
        >>> compile_mode(FitConfig(compile="auto", steps=100), torch.device("cuda"))
        'off'
        >>> compile_mode(FitConfig(compile="auto", steps=2000), torch.device("cuda"))
        'auto'
    """
    if cfg.compile not in ("auto", "on", "off"):
        raise InrkitError(f"compile must be auto, on or off, got {cfg.compile!r}")
    if cfg.compile == "off" or (cfg.compile == "auto" and (cfg.steps < 200 or cfg.time_budget)):
        return "off"
    if device.type != "cuda" and not any(shutil.which(c) for c in ("cc", "gcc", "g++", "clang")):
        if cfg.compile == "on":
            raise InrkitError("compile=on needs a C++ compiler (cc, gcc or clang) on the PATH for CPU training")
        return "off"
    return cfg.compile


def _saved_step(out_dir: Path) -> int | None:
    """The step of the checkpoint in ``out_dir``, None when there is none (or it cannot be read)."""
    try:
        return int(torch.load(out_dir / TRAIN_STATE, weights_only=True)["step"])
    except Exception:
        return None


class FitProgress:
    """The fit's progress: a bar that follows whichever limit ends the run (``--steps`` or
    ``--time-budget``), the last evaluated metric (nothing before the first evaluation), the loss and
    the speed; plain lines every 10 s when standard error is not a terminal.

    ``unit=(name, per_step)`` shows ``name``/s (e.g. rays/s) in place of steps/s.
    """

    def __init__(self, cfg: FitConfig, metric: str, start: tuple[int, float] = (0, 0.0),
                 unit: tuple[str, int] | None = None):
        self.cfg, self.metric, self.unit = cfg, metric, unit
        self.start = start
        self.bar = Bar("fitting", 1.0, enabled=cfg.progress)

    def update(self, step: int, seconds: float, value: float | None, loss: float):
        self.bar.update(run_progress(step, seconds, self.cfg), self.info(step, seconds, value, loss))

    def info(self, step: int, seconds: float, value: float | None, loss: float) -> str:
        steps = f"step {step}/{self.cfg.steps}"
        if self.cfg.time_budget:
            steps = f"step {step}, {seconds:.0f}/{self.cfg.time_budget:g} s"
        shown = ""
        if value is not None:
            shown = f"  PSNR {value:.2f} dB" if self.metric == "psnr" else f"  {self.metric} {value:.4g}"
        done, took = step - self.start[0], seconds - self.start[1]
        rate = done / took if took > 0 else 0.0
        speed = f"{rate * self.unit[1]:,.0f} {self.unit[0]}/s" if self.unit else f"{rate:.1f} steps/s"
        return f"{steps}{shown}  loss {loss:.2e}  {speed}"

    def close(self):
        self.bar.close()
