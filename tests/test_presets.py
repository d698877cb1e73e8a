"""inrkit.presets: the one preset table, aliases, copies, kinds and the radiance-field presets."""
from __future__ import annotations

import dataclasses
import warnings
from types import SimpleNamespace

import pytest
import torch

import inrkit
from inrkit.errors import InrkitError
from inrkit.fields import Field, FieldConfig, RadianceField
from inrkit.presets import (ALIASES, KIND_ALIASES, PRESETS, NerfPreset, OptimConfig, Preset, aliases, check_preset_kind,
                            get_nerf_preset, get_preset, preset_table, resolve_preset)

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
# The names `inrkit fit nerf --preset` took before the tables were one, and the presets they name now.
NERF_PRESETS = {"ngp": "nerf-ngp", "tensorf": "nerf-tensorf", "nerf": "nerf"}
FIELD_PRESETS = sorted(n for n, p in PRESETS.items() if not isinstance(p, NerfPreset))


def _signal(kind: str, resolution: int = 64):
    in_dim, out_dim = KIND_DIMS[kind]
    return SimpleNamespace(in_dim=in_dim, out_dim=out_dim, resolution=resolution)


def test_every_preset_names_its_kinds():
    for name, p in PRESETS.items():
        assert p.name == name
        assert p.kinds, f"{name}: no kinds"
        assert set(p.kinds) <= {*KIND_DIMS, "nerf"}, f"{name}: {p.kinds}"
        assert len(set(p.kinds)) == len(p.kinds)
        assert isinstance(p, NerfPreset) == (p.kinds == ("nerf",)), name


def test_every_kind_has_a_preset():
    covered = {k for p in PRESETS.values() for k in p.kinds}
    assert covered == {*KIND_DIMS, "nerf"}


@pytest.mark.parametrize("name", FIELD_PRESETS)
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
    assert "sdf" in get_preset("siren-sdf").kinds and get_preset("ffn-occupancy").kinds == ("occupancy",)


@pytest.mark.parametrize("name,kind", [("ngp", "image"), ("ngp", "audio"), ("ct", "ct"), ("mri", "mri"),
                                       ("ngp-sdf", "sdf"), ("ngp-occupancy", "occupancy")])
def test_hash_grid_presets_take_the_signal_resolution(name, kind):
    p = get_preset(name, kind)
    assert p.field.encoding.kind == "hashgrid" and p.field.encoding.finest_resolution == 0
    assert inrkit.make_field(p.field, _signal(kind, resolution=100)).encoding.finest_resolution == 100


def test_image_presets_with_a_sigmoid_output():
    for name in ("relu", "ffn-basic", "ffn-pe", "ffn-gauss", "nerf-pe"):
        assert get_preset(name).field.output == "sigmoid"
    # Distances and logits are unbounded.
    for name in ("siren-sdf", "ngp-sdf", "ffn-occupancy", "ngp-occupancy"):
        assert get_preset(name).field.output == "identity"


# --------------------------------------------------------------------------- what each preset builds

