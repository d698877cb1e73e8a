"""Threads that follow the machine's load (the measurement is the OS's; the policy is tested here)."""
import os
import time

import pytest
import torch

from inrkit import threads
from inrkit.threads import ThreadGovernor, threads_for


@pytest.mark.parametrize("cores,others,want", [
    (2, 0.0, 2), (2, 0.3, 2), (2, 0.45, 1), (2, 1.0, 1), (2, 3.0, 1), (16, 4.2, 12), (1, 0.0, 1),
])
def test_threads_are_the_free_cores(cores, others, want):
    assert threads_for(cores, others) == want


def test_a_fixed_count_is_kept_and_restored():
    before = torch.get_num_threads()
    g = ThreadGovernor(threads=1)
    assert torch.get_num_threads() == 1
    g.poll()
    assert torch.get_num_threads() == 1
    g.restore()
    assert torch.get_num_threads() == before


def test_the_count_changes_only_when_the_load_persists(monkeypatch):
    """One busy reading is a blip; two in a row change the count; an idle machine brings threads back."""
    if torch.get_num_threads() < 2:
        pytest.skip("needs two threads to start from")
    monkeypatch.setattr(threads, "cpu_count", lambda: 2)
    g = ThreadGovernor(threads=0, every=0.0, first_look=0)
    readings = iter([1.0, 1.0, 1.0, 0.0, 0.0])
    monkeypatch.setattr(g, "others_busy", lambda: next(readings))
    g.poll()
    assert g.threads == 2  # a blip
    g.poll()
    assert g.threads == 1  # it stayed
    g.poll()
    g.poll()
    assert g.threads == 1
    g.poll()
    assert g.threads == 2  # idle again
    g.restore()


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="reads the load from /proc/stat (Linux)")
def test_own_work_is_not_counted_as_somebody_elses():
    g = ThreadGovernor(threads=0, every=0.0, first_look=0)
    t = time.perf_counter()
    x = torch.randn(300, 300)
    while time.perf_counter() - t < 0.5:  # keep this process busy
        x = (x @ x).tanh()
    others = g.others_busy()
    g.restore()
    assert others is not None and others < torch.get_num_threads()  # not our own threads
