"""inrkit.fields: Field, FieldConfig, RadianceField, RadianceFieldConfig."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from inrkit.encodings import (GaussianFourierConfig, HashGridConfig, IdentityConfig, PositionalConfig, SHConfig,
                              VMConfig)
from inrkit.fields import OUTPUTS, Field, FieldConfig, RadianceField, RadianceFieldConfig
from inrkit.networks import MLPConfig, SirenConfig

# A hash grid with dense (coarse) and hashed (fine) levels: 2^8 rows hold (N + 1)^2 vertices up to N = 15.
SMALL_HASH = HashGridConfig(n_levels=4, n_features=2, log2_hashmap_size=8, base_resolution=2,
                            finest_resolution=32)
SMALL_MLP = MLPConfig(width=16, depth=2)

CONFIGS = {
    "identity-mlp": FieldConfig(IdentityConfig(), SMALL_MLP),
    "positional-siren": FieldConfig(PositionalConfig(n_frequencies=3),
                                    SirenConfig(width=16, depth=2)),
    "gaussian-mlp": FieldConfig(GaussianFourierConfig(m=8, sigma=2.0), SMALL_MLP, output="sigmoid"),
    "hashgrid-mlp": FieldConfig(SMALL_HASH, SMALL_MLP, output="tanh"),
}


def _build(name: str, in_dim: int = 2, out_dim: int = 3) -> Field:
    torch.manual_seed(0)
    return CONFIGS[name].build(in_dim, out_dim)


def _points(n: int, d: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("lead", [(), (5,), (2, 3), (2, 1, 4)])
@pytest.mark.parametrize("in_dim,out_dim", [(1, 1), (2, 3), (3, 4)])
def test_forward_maps_any_leading_dims(name, lead, in_dim, out_dim):
    f = _build(name, in_dim, out_dim)
    assert (f.in_dim, f.out_dim) == (in_dim, out_dim)
    x = _points(max(1, math.prod(lead)), in_dim).reshape(*lead, in_dim)
    with torch.no_grad():
        y = f(x)
        flat = f(x.reshape(-1, in_dim))
    assert y.shape == (*lead, out_dim) and y.dtype == torch.float32
    # Leading dims are pointwise: the same values as the flat batch, in the same order.
    torch.testing.assert_close(y.reshape(-1, out_dim), flat, rtol=0, atol=1e-6)


def test_n_params_counts_every_parameter():
    f = FieldConfig(IdentityConfig(), MLPConfig(width=4, depth=1)).build(2, 3)
    assert f.n_params() == (2 * 4 + 4) + (4 * 3 + 3)


# --------------------------------------------------------------------------- output activations

HAND_OUTPUTS = {
    "identity": lambda y: y,
    "sigmoid": lambda y: 1 / (1 + np.exp(-y)),
    "tanh": lambda y: (np.exp(y) - np.exp(-y)) / (np.exp(y) + np.exp(-y)),
    "softplus": lambda y: np.log1p(np.exp(y)),
}


def test_hand_outputs_cover_every_activation():
    assert set(HAND_OUTPUTS) == set(OUTPUTS)


@pytest.mark.parametrize("output", sorted(HAND_OUTPUTS))
def test_output_activation_is_applied_to_the_network(output):
    torch.manual_seed(0)
    f = FieldConfig(PositionalConfig(n_frequencies=2), SMALL_MLP, output=output).build(2, 3)
    x = _points(64, 2) * 3  # pre-activations of both signs
    with torch.no_grad():
        raw = f.network(f.encoding(x)).double().numpy()
        y = f(x).double().numpy()
    assert np.allclose(y, HAND_OUTPUTS[output](raw), atol=1e-6)
    assert raw.min() < 0 < raw.max()  # the check above saw both signs


def test_sigmoid_output_in_open_unit_interval_and_identity_unbounded():
    torch.manual_seed(0)
    big = MLPConfig(width=16, depth=2)
    sig = FieldConfig(GaussianFourierConfig(m=16, sigma=3.0), big, output="sigmoid").build(2, 2)
    x = _points(500, 2)
    with torch.no_grad():
        y = sig(x)
        torch.manual_seed(0)
        # the same weights with identity output: the network's raw values
        ident = FieldConfig(GaussianFourierConfig(m=16, sigma=3.0), big, output="identity").build(2, 2)
        ident.load_state_dict(sig.state_dict())
        raw = ident(x)
    assert ((y > 0) & (y < 1)).all()
    torch.testing.assert_close(raw, ident.network(ident.encoding(x)), rtol=0, atol=0)
    torch.testing.assert_close(y, torch.sigmoid(raw), rtol=0, atol=1e-7)


def test_unknown_output_activation_is_a_value_error_naming_the_choices():
    with pytest.raises(ValueError, match=r"unknown output activation 'relu6'.*identity, sigmoid, tanh, softplus"):
        FieldConfig(IdentityConfig(), SMALL_MLP, output="relu6").build(2, 1)
    enc, net = IdentityConfig().build(2), SMALL_MLP.build(2, 1)
    with pytest.raises(ValueError, match="unknown output activation"):
        Field(enc, net, output="Sigmoid")


# --------------------------------------------------------------------------- cache / forward_cached


@pytest.mark.parametrize("name", ["identity-mlp", "hashgrid-mlp", "positional-siren"])
@pytest.mark.parametrize("in_dim", [2, 3])
def test_forward_cached_equals_forward(name, in_dim):
    f = _build(name, in_dim, 2)
    x = _points(257, in_dim, seed=1)
    x[0] = 1.0  # the upper edge of the domain (last cell of every hash level)
    x[1] = -1.0
    cache = f.cache(x)
    idx = torch.tensor([5, 0, 256, 5])
    with torch.no_grad():
        direct = f(x)
        cached = f.forward_cached(cache)
        batch = f.forward_cached(f.cache(x, batches=True), idx)  # features served by rows (or coordinates)
        (trained,) = f.training_outputs(cache)
    assert cached.shape == (257, 2) and batch.shape == (4, 2)
    torch.testing.assert_close(cached, direct, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(batch, direct[idx], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(trained, direct, rtol=1e-5, atol=1e-6)


def test_cache_keeps_what_each_encoding_can_reuse():
    """Full batch: the encoding's preparation (a hash grid's sparse matrix, a fixed encoding's features);
    batches: a fixed encoding's features while they fit; a trainable encoding that cannot prepare: nothing."""
    from inrkit.encodings import HashGridCache

    x = _points(300, 2, seed=7)
    hashed, fixed = _build("hashgrid-mlp", 2, 1), _build("positional-siren", 2, 1)
    assert isinstance(hashed.cache(x).prepared, HashGridCache)
    assert hashed.cache(x, batches=True).coords is not None  # trainable table: encoded at every step
    assert fixed.cache(x).prepared.shape == (300, fixed.encoding.out_dim)
    feats = fixed.cache(x, batches=True).features
    assert feats.shape == (300, fixed.encoding.out_dim) and not feats.requires_grad
    assert fixed.cache(x, batches=True, max_bytes=feats.numel() * 4 - 1).features is None  # over the limit
    assert fixed.cache(x, batches=True).nbytes == feats.numel() * 4
    enc = VMConfig(n_components=2, resolution=8).build(3)
    vm = Field(enc, SMALL_MLP.build(enc.out_dim, 1))
    y = _points(50, 3, seed=8)
    vm_cache = vm.cache(y)  # its default prepare would keep one step's graph: nothing is cached
    assert vm_cache.prepared is None and torch.equal(vm_cache.coords, y)
    vm.forward_cached(vm_cache).sum().backward()
    vm.forward_cached(vm_cache).sum().backward()  # a second step works
    with pytest.raises(ValueError, match="full-batch cache"):
        hashed.forward_cached(hashed.cache(x), torch.tensor([0]))


