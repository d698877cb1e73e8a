"""The few collectives that datasets of fields use under torchrun, in one place.

``torchrun --nproc-per-node N`` (or a multi-node launch) sets ``WORLD_SIZE`` and ``RANK``; the first call
of :func:`context` joins the process group (gloo on CPUs, NCCL on CUDA, where each process of a node takes
the GPU of its ``LOCAL_RANK``). Work is sharded by rank, only
gradients and results cross processes, and rank 0 alone writes. A peer that dies (killed, out of memory)
makes the collectives of the others fail: each of them turns that into one sentence, an
:class:`~inrkit.errors.InrkitError` with a non-zero exit, before anything is written, so no output that
looks complete is left behind. Outside torchrun every function here is a no-op for one process.

Examples:
    >>> context(torch.device("cpu"))   # not under torchrun
    (0, 1)
    >>> gather({0: "a"}, 1)
    [{0: 'a'}]
"""
from __future__ import annotations

import os
from contextlib import contextmanager

import torch

from ..errors import InrkitError

__all__ = ["all_reduce_mean", "average", "barrier", "context", "gather"]


def context(device: torch.device) -> tuple[int, int]:
    """``(rank, world)``: under torchrun (``WORLD_SIZE`` > 1) the process group is joined (gloo on a CPU,
    NCCL on CUDA) if not yet; else ``(0, 1)``."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if device.type == "cuda" and device.index is None:  # one GPU per process on a node: this rank's own
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    if not dist.is_initialized():
        try:
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        except (RuntimeError, ValueError) as e:
            raise InrkitError(f"cannot join the torchrun process group ({str(e).splitlines()[0]})") from None
    return dist.get_rank(), dist.get_world_size()


@contextmanager
def _peers(what: str, written: bool | None = False):
    try:
        yield
    except RuntimeError as e:  # gloo/NCCL: a closed connection, a timeout (DistError is a RuntimeError)
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        outcome = {True: ", after the output was written", False: ", so nothing was written", None: ""}[written]
        raise InrkitError(f"another process of this torchrun job stopped while {what}{outcome} "
                          f"({first[:120]})") from None


def average(tensors, world: int, what: str = "averaging gradients") -> None:
    """Average each of ``tensors`` (contiguous, in place) over the ``world`` processes; a no-op for one."""
    if world <= 1:
        return
    import torch.distributed as dist

    with _peers(what):
        for t in tensors:
            dist.all_reduce(t)
            t /= world


def all_reduce_mean(tensors, world: int, what: str = "averaging gradients") -> None:
    """Average the ``.grad`` of ``tensors`` (in place) over the ``world`` processes; a no-op for one."""
    average([t.grad for t in tensors if t.grad is not None], world, what)


def gather(obj, world: int, what: str = "gathering results") -> list | None:
    """Every process's ``obj`` on rank 0, in rank order (``None`` on the other ranks); ``[obj]`` for one."""
    if world <= 1:
        return [obj]
    import torch.distributed as dist

    rank = dist.get_rank()
    parts = [None] * world if rank == 0 else None
    with _peers(what):
        dist.gather_object(obj, parts, dst=0)
    return parts


def barrier(world: int, what: str = "waiting for the other processes", written: bool | None = False) -> None:
    """Wait for every process (no-op for one). ``written``: whether the output is complete by now (``None``:
    this process cannot tell), for the message when a peer died."""
    if world <= 1:
        return
    import torch.distributed as dist

    with _peers(what, written):
        dist.barrier()
