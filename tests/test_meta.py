"""Meta-learned initialisations: meta-gradients against explicit loops, training, resume, --init, bad input."""
import json

import numpy as np
import pytest
import torch

from inrkit.errors import InrkitError
from inrkit.fields import FieldConfig
from inrkit.fieldsets.meta import (INDEX, STATE, MetaConfig, adapt, load_meta_init, meta_gradient, meta_init,
                                   meta_train, psnr_after)
from inrkit.networks import SirenConfig

TINY = FieldConfig(network=SirenConfig(width=6, depth=2, first_omega=3.0, hidden_omega=3.0))
SHAPE = (3, 3, 1)


def _images(n=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, *SHAPE)).astype(np.float32)


def _explicit(init, image, create_graph, theta=None, rates=None):
    """The inner loop written out with torch.autograd on a real module: φ_K for one image."""
    from inrkit.grids import grid_coordinates

    field = init.config.build(2, SHAPE[2])
    coords = grid_coordinates(SHAPE[:2]).reshape(-1, 2)
    y = torch.from_numpy(image).reshape(-1, SHAPE[2])
    phi = dict(theta)
    for _ in range(init.inner_steps):
        loss = ((torch.func.functional_call(field, phi, (coords,)) - y) ** 2).mean()
        g = torch.autograd.grad(loss, list(phi.values()), create_graph=create_graph)
        phi = {k: v - (rates[k] if rates else init.inner_lr) * (gi if create_graph else gi.detach())
               for (k, v), gi in zip(phi.items(), g)}
    outer = ((torch.func.functional_call(field, phi, (coords,)) - y) ** 2).mean()
    return phi, outer


@pytest.mark.parametrize("method", ["fomaml", "maml", "metasgd"])
def test_meta_gradient_matches_explicit_loop(method):
    init = meta_init(TINY, SHAPE, MetaConfig(method=method, inner_steps=2, inner_lr=0.3))
    if init.rates:  # distinct rates, so a mix-up of entries shows
        init.rates = {k: 0.1 + 0.4 * torch.rand_like(v) for k, v in init.rates.items()}
    images = _images()
    got = meta_gradient(init, images)
    want = {}
    for image in images:
        if method == "fomaml":  # first order: the loss gradient at φ_K, by hand
            phi, _ = _explicit(init, image, False, {k: v.clone().requires_grad_(True) for k, v in init.params.items()})
            phi = {k: v.detach().requires_grad_(True) for k, v in phi.items()}
            _, outer = _explicit(dataclass_with(init, inner_steps=0), image, False, phi)
            g = dict(zip(phi, torch.autograd.grad(outer, list(phi.values()))))
        else:  # autograd through the unrolled loop
            theta = {k: v.clone().requires_grad_(True) for k, v in init.params.items()}
            rates = {k: v.clone().requires_grad_(True) for k, v in init.rates.items()} if init.rates else None
            _, outer = _explicit(init, image, True, theta, rates)
            leaves = [*theta.values(), *(rates.values() if rates else [])]
            gs = torch.autograd.grad(outer, leaves)
            g = dict(zip(theta, gs))
            if rates:
                g.update({f"rate.{k}": v for k, v in zip(rates, gs[len(theta):])})
        for k, v in g.items():
            want[k] = want.get(k, 0) + v / len(images)
    assert got.keys() == want.keys()
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-4, atol=1e-6, msg=k)
    if method == "maml":  # the second-order terms matter: first order is not the same here
        fo = meta_gradient(dataclass_with(init, method="fomaml"), images)
        assert any(not torch.allclose(fo[k], got[k], atol=1e-5) for k in got)


def dataclass_with(init, **kw):
    import dataclasses

    return dataclasses.replace(init, **kw)


def test_reptile_update_moves_theta_toward_adapted_weights():
    init = meta_init(TINY, SHAPE, MetaConfig(method="reptile", inner_steps=3, inner_lr=0.2))
    images, eps = _images(4), 0.5
    theta0 = {k: v.clone() for k, v in init.params.items()}
    adapted = [_explicit(init, im, False, {k: v.clone().requires_grad_(True) for k, v in theta0.items()})[0]
               for im in images]
    params = {k: v.clone() for k, v in theta0.items()}
    opt = torch.optim.SGD(params.values(), lr=eps)
    for k, g in meta_gradient(init, images).items():
        params[k].grad = g
    opt.step()
    for k in theta0:
        want = theta0[k] + eps * torch.stack([phi[k].detach() - theta0[k] for phi in adapted]).mean(0)
        torch.testing.assert_close(params[k], want, rtol=1e-5, atol=1e-6)


SMALL = FieldConfig(network=SirenConfig(width=32, depth=2))


@pytest.fixture(scope="module")
def shapes():
    from inrkit.fieldsets import load_dataset

    return (load_dataset("sample:shapes", size=(16, 16), limit=300).images,
            load_dataset("sample:shapes", size=(16, 16), split="test", limit=32).images)


@pytest.fixture(scope="module")
def trained(shapes, tmp_path_factory):
    out = tmp_path_factory.mktemp("meta") / "m"
    config = MetaConfig(method="fomaml", inner_steps=3, inner_lr=0.1, outer_lr=2e-3, steps=60, batch_size=8,
                        val_every=30, progress=False, device="cpu")
    return meta_train(shapes[0], SMALL, out, config, shapes[1], preset="siren"), out