# (preset as users name it, kind) -> (parameters, sum of the initial weights under seed 0) for a signal of
# resolution 64, recorded with the code before the preset tables were merged and the configs split
# (one kind per field shape). Every preset must keep building exactly this network.
BUILT = {
    ('bacon', 'image'): (201484, 20.599411129951477),
    ('bacon', 'video'): (201484, -161.68927669525146),
    ('bacon', 'volume'): (199428, -163.4898808375001),
    ('bacon', 'ct'): (199428, 18.798806987702847),
    ('ct', 'ct'): (53833, -4.658318317877274),
    ('ffn-basic', 'image'): (133635, -13.332243229555239),
    ('ffn-basic', 'video'): (134147, 4.9328586918137844),
    ('ffn-basic', 'volume'): (133633, -1.3767506498025668),
    ('ffn-basic', 'ct'): (133121, -12.696852955125642),
    ('ffn-gauss', 'image'): (263683, -254.25628936784938),
    ('ffn-gauss', 'video'): (263683, -124.52227993710562),
    ('ffn-gauss', 'volume'): (263169, -115.39148701122804),
    ('ffn-gauss', 'ct'): (263169, -245.1254964419718),
    ('ffn-occupancy', 'occupancy'): (592129, -121.36854740981948),
    ('ffn-pe', 'image'): (263683, 3652.5434645811965),
    ('ffn-pe', 'video'): (329219, 5470.540988051556),
    ('ffn-pe', 'volume'): (328705, 5477.432972602454),
    ('ffn-pe', 'ct'): (263169, 3661.6742575070743),
    ('finer', 'image'): (198915, 189.73191475402814),
    ('finer', 'video'): (199171, 41.76217465230198),
    ('finer', 'volume'): (198657, 41.880519732112504),
    ('finer', 'ct'): (198401, 189.6914058258294),
    ('fourier-net', 'image'): (201219, -1934.889541355893),
    ('fourier-net', 'video'): (202243, -4486.689388372004),
    ('fourier-net', 'volume'): (201729, -4487.159692674875),
    ('fourier-net', 'ct'): (200705, -1936.970108134672),
    ('gabor-net', 'image'): (204291, -1719.1301069615874),
    ('gabor-net', 'video'): (206339, -2895.8329843936954),
    ('gabor-net', 'volume'): (205825, -2896.5511031954084),
    ('gabor-net', 'ct'): (203777, -1719.8979710249696),
    ('gauss', 'image'): (198915, 19.524472254212014),
    ('gauss', 'video'): (199171, 19.902740623714635),
    ('gauss', 'volume'): (198657, 20.445969711901853),
    ('gauss', 'ct'): (198401, 19.058546814019792),
    ('mri', 'mri'): (53833, -4.658318317877274),
    ('nerf-pe', 'image'): (143363, 3242.2807252495286),
    ('nerf-pe', 'video'): (148739, 3249.2378311135185),
    ('nerf-pe', 'volume'): (148225, 3241.341720287488),
    ('nerf-pe', 'ct'): (142849, 3214.260662040521),
    ('ngp', 'image'): (53963, -4.122005380140763),
    ('ngp', 'video'): (2241779, -4.0684885862829105),
    ('ngp', 'volume'): (2241649, -4.604801524019422),
    ('ngp', 'ct'): (53833, -4.658318317877274),
    ('ngp', 'audio'): (7477, -4.665288959346071),
    ('ngp-occupancy', 'occupancy'): (2241649, -4.604801524019422),
    ('ngp-sdf', 'sdf'): (2241649, -4.604801524019422),
    ('relu', 'image'): (133123, -3.6472042350586307),
    ('relu', 'video'): (133379, -16.325211550428627),
    ('relu', 'volume'): (132865, 0.5232672002810332),
    ('relu', 'ct'): (132609, -1.1070701974583343),
    ('siren', 'image'): (198915, -2.5993437052790966),
    ('siren', 'video'): (199171, -1.0360595947703075),
    ('siren', 'volume'): (198657, -0.9318956804789593),
    ('siren', 'ct'): (198401, -2.712370032706957),
    ('siren-audio', 'audio'): (198145, 11.938045449927955),
    ('siren-sdf', 'sdf'): (198657, -0.9318956804789593),
    ('wire', 'image'): (66973, -4.30509085173253),
    ('wire', 'video'): (67154, -1.9312190970522352),
    ('wire', 'volume'): (66790, -1.9312190970522352),
    ('wire', 'ct'): (66609, -4.30509085173253),
    ('ngp', 'nerf'): (11456195, -0.25091889752002317),
    ('tensorf', 'nerf'): (1789267, -141.28940060321858),
    ('nerf', 'nerf'): (1191688, 6531.76227292139),
}


@pytest.mark.parametrize("name,kind", sorted(BUILT))
def test_every_preset_builds_the_same_network_as_before(name, kind):
    n_params, weight_sum = BUILT[name, kind]
    p = get_preset(name, kind)
    if kind == "nerf":
        torch.manual_seed(0)
        field = p.field.build()
    else:
        field = inrkit.make_field(p.field, _signal(kind, resolution=64), seed=0)
    assert field.n_params() == n_params
    total = sum(v.double().sum().item() for v in field.state_dict().values() if v.is_floating_point())
    assert total == pytest.approx(weight_sum, rel=1e-7, abs=1e-7)


