"""Functa: a shared modulated SIREN, a latent per signal, meta-learned; encode, render, interpolate."""
from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import torch

import inrkit
from inrkit.cli import main
from inrkit.errors import InrkitError
from inrkit.fieldsets import load_dataset, load_fieldset
from inrkit.fieldsets.functa import FunctaConfig, ModulatedSiren, _inner, load_functa, meta_loss, train_functa

SMALL = FunctaConfig(width=32, depth=2, latent_dim=16)


def test_shifts_modulate_every_layer_and_a_zero_latent_is_the_shared_field():
    m = ModulatedSiren(2, 3, width=8, depth=2, latent_dim=4)
    x = torch.rand(10, 2) * 2 - 1
    same = m(x, torch.zeros(3, 4))
    assert torch.equal(same[0], same[1]) and torch.equal(same[0], m(x, torch.zeros(4)))
    z = torch.randn(4)
    manual = x
    shifts = m.modulation(z).view(2, 8)
    for i, layer in enumerate(m.layers):
        manual = torch.sin(30.0 * (layer(manual) + shifts[i]))
    assert torch.allclose(m(x, z), m.last(manual) + 0.5, atol=1e-6)


def test_inner_steps_lower_each_signals_loss_on_its_own():
    torch.manual_seed(0)
    m = ModulatedSiren(2, 1, width=16, depth=2, latent_dim=8)
    x = torch.rand(64, 2) * 2 - 1
    target = torch.rand(3, 64, 1)
    z0 = torch.zeros(3, 8, requires_grad=True)
    z = _inner(m, x, target, z0, torch.full((8,), 1e-2), 1, create_graph=False)
    before = (m(x, z0) - target).square().mean(dim=(1, 2))
    after = (m(x, z) - target).square().mean(dim=(1, 2))
    assert (after < before).all()
    z_alone = _inner(m, x, target[1:2], z0[1:2].detach().requires_grad_(), torch.full((8,), 1e-2), 1, False)
    assert torch.allclose(z[1], z_alone[0], atol=1e-6)  # the batch does not mix signals


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("functa")
    train = load_dataset("sample:shapes", size=(16, 16), limit=200)
    val = load_dataset("sample:shapes", size=(16, 16), split="test", limit=32)
    meta = train_functa(train, val, folder / "functa", SMALL, inner_steps=3, steps=40, batch_size=8, lr=1e-3,
                        eval_every=20, progress=False, device="cpu")
    return folder, meta, val


def test_meta_learning_makes_three_steps_fit(trained):
    folder, meta, val = trained
    flat = 10 * np.log10(1 / np.mean((0.5 - val.images) ** 2))  # what the untrained shared field gives, about
    assert meta["val_psnr"] > flat + 3, (meta["history"], flat)
    assert [h["step"] for h in meta["history"]] == [20, 40]


def test_a_time_budget_stops_with_a_last_evaluation_and_checkpoint(tmp_path):
    train = load_dataset("sample:shapes", size=(16, 16), limit=64)
    val = load_dataset("sample:shapes", size=(16, 16), split="test", limit=8)
    meta = train_functa(train, val, tmp_path / "f", SMALL, steps=10**6, batch_size=4, eval_every=10**5,
                        progress=False, device="cpu", time_budget=0.5)
    assert 0 < meta["steps"] < 10**6 and meta["history"][-1]["step"] == meta["steps"]
    assert meta["history"][-1]["seconds"] >= 0.5 and load_functa(tmp_path / "f")[2]["steps"] == meta["steps"]
    with pytest.raises(InrkitError, match="time-budget"):
        train_functa(train, val, tmp_path / "g", SMALL, steps=5, time_budget=-1, progress=False, device="cpu")


def test_resume_continues_a_functa_where_it_stopped(trained, tmp_path, capsys):
    """20 steps, then --resume to 40: the weights of one 40-step run (optimiser and sampler carried on)."""
    folder, whole, _ = trained
    train = load_dataset("sample:shapes", size=(16, 16), limit=200)
    val = load_dataset("sample:shapes", size=(16, 16), split="test", limit=32)
    common = dict(inner_steps=3, batch_size=8, lr=1e-3, eval_every=20, progress=False, device="cpu")
    train_functa(train, val, tmp_path / "f", SMALL, steps=20, **common)
    with pytest.raises(InrkitError, match="already holds a functa; pass --resume"):
        train_functa(train, val, tmp_path / "f", SMALL, steps=40, **common)
    meta = train_functa(train, val, tmp_path / "f", SMALL, steps=40, resume=True, **common)
    assert [h["step"] for h in meta["history"]] == [20, 40] and meta["steps"] == 40
    ours, theirs = load_functa(tmp_path / "f"), load_functa(folder / "functa")
    for (k, a), b in zip(ours[0].state_dict().items(), theirs[0].state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)
    torch.testing.assert_close(ours[1], theirs[1])
    assert meta["val_psnr"] == pytest.approx(whole["val_psnr"], abs=1e-4)
    with pytest.raises(InrkitError, match="already at step 40"):
        train_functa(train, val, tmp_path / "f", SMALL, steps=40, resume=True, **common)
    assert main(["meta-train", "sample:shapes", "--modulations", "shift", "--latent-dim", "8", "--size", "16x16",
                 "--width", "32", "--depth", "2", "--steps", "60", "--resume", "--out", str(tmp_path / "f"),
                 "--device", "cpu"]) == 2
    assert "holds a 2x32 functa with 16-d latents and 3 inner steps" in capsys.readouterr().err
    assert main(["meta-train", "sample:shapes", "--modulations", "shift", "--resume", "--out", str(tmp_path / "g"),
                 "--device", "cpu"]) == 2
    assert "holds no functa_state.pt" in capsys.readouterr().err


