"""inrkit.presets: the preset table, copies, kinds and the NeRF presets."""
from __future__ import annotations

import dataclasses
import warnings
from types import SimpleNamespace

import pytest
import torch

import inrkit
from inrkit.errors import InrkitError
from inrkit.fields import Field, FieldConfig, RadianceField
from inrkit.presets import PRESETS, NerfPreset, OptimConfig, Preset, check_preset_kind, get_nerf_preset, get_preset

# The coordinates and values each kind of signal gives a field (``inrkit fit KIND``).
KIND_DIMS = {
    "image": (2, 3),
    "poisson": (2, 1),
    "ct": (2, 1),
    "mri": (2, 1),
    "audio": (1, 1),
    "video": (3, 3),
    "volume": (3, 1),
    "sdf": (3, 1),
    "occupancy": (3, 1),
}
NERF_PRESETS = ("ngp", "tensorf", "nerf")


def _signal(kind: str, resolution: int = 64):
    in_dim, out_dim = KIND_DIMS[kind]
    return SimpleNamespace(in_dim=in_dim, out_dim=out_dim, resolution=resolution)


def test_every_preset_names_its_kinds():
    for name, p in PRESETS.items():
        assert p.name == name
        assert p.kinds, f"{name}: no kinds"
        assert set(p.kinds) <= set(KIND_DIMS), f"{name}: {p.kinds}"
        assert len(set(p.kinds)) == len(p.kinds)