def test_compiled_field_shares_the_parameters():
    f = _build("identity-mlp", 2, 1)
    assert f.compiled("off") is f and f.compiled("auto") is f  # a small MLP does not gain
    c = f.compiled("on")
    assert c is not f and c.encoding is f.encoding and c.network._orig_mod is f.network
    assert c.output == f.output and c.config is f.config and "_orig_mod" not in "".join(f.state_dict())
    with pytest.raises(ValueError, match="auto, on or off"):
        f.compiled("yes")


@pytest.mark.parametrize("name", ["identity-mlp", "hashgrid-mlp"])
def test_forward_prepared_gradients_equal_forward_gradients(name):
    f = _build(name, 2, 2)
    x = _points(200, 2, seed=2)
    w = torch.randn(200, 2, generator=torch.Generator().manual_seed(3))

    def grads(out):
        f.zero_grad()
        (out * w).sum().backward()
        return {k: p.grad.clone() for k, p in f.named_parameters()}

    g_direct = grads(f(x))
    g_prep = grads(f.forward_cached(f.cache(x)))
    assert g_direct.keys() == g_prep.keys()
    for k in g_direct:
        torch.testing.assert_close(g_prep[k], g_direct[k], rtol=1e-4, atol=1e-6, msg=k)
    if name == "hashgrid-mlp":
        assert g_prep["encoding.table"].abs().sum() > 0