def test_every_field_preset_and_kind_is_pinned():
    for name in FIELD_PRESETS:
        dims = {KIND_DIMS[k] for k in PRESETS[name].kinds}
        assert dims == {KIND_DIMS[k] for (n, k) in BUILT if resolve_preset(n, k) == name}, name


# --------------------------------------------------------------------------- aliases


def test_aliases_name_presets_of_the_table_and_are_not_presets():
    for alias, target in [*ALIASES.items(), *(i for by_kind in KIND_ALIASES.values() for i in by_kind.items())]:
        assert target in PRESETS and alias != target
    assert not set(ALIASES) & set(PRESETS)
    assert aliases("ngp") == ["ct", "mri", "ngp-sdf", "ngp-occupancy"]
    assert aliases("siren") == ["siren-sdf"] and aliases("nerf-ngp") == ["ngp"] and aliases("relu") == []


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_an_alias_is_the_same_recipe_as_its_preset(alias):
    a, p = get_preset(alias), get_preset(ALIASES[alias])
    assert a == p and a.name == ALIASES[alias]


def test_a_task_default_alias_is_made_for_its_task():
    for alias, kind in (("ct", "ct"), ("mri", "mri"), ("ngp-sdf", "sdf"), ("ngp-occupancy", "occupancy"),
                        ("siren-sdf", "sdf"), ("tensorf", "nerf")):
        assert kind in get_preset(alias, kind).kinds


def test_ngp_means_the_radiance_preset_for_nerf_only():
    assert get_preset("ngp").name == "ngp" and not isinstance(get_preset("ngp"), NerfPreset)
    assert get_preset("ngp", kind="image").name == "ngp" and get_preset("ngp", kind="sdf").name == "ngp"
    assert get_preset("ngp", kind="nerf").name == "nerf-ngp"
    assert resolve_preset("ngp", "nerf") == "nerf-ngp" and resolve_preset("ct") == "ngp"


def test_a_radiance_preset_for_another_kind_is_an_error_and_the_other_way_round():
    with pytest.raises(InrkitError, match="'nerf-ngp' is a radiance-field preset.*presets for image: relu"):
        get_preset("nerf-ngp", kind="image")
    with pytest.raises(InrkitError, match="'siren' is not a radiance-field preset.*nerf-ngp"):
        get_preset("siren", kind="nerf")


def test_preset_table_groups_by_kinds_with_aliases():
    table = dict(preset_table())
    assert sum(len(group) for group in table.values()) == len(PRESETS)
    assert table[("nerf",)] == [(n, PRESETS[n].description, aliases(n)) for n in ("nerf-ngp", "nerf-tensorf", "nerf")]
    for kind in (*KIND_DIMS, "nerf"):
        for kinds, group in preset_table(kind):
            assert kind in kinds and group


def test_optim_config_is_the_loops_and_the_loop_does_not_import_presets():
    import ast
    import inspect

    import inrkit.train

    assert OptimConfig is inrkit.train.OptimConfig is inrkit.OptimConfig
    tree = ast.parse(inspect.getsource(inrkit.train))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "presets" not in imported and not any(m and m.endswith(".presets") for m in imported)


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
    p = Preset("x", "a test preset", FieldConfig(network=inrkit.MLPConfig(skips=(1,))), kinds=("image",))
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
    for name in NERF_PRESETS.values():
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


@pytest.mark.parametrize("name", sorted(NERF_PRESETS))
def test_nerf_presets_build_radiance_fields(name):
    p = get_nerf_preset(name)  # the names of old nerf runs' field.json
    assert isinstance(p, NerfPreset) and p.name == NERF_PRESETS[name] and p.kinds == ("nerf",)
    assert get_nerf_preset(p.name) == p == get_preset(name, kind="nerf")
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