def test_encode_render_and_interpolate_through_the_cli(trained, capsys):
    folder, meta, val = trained
    latents = folder / "latents"
    assert main(["encode", "sample:shapes", "--meta", str(folder / "functa"), "--size", "16x16", "--limit", "6",
                 "--out", str(latents), "--device", "cpu"]) == 0
    assert "6 latents of sample:shapes (3 steps each): mean PSNR" in capsys.readouterr().out
    fs = load_fieldset(latents)
    assert len(fs) == 6 and fs.latent(2).shape == (SMALL.latent_dim,)
    image = inrkit.render(fs.field(2))
    assert image.shape == (16, 16, 3)
    psnr = inrkit.psnr(image.astype(np.float32) / 255, val.images[2])
    assert psnr == pytest.approx(fs.index["items"][2]["psnr"], abs=0.3)
    assert main(["render", str(latents), "--index", "1", "--size", "64x64"]) == 0
    assert iio.imread(latents / "render_item_1.png").shape == (64, 64, 3)
    assert main(["interpolate", str(latents), "--start", "0", "--end", "2", "--frames", "5"]) == 0
    strip = iio.imread(latents / "interpolate_0_2.png")
    assert strip.shape == (16, 80, 3)
    assert np.abs(strip[:, 64:80].astype(int) - image.astype(int)).max() <= 1  # the path ends at signal 2
    assert not np.array_equal(strip[:, 16:32], strip[:, :16])


def test_bad_inputs(trained, tmp_path, capsys):
    folder, _, _ = trained
    (tmp_path / "meta.json").write_text("{}")
    for args, message in [
        (["encode", "sample:shapes", "--meta", str(tmp_path)], "holds no functa checkpoint (functa.json) (it is a "
                                                                  "meta-learned initialisation"),
        (["encode", "sample:shapes", "--meta", str(folder / "functa"), "--limit", "2"], "was trained on 16x16"),
        (["interpolate", str(folder / "latents"), "--end", "99"], "index 99 is out of range"),
    ]:
        assert main(args) == 2, args
        assert message in capsys.readouterr().err
    assert main(["fit-many", "sample:shapes", "--limit", "2", "--width", "8", "--depth", "1", "--steps", "2",
                 "--out", str(tmp_path / "fs"), "--no-progress"]) == 0
    assert main(["interpolate", str(tmp_path / "fs")]) == 2
    assert "holds fields, not latents" in capsys.readouterr().err
    with pytest.raises(InrkitError, match="validation images"):
        train_functa(load_dataset("sample:shapes", limit=2), load_dataset("sample:shapes", size=(8, 8), limit=2),
                     tmp_path / "f", SMALL, steps=1, progress=False)


def _rank_gradients(rank: int, world: int, init: str, out: str) -> None:
    """One process of the 2-process check: its half of the batch, then the all-reduce."""
    import torch.distributed as dist

    from inrkit.fieldsets.distributed import all_reduce_mean
    from inrkit.fieldsets.functa import meta_loss

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    model, alpha, coords, target = _gradient_problem()
    meta_loss(model, alpha, coords, target[rank::world], 2).backward()
    params = [*model.parameters(), alpha]
    all_reduce_mean(params, world)
    if rank == 0:
        torch.save([p.grad for p in params], out)
    dist.destroy_process_group()


def _gradient_problem():
    torch.manual_seed(0)
    model = ModulatedSiren(2, 1, width=8, depth=2, latent_dim=4)
    alpha = torch.full((4,), 1e-2, requires_grad=True)
    coords = torch.rand(20, 2) * 2 - 1
    target = torch.rand(4, 20, 1)
    return model, alpha, coords, target


def test_the_all_reduced_meta_gradient_of_two_processes_is_the_one_process_gradient(tmp_path):
    """2 gloo processes on localhost, each with half of the batch: after the all-reduce, every meta-gradient
    (shared weights, modulation map, inner rates) is the single process's over the whole batch."""
    import torch.multiprocessing as mp

    out = tmp_path / "grads.pt"
    mp.spawn(_rank_gradients, args=(2, f"file://{tmp_path / 'init'}", str(out)), nprocs=2, join=True)
    model, alpha, coords, target = _gradient_problem()
    meta_loss(model, alpha, coords, target, 2).backward()
    for mine, theirs in zip([*model.parameters(), alpha], torch.load(out)):
        assert torch.allclose(mine.grad, theirs, atol=1e-6, rtol=1e-5)
    assert alpha.grad.abs().sum() > 0  # second order: the rates learn too


def test_encode_under_torchrun_gives_the_latents_of_one_process(trained, tmp_path):
    import os
    import subprocess
    import sys

    folder, _, _ = trained
    args = ["encode", "sample:shapes", "--meta", str(folder / "functa"), "--size", "16x16", "--limit", "5",
            "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "inrkit.cli", *args, "--out", str(tmp_path / "two")],
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    one, two = load_fieldset(tmp_path / "one"), load_fieldset(tmp_path / "two")
    assert two.names == one.names
    assert torch.allclose(one.tensors["latents"], two.tensors["latents"], atol=1e-5)