def test_prepared_state_follows_parameter_updates():
    """The cache holds coordinates' work only: after a step, forward_cached sees the new weights."""
    f = _build("hashgrid-mlp", 2, 1)
    x = _points(100, 2, seed=4)
    state = f.cache(x)
    with torch.no_grad():
        f.encoding.table.add_(0.5)
        f.network.out.bias.add_(1.0)
        torch.testing.assert_close(f.forward_cached(state), f(x), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- sample_grid


def _hand_grid(h, w, lo=(-1.0, -1.0), hi=(1.0, 1.0)):
    """Pixel centres of an (h, w) grid as (x, y), x along columns: (i + 0.5) / n of the region."""
    pts = np.empty((h, w, 2))
    for i in range(h):
        for j in range(w):
            pts[i, j] = (lo[0] + (j + 0.5) / w * (hi[0] - lo[0]), lo[1] + (i + 0.5) / h * (hi[1] - lo[1]))
    return pts


def test_hand_grid_default_region_is_the_pixel_centre_formula():
    pts = _hand_grid(2, 3)
    assert np.allclose(pts[..., 0], [[-2 / 3, 0, 2 / 3]] * 2)
    assert np.allclose(pts[..., 1], [[-0.5] * 3, [0.5] * 3])


@pytest.mark.parametrize("name", ["identity-mlp", "hashgrid-mlp"])
@pytest.mark.parametrize("region", [None, ((0.0, -0.5), (1.0, 0.5)), ((-1.0, 0.25), (-0.5, 1.0))])
def test_sample_grid_equals_evaluating_at_pixel_centres(name, region):
    f = _build(name, 2, 3)
    lo, hi = region if region is not None else ((-1.0, -1.0), (1.0, 1.0))
    pts = torch.tensor(_hand_grid(2, 3, lo, hi), dtype=torch.float32)
    with torch.no_grad():
        expected = f(pts).numpy()
    got = f.sample_grid((2, 3), region=region)
    assert isinstance(got, np.ndarray) and got.shape == (2, 3, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    # Chunking changes nothing.
    np.testing.assert_allclose(f.sample_grid((2, 3), region=region, chunk_size=1), got, rtol=0, atol=1e-6)


def test_sample_grid_3d_shape_and_axis_order():
    f = _build("identity-mlp", 3, 1)
    d, h, w = 2, 3, 4
    got = f.sample_grid((d, h, w))
    assert got.shape == (d, h, w, 1)
    k, i, j = 1, 2, 3
    x = torch.tensor([[(j + 0.5) / w * 2 - 1, (i + 0.5) / h * 2 - 1, (k + 0.5) / d * 2 - 1]])
    with torch.no_grad():
        np.testing.assert_allclose(got[k, i, j], f(x)[0].numpy(), rtol=0, atol=1e-6)


def test_sample_grid_does_not_track_gradients_or_change_training_mode():
    f = _build("hashgrid-mlp", 2, 1)
    f.train()
    f.sample_grid((4, 4))
    assert f.training
    assert all(p.grad is None for p in f.parameters())


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_gradients_reach_every_parameter(name):
    f = _build(name, 2, 3)
    x = _points(128, 2, seed=5).requires_grad_(name != "hashgrid-mlp")
    f(x).square().sum().backward()
    for k, p in f.named_parameters():
        assert p.grad is not None, k
        assert torch.isfinite(p.grad).all(), k
        assert p.grad.abs().sum() > 0, k


# --------------------------------------------------------------------------- FieldConfig


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_field_config_round_trips_through_json(name):
    cfg = CONFIGS[name]
    d = json.loads(json.dumps(cfg.to_dict()))
    again = FieldConfig.from_dict(d)
    assert again == cfg
    a, b = cfg.build(2, 3), again.build(2, 3)
    assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}
    assert (b.in_dim, b.out_dim, b.output) == (2, 3, cfg.output)
    b.load_state_dict(a.state_dict())
    x = _points(16, 2)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


def test_field_config_round_trips_skips_as_a_tuple():
    cfg = FieldConfig(PositionalConfig(n_frequencies=2), MLPConfig(width=8, depth=4, skips=(2,)))
    d = json.loads(json.dumps(cfg.to_dict()))
    assert d["network"]["skips"] == [2]
    again = FieldConfig.from_dict(d)
    assert again.network.skips == (2,) and again == cfg
    assert again.build(3, 1).network.layers[2].in_features == 8 + cfg.build(3, 1).encoding.out_dim


def test_field_config_from_empty_dict_is_the_default():
    assert FieldConfig.from_dict({}) == FieldConfig()
    assert FieldConfig().build(2, 1).output == "identity"


def test_field_config_dict_holds_each_components_own_keys():
    d = FieldConfig(GaussianFourierConfig(m=8, sigma=2.0), MLPConfig(width=4, depth=1), "sigmoid").to_dict()
    assert d == {"encoding": {"kind": "gaussian", "m": 8, "sigma": 2.0, "seed": 0},
                 "network": {"kind": "mlp", "width": 4, "depth": 1, "activation": "relu", "skips": (),
                             "init": "torch"},
                 "output": "sigmoid"}
    with pytest.raises(ValueError, match="'n_levels'"):  # a key of another kind: not this version's form
        FieldConfig.from_dict({**d, "encoding": {**d["encoding"], "n_levels": 4}})


def test_field_keeps_its_config():
    cfg = CONFIGS["gaussian-mlp"]
    f = cfg.build(2, 1)
    assert f.config is cfg


# --------------------------------------------------------------------------- RadianceField

SMALL_RADIANCE = RadianceFieldConfig(
    HashGridConfig(n_levels=4, n_features=2, log2_hashmap_size=10, base_resolution=2, finest_resolution=32),
    MLPConfig(width=16, depth=1),
    7,
    SHConfig(degree=3),
    MLPConfig(width=16, depth=2),
)


def _radiance(density_activation="exp", coarse=False) -> RadianceField:
    import dataclasses

    torch.manual_seed(0)
    cfg = dataclasses.replace(SMALL_RADIANCE, density_activation=density_activation, coarse_network=coarse)
    return cfg.build()


def _dirs(n, seed=0):
    d = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed))
    return d / d.norm(dim=-1, keepdim=True)


