"""inrkit.checkpoint: save/load round trips, field.json, error sentences and atomic writes."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

import inrkit
from inrkit import checkpoint
from inrkit.checkpoint import META, TRAIN_STATE, WEIGHTS, checkpoint_folder, load, load_meta, save_checkpoint
from inrkit.encodings import GaussianFourierConfig, HashGridConfig, SHConfig
from inrkit.errors import InrkitError
from inrkit.fields import FieldConfig, RadianceField, RadianceFieldConfig
from inrkit.networks import MLPConfig

HASH = HashGridConfig(n_levels=4, n_features=2, log2_hashmap_size=8, base_resolution=2,
                      finest_resolution=32)


def _field(width=16, output="sigmoid", seed=0, encoding=HASH, in_dim=2, out_dim=3):
    torch.manual_seed(seed)
    f = FieldConfig(encoding, MLPConfig(width=width, depth=2, skips=(1,)), output=output).build(
        in_dim, out_dim)
    with torch.no_grad():  # move the hash table off its tiny initialisation, so it matters
        f.encoding.table.normal_(0, 0.5) if hasattr(f.encoding, "table") else None
    return f


def _x(n=300, d=2):
    return torch.rand(n, d, generator=torch.Generator().manual_seed(1)) * 2 - 1


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def _one_sentence_naming(err: pytest.ExceptionInfo, path) -> str:
    msg = str(err.value)
    assert str(path) in msg, msg
    assert "\n" not in msg and msg.strip() == msg and msg, msg
    return msg


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("encoding", [HASH, GaussianFourierConfig(m=8, sigma=3.0, seed=5)])
def test_round_trip_reproduces_outputs_exactly(tmp_path, encoding):
    f = _field(encoding=encoding)
    save_checkpoint(tmp_path, f, {"signal": {"kind": "image", "shape": [4, 5]}})
    g = load(tmp_path)
    assert type(g) is type(f) and not g.training
    assert g.config == f.config and (g.in_dim, g.out_dim, g.output) == (2, 3, "sigmoid")
    x = _x()
    with torch.no_grad():
        assert torch.equal(g(x), f(x))
    for k, v in f.state_dict().items():
        assert torch.equal(g.state_dict()[k], v), k
    assert g.meta["signal"] == {"kind": "image", "shape": [4, 5]}
    assert g.checkpoint_dir == tmp_path.resolve()


def test_round_trip_of_a_radiance_field_with_a_coarse_network(tmp_path):
    cfg = RadianceFieldConfig(
        HashGridConfig(n_levels=3, n_features=2, log2_hashmap_size=9, base_resolution=2,
                       finest_resolution=16),
        MLPConfig(width=8, depth=1), 4, SHConfig(degree=2),
        MLPConfig(width=8, depth=1), "softplus", coarse_network=True,
    )
    torch.manual_seed(0)
    f = cfg.build()
    with torch.no_grad():
        f.encoding.table.normal_()
    save_checkpoint(tmp_path, f, {"signal": {"kind": "nerf"}})
    g = load(tmp_path)
    assert isinstance(g, RadianceField) and isinstance(g.coarse, RadianceField)
    x, d = _x(50, 3), torch.nn.functional.normalize(_x(50, 3), dim=-1)
    with torch.no_grad():
        for a, b in zip(f(x, d), g(x, d)):
            assert torch.equal(a, b)
        assert torch.equal(f.coarse.density(x), g.coarse.density(x))


def test_a_second_save_replaces_the_first(tmp_path):
    save_checkpoint(tmp_path, _field(seed=0), {"n": 1})
    f2 = _field(seed=1)
    save_checkpoint(tmp_path, f2, {"n": 2})
    g = load(tmp_path)
    with torch.no_grad():
        assert torch.equal(g(_x()), f2(_x()))
    assert g.meta["n"] == 2
    assert _files(tmp_path) == {WEIGHTS, META}


def test_load_accepts_a_string_and_a_file_in_the_folder(tmp_path):
    f = _field()
    save_checkpoint(tmp_path, f, {})
    (tmp_path / "metrics.json").write_text("{}")
    with torch.no_grad():
        ref = f(_x())
        for p in (str(tmp_path), tmp_path / META, tmp_path / WEIGHTS, tmp_path / "metrics.json"):
            assert torch.equal(load(p)(_x()), ref), p


def test_train_state_is_saved_when_given(tmp_path):
    f = _field()
    opt = torch.optim.Adam(f.parameters(), lr=1e-3)
    f(_x()).sum().backward()
    opt.step()
    state = {"step": 7, "optimizer": opt.state_dict(), "history": [{"step": 7, "loss": 0.5}]}
    save_checkpoint(tmp_path, f, {}, train_state=state)
    assert _files(tmp_path) == {WEIGHTS, META, TRAIN_STATE}
    back = torch.load(tmp_path / TRAIN_STATE, weights_only=False)
    assert back["step"] == 7 and back["history"] == state["history"]
    k = next(iter(state["optimizer"]["state"]))
    assert torch.equal(back["optimizer"]["state"][k]["exp_avg"], state["optimizer"]["state"][k]["exp_avg"])


def test_saving_a_cuda_field_writes_cpu_tensors(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    f = _field().cuda()
    save_checkpoint(tmp_path, f, {})
    g = load(tmp_path)
    assert next(g.parameters()).device.type == "cpu"
    with torch.no_grad():
        assert torch.allclose(g(_x()), f(_x().cuda()).cpu(), atol=1e-6)


# --------------------------------------------------------------------------- field.json


def test_field_json_holds_format_version_dims_params_and_meta(tmp_path):
    f = _field()
    save_checkpoint(tmp_path, f, {"signal": {"kind": "image", "range": [0.0, 1.0]}, "preset": "ngp"})
    meta = json.loads((tmp_path / META).read_text())
    assert meta["format"] == "inrkit-field"
    assert meta["inrkit_version"] == inrkit.__version__
    assert (meta["in_dim"], meta["out_dim"]) == (2, 3)
    assert meta["params"] == f.n_params() == sum(p.numel() for p in f.parameters())
    assert meta["field"] == json.loads(json.dumps(f.config.to_dict()))
    assert FieldConfig.from_dict(meta["field"]) == f.config
    assert meta["signal"] == {"kind": "image", "range": [0.0, 1.0]} and meta["preset"] == "ngp"
    assert load_meta(tmp_path) == meta


def test_field_json_serialises_numpy_scalars(tmp_path):
    import numpy as np

    save_checkpoint(tmp_path, _field(), {"psnr": np.float32(31.5), "scale": np.float64(0.25)})
    meta = json.loads((tmp_path / META).read_text())
    assert meta["psnr"] == 31.5 and meta["scale"] == 0.25


def test_weights_file_holds_the_state_dict(tmp_path):
    from safetensors.torch import load_file

    f = _field()
    save_checkpoint(tmp_path, f, {})
    tensors = load_file(str(tmp_path / WEIGHTS))
    assert tensors.keys() == f.state_dict().keys()
    for k, v in f.state_dict().items():
        assert torch.equal(tensors[k], v)


# --------------------------------------------------------------------------- load_meta and checkpoint_folder


def test_load_meta_accepts_the_folder_a_file_in_it_and_field_json(tmp_path):
    save_checkpoint(tmp_path, _field(), {"signal": {"kind": "image"}})
    (tmp_path / "metrics.json").write_text('{"psnr": 1}')
    (tmp_path / "reconstruction.png").write_bytes(b"\x89PNG")
    expected = json.loads((tmp_path / META).read_text())
    for p in (tmp_path, str(tmp_path), tmp_path / META, str(tmp_path / META), tmp_path / WEIGHTS,
              tmp_path / "metrics.json", tmp_path / "reconstruction.png"):
        assert load_meta(p) == expected, p


def test_load_meta_reads_a_field_json_copied_out_of_its_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    save_checkpoint(run, _field(), {})
    copy = tmp_path / "description.json"  # no field.json beside it: read as the description itself
    copy.write_text((run / META).read_text())
    assert load_meta(copy) == load_meta(run)


def test_checkpoint_folder(tmp_path):
    assert checkpoint_folder(tmp_path) == tmp_path
    (tmp_path / "other.txt").write_text("x")
    assert checkpoint_folder(tmp_path / "other.txt") == tmp_path / "other.txt"  # no field.json beside it
    save_checkpoint(tmp_path, _field(), {})
    assert checkpoint_folder(tmp_path / "other.txt") == tmp_path
    assert checkpoint_folder(str(tmp_path / META)) == tmp_path
    assert checkpoint_folder(tmp_path / "missing") == tmp_path / "missing"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("reader", [load_meta, load])
def test_missing_folder(tmp_path, reader):
    missing = tmp_path / "no-such-run"
    with pytest.raises(InrkitError) as e:
        reader(missing)
    _one_sentence_naming(e, missing)


@pytest.mark.parametrize("reader", [load_meta, load])
def test_folder_without_field_json(tmp_path, reader):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InrkitError) as e:
        reader(tmp_path)
    assert META in _one_sentence_naming(e, tmp_path)


@pytest.mark.parametrize("reader", [load_meta, load])
def test_corrupt_field_json(tmp_path, reader):
    save_checkpoint(tmp_path, _field(), {})
    (tmp_path / META).write_text('{"format": "inrkit-field", "field": ')
    with pytest.raises(InrkitError) as e:
        reader(tmp_path)
    assert "not valid JSON" in _one_sentence_naming(e, tmp_path / META)


@pytest.mark.parametrize("content", ["[1, 2]", '{"format": "something-else", "field": {}}',
                                     '{"format": "inrkit-field"}'])
def test_json_that_is_not_a_field_description(tmp_path, content):
    (tmp_path / META).write_text(content)
    with pytest.raises(InrkitError) as e:
        load_meta(tmp_path)
    assert "not an inrkit field description" in _one_sentence_naming(e, tmp_path / META)


@pytest.mark.parametrize("reader", [load_meta, load])
def test_a_file_that_is_not_json(tmp_path, reader):
    png = tmp_path / "photo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(InrkitError) as e:
        reader(png)
    assert "is a file" in _one_sentence_naming(e, png)


def test_weights_that_do_not_match_the_config(tmp_path):
    save_checkpoint(tmp_path, _field(width=16), {})
    meta = json.loads((tmp_path / META).read_text())
    meta["field"]["network"]["width"] = 8  # field.json now describes another network
    (tmp_path / META).write_text(json.dumps(meta))
    with pytest.raises(InrkitError) as e:
        load(tmp_path)
    assert "does not match" in _one_sentence_naming(e, tmp_path / WEIGHTS)


def test_weights_from_another_checkpoint(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    save_checkpoint(a, _field(width=16), {})
    save_checkpoint(b, _field(width=8, output="identity"), {})
    (a / WEIGHTS).write_bytes((b / WEIGHTS).read_bytes())
    with pytest.raises(InrkitError) as e:
        load(a)
    _one_sentence_naming(e, a / WEIGHTS)


@pytest.mark.parametrize("content", [b"", b"not safetensors at all"])
def test_corrupt_weights(tmp_path, content):
    save_checkpoint(tmp_path, _field(), {})
    (tmp_path / WEIGHTS).write_bytes(content)
    with pytest.raises(InrkitError) as e:
        load(tmp_path)
    assert "corrupt" in _one_sentence_naming(e, tmp_path / WEIGHTS)


def test_missing_weights(tmp_path):
    save_checkpoint(tmp_path, _field(), {})
    (tmp_path / WEIGHTS).unlink()
    with pytest.raises(InrkitError) as e:
        load(tmp_path)
    assert WEIGHTS in _one_sentence_naming(e, tmp_path)


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["field"]["network"].update(kind="transformer"),
        lambda m: m["field"].update(output="relu6"),
        lambda m: m["field"]["encoding"].update(colour="blue"),
        lambda m: m.pop("in_dim"),
        lambda m: m["field"].update(type="radiance"),  # a radiance config missing its keys
    ],
    ids=["network-kind", "output", "unknown-key", "no-in-dim", "radiance-type"],
)
def test_a_field_this_version_cannot_build(tmp_path, edit):
    save_checkpoint(tmp_path, _field(), {})
    meta = json.loads((tmp_path / META).read_text())
    edit(meta)
    (tmp_path / META).write_text(json.dumps(meta))
    with pytest.raises(InrkitError) as e:
        load(tmp_path)
    assert "cannot build" in _one_sentence_naming(e, tmp_path)


def test_a_field_entry_that_is_not_an_object(tmp_path):
    save_checkpoint(tmp_path, _field(), {})
    meta = json.loads((tmp_path / META).read_text())
    meta["field"] = []
    (tmp_path / META).write_text(json.dumps(meta))
    with pytest.raises(InrkitError):
        load(tmp_path)


# --------------------------------------------------------------------------- atomic writes


def test_save_leaves_no_temporary_files(tmp_path):
    save_checkpoint(tmp_path, _field(), {}, train_state={"step": 1})
    save_checkpoint(tmp_path, _field(seed=2), {}, train_state={"step": 2})
    assert _files(tmp_path) == {WEIGHTS, META, TRAIN_STATE}


def test_saved_files_get_ordinary_permissions(tmp_path):
    save_checkpoint(tmp_path, _field(), {}, train_state={"step": 1})
    umask = os.umask(0)
    os.umask(umask)
    for name in (WEIGHTS, META, TRAIN_STATE):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_a_failing_weights_write_keeps_the_earlier_checkpoint(tmp_path, monkeypatch):
    f = _field(seed=0)
    save_checkpoint(tmp_path, f, {"n": 1})
    old_weights, old_meta = (tmp_path / WEIGHTS).read_bytes(), (tmp_path / META).read_bytes()

    def failing_save_file(tensors, filename, *args, **kwargs):
        Path(filename).write_bytes(b"half a file")  # a partial write, then the failure
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_file", failing_save_file)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(tmp_path, _field(seed=1, width=8), {"n": 2})
    assert (tmp_path / WEIGHTS).read_bytes() == old_weights
    assert (tmp_path / META).read_bytes() == old_meta
    assert _files(tmp_path) == {WEIGHTS, META}  # the temporary file is gone
    monkeypatch.undo()
    with torch.no_grad():
        assert torch.equal(load(tmp_path)(_x()), f(_x()))


def test_a_failing_train_state_write_keeps_the_earlier_one(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, _field(), {}, train_state={"step": 1})

    def failing_save(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"partial")
        raise RuntimeError("disk went away")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(RuntimeError, match="disk went away"):
        save_checkpoint(tmp_path, _field(), {}, train_state={"step": 2})
    monkeypatch.undo()
    assert torch.load(tmp_path / TRAIN_STATE)["step"] == 1
    assert _files(tmp_path) == {WEIGHTS, META, TRAIN_STATE}


def test_a_failing_meta_write_keeps_a_loadable_checkpoint(tmp_path):
    f = _field(width=16)
    save_checkpoint(tmp_path, f, {})
    with pytest.raises(TypeError):
        save_checkpoint(tmp_path, _field(width=8), {"bad": object()})  # not JSON-serialisable
    assert _files(tmp_path) == {WEIGHTS, META}
    with torch.no_grad():
        assert torch.equal(load(tmp_path)(_x()), f(_x()))


# --------------------------------------------------------------------------- the flat form of inrkit 0.1.0 and 0.2.0

V010 = Path(__file__).resolve().parent / "data" / "v0.1.0"
MLP_64 = {"kind": "mlp", "width": 64, "activation": "relu", "skips": [], "init": "torch"}
# What the fixtures' flat field configs read as: each component's own keys, nothing else.
V010_FIELDS = {
    "image": {"encoding": {"kind": "hashgrid", "n_levels": 16, "n_features": 2, "log2_hashmap_size": 19,
                           "base_resolution": 16, "finest_resolution": 32, "seed": 0},
              "network": {**MLP_64, "depth": 2}, "output": "identity"},
    "audio": {"encoding": {"kind": "identity"},
              "network": {"kind": "siren", "width": 64, "depth": 4, "first_omega": 3000.0, "hidden_omega": 30.0},
              "output": "identity"},
    "sdf": {"encoding": {"kind": "hashgrid", "n_levels": 8, "n_features": 2, "log2_hashmap_size": 12,
                         "base_resolution": 16, "finest_resolution": 32, "seed": 0},
            "network": {**MLP_64, "depth": 2}, "output": "identity"},
    "nerf": {"type": "radiance", "encoding": {"kind": "vm", "n_components": 16, "resolution": 32, "seed": 0},
             "network": {**MLP_64, "depth": 1}, "geo_features": 15, "direction": {"kind": "sh", "degree": 4},
             "color_network": {**MLP_64, "depth": 2}, "density_activation": "exp", "coarse_network": False},
}


@pytest.mark.parametrize("kind", sorted(V010_FIELDS))
def test_the_flat_form_of_v010_fixtures_reads_as_each_components_own_keys(kind):
    meta = load_meta(V010 / kind)
    assert "field_format" not in meta and len(meta["field"]["encoding"]) == 13  # every kind's keys
    assert checkpoint.read_flat_field(meta["field"]) == V010_FIELDS[kind]
    cls = RadianceFieldConfig if kind == "nerf" else FieldConfig
    cfg = cls.from_dict(checkpoint.read_flat_field(meta["field"]))
    assert load(V010 / kind).config == cfg


def test_new_checkpoints_write_field_format_2(tmp_path):
    save_checkpoint(tmp_path, _field(), {})
    meta = load_meta(tmp_path)
    assert meta["field_format"] == checkpoint.FIELD_FORMAT == 2
    assert set(meta["field"]["encoding"]) == {"kind", "n_levels", "n_features", "log2_hashmap_size",
                                              "base_resolution", "finest_resolution", "seed"}


def test_a_flat_wire_checkpoint_maps_its_renamed_keys(tmp_path):
    from inrkit.networks import WireConfig

    torch.manual_seed(0)
    f = FieldConfig(GaussianFourierConfig(m=4, sigma=2.0, seed=3), WireConfig(width=8, depth=2, omega=7.0, sigma=9.0)
                    ).build(2, 1)
    save_checkpoint(tmp_path, f, {})
    meta = json.loads((tmp_path / META).read_text())
    del meta["field_format"]
    # As 0.2.0 wrote it: WIRE's ω0 was hidden_omega and its s0 scale, beside every other kind's keys.
    meta["field"]["encoding"] = {"kind": "gaussian", "n_frequencies": 10, "include_input": True, "m": 4, "scale": 6.0,
                                 "sigma": 2.0, "n_levels": 16, "n_features": 2, "log2_hashmap_size": 19,
                                 "base_resolution": 16, "finest_resolution": 0, "degree": 4, "seed": 3}
    meta["field"]["network"] = {"kind": "wire", "width": 8, "depth": 2, "activation": "relu", "skips": [],
                                "init": "torch", "first_omega": 30.0, "hidden_omega": 7.0, "scale": 9.0,
                                "first_bias_scale": 20.0, "input_scale": 256.0, "alpha": 6.0, "max_frequency": 0.0,
                                "seed": 0}
    (tmp_path / META).write_text(json.dumps(meta))
    g = load(tmp_path)
    assert g.config == f.config and (g.network.omega, g.network.sigma) == (7.0, 9.0)
    with torch.no_grad():
        assert torch.equal(g(_x()), f(_x()))