def test_every_kind_has_a_preset():
    covered = {k for p in PRESETS.values() for k in p.kinds}
    assert covered == set(KIND_DIMS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_builds_a_field_for_each_of_its_kinds(name):
    p = get_preset(name)
    before = p.field.to_dict()
    built = {}
    for kind in p.kinds:
        in_dim, out_dim = KIND_DIMS[kind]
        if in_dim in built:  # same field shape as a kind already built
            continue
        field = inrkit.make_field(p.field, _signal(kind))
        built[in_dim] = field
        assert isinstance(field, Field)
        assert (field.in_dim, field.out_dim) == (in_dim, out_dim)
        x = torch.rand(5, in_dim) * 2 - 1
        with torch.no_grad():
            y = field(x)
        assert y.shape == (5, out_dim) and torch.isfinite(y).all()
        assert field.output == p.field.output
    assert p.field.to_dict() == before  # make_field does not modify the preset


def test_sensible_input_dims():
    assert KIND_DIMS["image"][0] == 2 and KIND_DIMS["audio"][0] == 1
    for kind in ("sdf", "occupancy", "volume"):
        assert KIND_DIMS[kind][0] == 3
    assert get_preset("siren-audio").kinds == ("audio",)
    assert "image" in get_preset("siren").kinds and "audio" not in get_preset("siren").kinds
    assert get_preset("siren-sdf").kinds == ("sdf",) and get_preset("ffn-occupancy").kinds == ("occupancy",)


def test_hash_grid_presets_take_the_signal_resolution():
    for name in ("ngp", "ngp-sdf", "ngp-occupancy", "ct", "mri"):
        p = get_preset(name)
        assert p.field.encoding.kind == "hashgrid" and p.field.encoding.finest_resolution == 0
        kind = p.kinds[0]
        assert inrkit.make_field(p.field, _signal(kind, resolution=100)).encoding.finest_resolution == 100


def test_image_presets_with_a_sigmoid_output():
    for name in ("relu", "ffn-basic", "ffn-pe", "ffn-gauss", "nerf-pe"):
        assert get_preset(name).field.output == "sigmoid"
    # Distances and logits are unbounded.
    for name in ("siren-sdf", "ngp-sdf", "ffn-occupancy", "ngp-occupancy"):
        assert get_preset(name).field.output == "identity"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_description_and_optimiser(name):
    p = PRESETS[name]
    assert isinstance(p.description, str) and len(p.description.strip()) > 10
    assert "\n" not in p.description
    o = p.optim
    assert isinstance(o, OptimConfig)
    assert o.lr > 0 and o.eps > 0
    assert 0 <= o.betas[0] < 1 and 0 <= o.betas[1] < 1
    assert o.schedule in ("none", "cosine", "exponential")
    assert 0 < o.final_lr_ratio <= 1


def test_known_optimiser_values():
    assert get_preset("ngp").optim.lr == 0.01
    assert get_preset("ngp").optim.betas == (0.9, 0.99) and get_preset("ngp").optim.eps == 1e-15
    assert get_preset("siren").optim.lr == 1e-4
    assert get_preset("relu").optim == OptimConfig()


# --------------------------------------------------------------------------- copies


def test_get_preset_returns_a_copy():
    original = PRESETS["ngp"].field.to_dict(), dataclasses.asdict(PRESETS["ngp"].optim), PRESETS["ngp"].description
    p = get_preset("ngp")
    assert p is not PRESETS["ngp"]
    assert p.field == PRESETS["ngp"].field and p.optim == PRESETS["ngp"].optim
    p.optim.lr = 123.0
    p.field.encoding.finest_resolution = 77
    p.field.network.width = 3
    p.field.output = "tanh"
    p.description = "changed"
    again = get_preset("ngp")
    assert again.optim.lr == 0.01 and again.field.encoding.finest_resolution == 0
    assert again.field.network.width == 64 and again.field.output == "identity"
    assert (PRESETS["ngp"].field.to_dict(), dataclasses.asdict(PRESETS["ngp"].optim),
            PRESETS["ngp"].description) == original


def test_preset_copy_does_not_share_skips_or_nested_configs():
    p = Preset("x", "a test preset", FieldConfig(network=inrkit.NetworkConfig("mlp", skips=(1,))), kinds=("image",))
    q = p.copy()
    assert q == p and q.field is not p.field and q.field.network is not p.field.network
    assert q.optim is not p.optim and q.kinds == ("image",)


def test_get_nerf_preset_returns_a_copy():
    p = get_nerf_preset("ngp")
    p.optim.lr = 5.0
    p.field.geo_features = 1
    p.render.chunk_size = 1
    q = get_nerf_preset("ngp")
    assert q.optim.lr == 0.01 and q.field.geo_features == 15 and q.render.chunk_size != 1


# --------------------------------------------------------------------------- errors


def test_unknown_preset_names_the_available_ones():
    with pytest.raises(InrkitError) as e:
        get_preset("sirne")
    msg = str(e.value)
    assert "'sirne'" in msg and "\n" not in msg
    for name in PRESETS:
        assert name in msg


def test_unknown_nerf_preset_names_the_available_ones():
    with pytest.raises(InrkitError) as e:
        get_nerf_preset("siren")
    msg = str(e.value)
    assert "'siren'" in msg
    for name in NERF_PRESETS:
        assert name in msg


# --------------------------------------------------------------------------- check_preset_kind


def test_siren_on_audio_warns_naming_the_audio_presets():
    with pytest.warns(UserWarning) as rec:
        check_preset_kind(get_preset("siren"), "audio")
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert "'siren'" in msg and "not audio" in msg
    fitting = [n for n, p in PRESETS.items() if "audio" in p.kinds]
    assert set(fitting) == {"ngp", "siren-audio"}
    for n in fitting:
        assert n in msg


def test_siren_audio_on_image_warns():
    with pytest.warns(UserWarning, match="'siren-audio' is made for audio fits, not image"):
        check_preset_kind(get_preset("siren-audio"), "image")


@pytest.mark.parametrize("name,kind", [("ngp", "image"), ("ngp", "audio"), ("siren", "poisson"),
                                       ("siren-sdf", "sdf"), ("ct", "ct")])
def test_a_preset_on_its_own_kind_does_not_warn(name, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_preset_kind(get_preset(name), kind)


def test_a_preset_without_kinds_fits_anything():
    p = Preset("any", "no kinds", FieldConfig())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for kind in KIND_DIMS:
            check_preset_kind(p, kind)


def test_every_preset_warns_exactly_outside_its_kinds():
    for name, p in PRESETS.items():
        for kind in KIND_DIMS:
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                check_preset_kind(p, kind)
            assert len(rec) == (kind not in p.kinds), (name, kind)


# --------------------------------------------------------------------------- NeRF presets


@pytest.mark.parametrize("name", NERF_PRESETS)
def test_nerf_presets_build_radiance_fields(name):
    p = get_nerf_preset(name)
    assert isinstance(p, NerfPreset) and p.name == name and p.kinds == ("nerf",)
    assert p.description.strip() and p.optim.lr > 0
    assert isinstance(p.render, inrkit.NerfRenderConfig)
    torch.manual_seed(0)
    f = p.field.build()
    assert isinstance(f, RadianceField) and (f.in_dim, f.out_dim) == (3, 4)
    assert (f.coarse is not None) == (name == "nerf")
    x = torch.rand(6, 3) * 2 - 1
    d = torch.nn.functional.normalize(torch.randn(6, 3), dim=-1)
    with torch.no_grad():
        rgb, sigma = f(x, d)
    assert rgb.shape == (6, 3) and sigma.shape == (6,)
    assert ((rgb >= 0) & (rgb <= 1)).all() and (sigma >= 0).all()


def test_nerf_preset_is_the_paper_setup():
    p = get_nerf_preset("nerf")
    assert p.field.density_activation == "relu" and p.field.coarse_network
    assert p.render.sampler == "hierarchical" and (p.render.coarse_samples, p.render.fine_samples) == (64, 128)