@pytest.mark.parametrize("act", ["exp", "relu", "softplus"])
@pytest.mark.parametrize("lead", [(7,), (2, 5), ()])
def test_radiance_field_returns_rgb_and_sigma(act, lead):
    f = _radiance(act)
    n = max(1, math.prod(lead))
    x = (_points(n, 3, seed=6) * 1.5).reshape(*lead, 3)  # some points outside [-1, 1]^3: clamped
    d = _dirs(n).reshape(*lead, 3)
    with torch.no_grad():
        rgb, sigma = f(x, d)
        # Large raw densities of both signs: push the last density-network bias.
        f.network.out.bias[0] = -20.0
        _, sigma_neg = f(x, d)
        f.network.out.bias[0] = 20.0
        _, sigma_pos = f(x, d)
    assert rgb.shape == (*lead, 3) and sigma.shape == lead
    assert ((rgb >= 0) & (rgb <= 1)).all()
    for s in (sigma, sigma_neg, sigma_pos):
        assert (s >= 0).all() and torch.isfinite(s).all()
    assert (sigma_pos > 1).all()


def test_radiance_density_activations_on_the_raw_density():
    x = _points(50, 3, seed=7)
    for act, fn in {"exp": torch.exp, "relu": torch.relu, "softplus": torch.nn.functional.softplus}.items():
        f = _radiance(act)
        with torch.no_grad():
            raw = f.network(f.encoding(x))[:, 0]
            torch.testing.assert_close(f.density(x), fn(raw), rtol=1e-6, atol=0)


