"""torchrun with 2 gloo processes on localhost: meta-train gives the checkpoint of one process, and a rank
that dies leaves one sentence, a non-zero exit and nothing that looks complete."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
from safetensors.torch import load_file

from inrkit.cli import main
from inrkit.fieldsets import load_fieldset

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _torchrun(*args, script=None, timeout=300):
    launch = [script] if script else ["-m", "inrkit.cli"]
    # the agent looks at its workers every 5 s: a survivor speaks before it is told to stop
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "--monitor-interval", "5", *launch, *args], env=ENV, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("method", ["maml", "reptile"])
def test_meta_train_on_two_processes_is_meta_train_on_one(tmp_path, method):
    """Each process takes half of every batch; the averaged meta-gradient is the batch's, so θ is the same."""
    args = ["meta-train", "sample:shapes", "--method", method, "--size", "12x12", "--limit", "24", "--val-images",
            "4", "--steps", "4", "--batch-size", "4", "--val-every", "2", "--width", "12", "--depth", "2",
            "--inner-steps", "2", "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    done = _torchrun(*args, "--out", str(tmp_path / "two"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("outer steps in") == 1  # rank 0 reports
    one, two = load_file(tmp_path / "one" / "meta.safetensors"), load_file(tmp_path / "two" / "meta.safetensors")
    assert one.keys() == two.keys()
    for k in one:
        assert (one[k] - two[k]).abs().max() < 1e-5, k
    info = json.loads((tmp_path / "two" / "meta.json").read_text())
    assert info["processes"] == 2 and [h["step"] for h in info["history"]] == [0, 2, 4]


def test_a_batch_that_does_not_split_over_the_processes_is_refused(tmp_path):
    done = _torchrun("meta-train", "sample:shapes", "--size", "8x8", "--limit", "6", "--val-images", "2",
                     "--batch-size", "3", "--width", "4", "--depth", "1", "--device", "cpu", "--out", str(tmp_path / "m"))
    assert done.returncode != 0
    assert "a batch of 3 images does not split over 2 processes; give a multiple" in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "m" / "meta.json").exists()


DIE = """
import importlib, os, sys, time
import inrkit.fieldsets
fm = importlib.import_module("inrkit.fieldsets.fit_many")
gather = fm.gather

def dying(*a, **k):
    if os.environ["RANK"] == "1":
        time.sleep(2)  # rank 0 is waiting for rank 1's fields by now
        os._exit(1)  # killed after its fits, before sending them: no exception, no cleanup
    return gather(*a, **k)

fm.gather = dying
from inrkit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_rank_that_dies_leaves_no_fieldset_and_keeps_the_one_before(tmp_path):
    args = ["fit-many", "sample:shapes", "--limit", "4", "--width", "8", "--depth", "2", "--steps", "10",
            "--device", "cpu", "--no-progress", "--out", str(tmp_path / "fs")]
    assert main(args) == 0
    before = (tmp_path / "fs" / "fieldset.safetensors").read_bytes(), (tmp_path / "fs" / "fieldset.json").read_text()
    script = tmp_path / "die.py"
    script.write_text(textwrap.dedent(DIE))
    done = _torchrun(*args, script=str(script))
    assert done.returncode != 0
    assert "another process of this torchrun job stopped while gathering the fitted fields, so nothing was " \
           "written" in done.stderr, done.stderr[-3000:]
    assert "[rank0]: Traceback" not in done.stderr  # one sentence from the survivor, not a gloo traceback
    after = (tmp_path / "fs" / "fieldset.safetensors").read_bytes(), (tmp_path / "fs" / "fieldset.json").read_text()
    assert after == before and len(load_fieldset(tmp_path / "fs")) == 4
    done = _torchrun(*args[:-1], str(tmp_path / "new"), script=str(script))
    assert done.returncode != 0 and not (tmp_path / "new" / "fieldset.json").exists()