def test_meta_training_beats_the_plain_init_after_k_steps(trained, shapes):
    init, out = trained
    plain = meta_init(SMALL, init.shape, MetaConfig(inner_steps=3, inner_lr=0.1))
    before, after = psnr_after(plain, shapes[1])[3], psnr_after(init, shapes[1])[3]
    assert after > before + 2, (before, after)
    history = init.info["history"]
    assert [h["step"] for h in history] == [0, 30, 60] and history[-1]["psnr"] == pytest.approx(after, abs=0.01)
    assert (out / "history.csv").read_text().splitlines()[0] == "step,seconds,psnr_0,psnr,loss"
    info = json.loads((out / INDEX).read_text())
    assert info["format"] == "inrkit-meta" and info["signal"]["shape"] == [16, 16, 3] and info["preset"] == "siren"
    field = adapt(init, shapes[1][0])  # one image: one field, K steps of the inner SGD
    pred = field(torch.zeros(1, 2)).detach()
    assert pred.shape == (1, 3)


def test_resume_continues_where_it_stopped(tmp_path, shapes):
    images, val = shapes[0][:40], shapes[1][:4]
    cfg = dict(method="reptile", inner_steps=2, inner_lr=0.1, outer_lr=1e-3, batch_size=4, val_every=3,
               progress=False, device="cpu")
    whole = meta_train(images, SMALL, tmp_path / "a", MetaConfig(steps=6, **cfg), val)
    meta_train(images, SMALL, tmp_path / "b", MetaConfig(steps=3, **cfg), val)
    with pytest.raises(InrkitError, match="already holds a meta checkpoint"):
        meta_train(images, SMALL, tmp_path / "b", MetaConfig(steps=6, **cfg), val)
    resumed = meta_train(images, SMALL, tmp_path / "b", MetaConfig(steps=6, **cfg), val, resume=True)
    assert resumed.info["outer_steps"] == 6 and [h["step"] for h in resumed.info["history"]] == [0, 3, 6]
    for k in whole.params:
        torch.testing.assert_close(resumed.params[k], whole.params[k])
    with pytest.raises(InrkitError, match="already at step 6"):
        meta_train(images, SMALL, tmp_path / "b", MetaConfig(steps=6, **cfg), val, resume=True)
    with pytest.raises(InrkitError, match="fomaml"):
        meta_train(images, SMALL, tmp_path / "b", MetaConfig(steps=9, **{**cfg, "method": "fomaml"}), val, resume=True)


def _meta_cli(*args):
    from inrkit.cli import main

    return main(["meta-train", *args])


def test_fit_from_meta_through_the_cli(trained, shapes, tmp_path, capsys):
    from inrkit.cli import main
    from inrkit.signals.image import save_image

    init, meta = trained
    image = tmp_path / "shape.png"
    save_image(image, shapes[1][5])
    assert main(["fit", "image", str(image), "--init", str(meta), "--steps", "3", "--out", str(tmp_path / "a"),
                 "--device", "cpu", "--no-progress"]) == 0
    ours = json.loads((tmp_path / "a" / "metrics.json").read_text())
    run = json.loads((tmp_path / "a" / "field.json").read_text())
    assert run["optim"]["optimizer"] == "sgd" and run["field"]["network"]["width"] == 32 and run["init"]
    assert main(["fit", "image", str(image), "--preset", "siren", "--steps", "3", "--out", str(tmp_path / "b"),
                 "--device", "cpu", "--no-progress"]) == 0
    plain = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert ours["psnr"] > 20 and ours["psnr"] > plain["psnr"] + 5, (ours["psnr"], plain["psnr"])
    # --resume keeps the run's optimiser (SGD)
    assert main(["fit", "image", str(image), "--resume", "--steps", "5", "--out", str(tmp_path / "a"),
                 "--device", "cpu", "--no-progress"]) == 0
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["psnr"] >= ours["psnr"] - 0.5
    assert json.loads((tmp_path / "a" / "field.json").read_text())["init"] == run["init"]  # kept for the next --resume


def test_meta_train_cli_and_bad_input(tmp_path, capsys, trained, shapes):
    from inrkit.cli import main
    from inrkit.signals.image import save_image

    out = tmp_path / "m"
    assert _meta_cli("sample:shapes", "--limit", "16", "--val-images", "4", "--steps", "2", "--batch-size", "4",
                     "--width", "8", "--depth", "2", "--out", str(out), "--device", "cpu") == 0
    assert "validation PSNR" in capsys.readouterr().out and (out / INDEX).exists()
    assert _meta_cli("sample:shapes", "--method", "nope", "--out", str(tmp_path / "x")) == 2
    assert "unknown meta-learning method 'nope'" in capsys.readouterr().err
    _, meta = trained
    image = tmp_path / "shape.png"
    save_image(image, shapes[1][0])
    common = ["--steps", "1", "--device", "cpu", "--no-progress"]
    cases = [
        (["fit", "image", str(image), "--init", str(meta), "--preset", "relu"], "does not describe"),
        (["fit", "audio", "sample:chord", "--init", str(meta)], "needs fields from 1 to 1"),
        (["fit", "image", str(image), "--init", str(tmp_path / "none")], "does not exist"),
    ]
    incomplete = tmp_path / "half"
    incomplete.mkdir()
    (incomplete / "meta.safetensors").write_bytes(b"x")
    cases.append((["fit", "image", str(image), "--init", str(incomplete)], "not a complete meta checkpoint"))
    grey = tmp_path / "grey.png"
    save_image(grey, shapes[1][0][..., :1])
    cases.append((["fit", "image", str(grey), "--init", str(meta)], "with 3 channel"))
    for i, (args, message) in enumerate(cases):
        assert main([*args, *common, "--out", str(tmp_path / f"run{i}")]) == 2, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
        assert not (tmp_path / f"run{i}" / "field.json").exists()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / INDEX).write_text(json.dumps({**json.loads((meta / INDEX).read_text())}))
    (corrupt / "meta.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(InrkitError, match="missing or corrupt"):
        load_meta_init(corrupt)
    assert not (meta / STATE).is_dir()