@pytest.mark.parametrize("act", ["exp", "relu"])
def test_density_equals_the_sigma_of_forward(act):
    f = _radiance(act)
    x = _points(24, 3, seed=8).reshape(4, 6, 3)
    with torch.no_grad():
        _, sigma = f(x, _dirs(24).reshape(4, 6, 3))
        dens = f.density(x)
    assert dens.shape == (4, 6)
    torch.testing.assert_close(dens, sigma, rtol=0, atol=0)


def test_radiance_colour_depends_on_direction_but_density_does_not():
    f = _radiance()
    x = _points(10, 3, seed=9)
    with torch.no_grad():
        rgb1, s1 = f(x, _dirs(10, seed=1))
        rgb2, s2 = f(x, _dirs(10, seed=2))
    assert torch.equal(s1, s2)
    assert not torch.allclose(rgb1, rgb2)


def test_radiance_gradients_reach_every_parameter():
    f = _radiance()
    rgb, sigma = f(_points(64, 3, seed=10), _dirs(64))
    (rgb.sum() + sigma.sum()).backward()
    for k, p in f.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, k


def test_truncated_exp_gradient_is_capped_at_exp_15():
    from inrkit.fields import DENSITY_ACTIVATIONS

    raw = torch.tensor([0.0, 10.0, 20.0], requires_grad=True)
    out = DENSITY_ACTIVATIONS["exp"](raw)
    out.sum().backward()
    torch.testing.assert_close(out.detach(), torch.exp(raw.detach()))
    torch.testing.assert_close(raw.grad, torch.exp(torch.tensor([0.0, 10.0, 15.0])))
    assert _radiance().density_activation == "exp"  # the config's default


def test_unknown_density_activation_is_a_value_error():
    import dataclasses

    with pytest.raises(ValueError, match="unknown density activation 'gelu'"):
        dataclasses.replace(SMALL_RADIANCE, density_activation="gelu").build()


def test_radiance_field_dims_and_coarse_network():
    f = _radiance(coarse=False)
    assert (f.in_dim, f.out_dim) == (3, 4) and f.coarse is None
    g = _radiance(coarse=True)
    assert isinstance(g.coarse, RadianceField) and g.coarse.coarse is None
    # Same shapes, separate weights.
    assert {k: v.shape for k, v in g.coarse.state_dict().items()} == {k: v.shape for k, v in f.state_dict().items()}
    assert g.coarse.encoding.table.data_ptr() != g.encoding.table.data_ptr()
    assert g.n_params() == 2 * f.n_params()


@pytest.mark.parametrize("coarse", [False, True])
def test_radiance_config_round_trips_through_json(coarse):
    import dataclasses

    cfg = dataclasses.replace(SMALL_RADIANCE, density_activation="softplus", coarse_network=coarse,
                              network=MLPConfig(width=8, depth=3, skips=(1,)))
    d = json.loads(json.dumps(cfg.to_dict()))
    assert d["type"] == "radiance" and d["direction"] == {"kind": "sh", "degree": 3}
    again = RadianceFieldConfig.from_dict(d)
    assert again == cfg
    torch.manual_seed(0)
    a = cfg.build()
    b = again.build()
    assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}
    b.load_state_dict(a.state_dict())
    x, dirs = _points(8, 3), _dirs(8)
    with torch.no_grad():
        ra, sa = a(x, dirs)
        rb, sb = b(x, dirs)
    assert torch.equal(ra, rb) and torch.equal(sa, sb)


def test_training_outputs_are_the_output_or_every_scale():
    """The loop compares what the field trains with the samples: its output, or BACON's every scale."""
    import inrkit

    sig = inrkit.load_image("sample:camera", size=(16, 16))
    ngp = inrkit.make_field(inrkit.get_preset("ngp").field, sig)
    x = torch.rand(10, 2) * 2 - 1
    with torch.no_grad():
        (out,) = ngp.training_outputs(ngp.cache(x))
        assert torch.equal(out, ngp(x))
    bacon = inrkit.make_field(inrkit.get_preset("bacon").field, sig)
    with torch.no_grad():
        scales = bacon.training_outputs(bacon.cache(x, batches=True), torch.arange(10))
        assert len(scales) == 4 and all(s.shape == (10, 1) for s in scales)
        assert torch.allclose(scales[-1], bacon(x), atol=1e-6)  # the finest scale is the field's output
