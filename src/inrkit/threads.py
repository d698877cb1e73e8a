"""CPU threads that follow the machine's load.

PyTorch's OpenMP threads spin at every barrier waiting for each other. With as many threads as cores
and another busy process on the machine, one thread is always descheduled and the others spin for it:
on the 2-core reference machine a hash-grid step took 4x as long with one busy process beside it
(BENCHMARKS.md, "Speed on a busy machine"). Using only the cores nobody else is using avoids the
stall. :class:`ThreadGovernor` measures, between two calls, how many cores other processes kept busy
(``/proc/stat`` less this process's own CPU time) and sets ``torch.set_num_threads`` to the rest.

Examples:
    >>> from inrkit.threads import threads_for
    >>> threads_for(cores=2, others_busy=0.05)
    2
    >>> threads_for(cores=2, others_busy=1.0)
    1
    >>> threads_for(cores=8, others_busy=2.6)
    5
"""
from __future__ import annotations

import os
import time

import torch

__all__ = ["ThreadGovernor", "cpu_count", "threads_for"]


def cpu_count() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_for(cores: int, others_busy: float) -> int:
    """Threads to use when other processes keep ``others_busy`` cores busy: the free cores, at least one.

    A core counts as taken once others use more than 40% of it (a process polling now and then does
    not cost a thread; one computing does).
    """
    return max(1, cores - int(others_busy + 0.6))


def _busy_seconds() -> float | None:
    """Seconds of CPU time all processes have used since boot (user, nice, system, irq), or None."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class ThreadGovernor:
    """Follows the load: ``poll()`` (cheap: two reads) re-measures once ``every`` seconds have passed and
    changes the thread count when the same new value is seen twice in a row; ``restore()`` puts back the
    thread count it found. ``threads > 0`` fixes the count instead (no measuring).
    """

    def __init__(self, threads: int = 0, every: float = 2.0, first_look: float = 0.1):
        self.original = torch.get_num_threads()
        self.cores, self.every, self.fixed = cpu_count(), every, threads > 0
        self.pending, self.changes = None, 0
        if self.fixed:
            torch.set_num_threads(threads)
        self._mark()
        if not self.fixed and first_look > 0 and self.busy is not None and self.cores > 1:
            time.sleep(first_look)  # idle meanwhile, so what is busy is somebody else
            others = self.others_busy()
            self._mark()
            if others is not None:
                torch.set_num_threads(min(threads_for(self.cores, others), self.original))

    def _mark(self) -> None:
        self.t, self.busy, self.own = time.perf_counter(), _busy_seconds(), time.process_time()

    @property
    def threads(self) -> int:
        return torch.get_num_threads()

    def others_busy(self) -> float | None:
        """Cores other processes used on average since the last mark (None where /proc/stat is missing)."""
        t, busy, own = time.perf_counter(), _busy_seconds(), time.process_time()
        if busy is None or self.busy is None or t - self.t <= 0:
            return None
        return max(0.0, ((busy - self.busy) - (own - self.own)) / (t - self.t))

    def poll(self) -> None:
        if self.fixed or time.perf_counter() - self.t < self.every:
            return
        others = self.others_busy()
        self._mark()
        if others is None:
            return
        want = min(threads_for(self.cores, others), self.original)
        if want == self.threads:
            self.pending = None
        elif want == self.pending:  # seen twice: the load changed, not a blip
            torch.set_num_threads(want)
            self.pending, self.changes = None, self.changes + 1
        else:
            self.pending = want

    def restore(self) -> None:
        torch.set_num_threads(self.original)
