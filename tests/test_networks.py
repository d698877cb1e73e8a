"""Tests of the networks in :mod:`inrkit.networks`: MLP, SIREN and their config."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from inrkit.networks import (ACTIVATIONS, MLP, NETWORK_KINDS, NETWORKS, MLPConfig, NetworkConfig, SineLayer, Siren,
                             SirenConfig, WireConfig)


def _rand(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=dtype) * 2 - 1


def _make_mlp(**kw):
    args = dict(in_dim=3, out_dim=2, width=16, depth=3)
    args.update(kw)
    return MLP(**args)


def _make_siren(**kw):
    args = dict(in_dim=3, out_dim=2, width=16, depth=3)
    args.update(kw)
    return Siren(**args)


NETS = [
    ("mlp-relu", lambda: _make_mlp()),
    ("mlp-tanh-skip", lambda: _make_mlp(activation="tanh", depth=4, skips=(2,))),
    ("mlp-depth1", lambda: _make_mlp(depth=1)),
    ("siren", lambda: _make_siren()),
    ("siren-depth1", lambda: _make_siren(depth=1)),
]
NET_IDS = [n[0] for n in NETS]


# --------------------------------------------------------------------------- shapes, gradients, seeds


@pytest.mark.parametrize("name,make", NETS, ids=NET_IDS)
@pytest.mark.parametrize("lead", [(5,), (2, 3), ()], ids=str)
def test_output_shape(name, make, lead):
    net = make()
    assert (net.in_dim, net.out_dim) == (3, 2)
    y = net(_rand(*lead, 3))
    assert y.shape == (*lead, 2)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name,make", NETS, ids=NET_IDS)
def test_leading_dims_are_pointwise(name, make):
    net = make().double()
    x = _rand(2, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(net(x).reshape(6, 2), net(x.reshape(6, 3)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,make", NETS, ids=NET_IDS)
def test_gradients_reach_every_parameter_and_the_input(name, make):
    torch.manual_seed(0)
    net = make()
    x = _rand(64, 3).requires_grad_(True)
    y = net(x)
    (y * torch.randn_like(y)).sum().backward()
    params = dict(net.named_parameters())
    assert params, "network has no parameters"
    for pname, p in params.items():
        assert p.grad is not None, f"{pname} got no gradient"
        assert p.grad.abs().sum() > 0, f"{pname} got a zero gradient"
    assert (x.grad.abs().sum(-1) > 0).all()


@pytest.mark.parametrize("name,make", NETS, ids=NET_IDS)
def test_deterministic_under_manual_seed(name, make, check_seed_determinism):
    check_seed_determinism(make, _rand(10, 3))


@pytest.mark.parametrize("name,make", NETS, ids=NET_IDS)
def test_parameter_count(name, make):
    net = make()
    n = sum(p.numel() for p in net.parameters())
    width, in_dim, out_dim = 16, 3, 2
    depth = len(net.layers)
    skips = getattr(net, "skips", ())
    expected = (in_dim + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * out_dim
    expected += sum(in_dim * width for s in skips if 0 < s < depth)
    assert n == expected


# --------------------------------------------------------------------------- MLP


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_mlp_forward_equals_hand_composition(activation):
    torch.manual_seed(0)
    net = MLP(2, 3, width=8, depth=3, activation=activation)
    assert len(net.layers) == 3
    act = {
        "relu": torch.relu,
        "leaky_relu": nn.functional.leaky_relu,
        "gelu": nn.functional.gelu,
        "silu": nn.functional.silu,
        "softplus": nn.functional.softplus,
        "tanh": torch.tanh,
    }[activation]
    x = _rand(7, 2)
    h = x
    for layer in net.layers:
        h = act(h @ layer.weight.T + layer.bias)
    expected = h @ net.out.weight.T + net.out.bias
    torch.testing.assert_close(net(x), expected, rtol=1e-5, atol=1e-6)


def test_mlp_layer_sizes_with_skips():
    net = MLP(5, 4, width=32, depth=6, skips=(2, 4))
    in_features = [layer.in_features for layer in net.layers]
    assert in_features == [5, 32, 32 + 5, 32, 32 + 5, 32]
    assert all(layer.out_features == 32 for layer in net.layers)
    assert (net.out.in_features, net.out.out_features) == (32, 4)


def test_mlp_skip_at_first_layer_is_a_no_op():
    """Layer 0 already takes the input: a skip there adds nothing."""
    net = MLP(5, 4, width=32, depth=3, skips=(0,))
    assert [layer.in_features for layer in net.layers] == [5, 32, 32]
    assert net(_rand(3, 5)).shape == (3, 4)


def test_mlp_skip_forward_equals_hand_composition():
    torch.manual_seed(1)
    net = MLP(3, 2, width=8, depth=4, activation="tanh", skips=(2,))
    x = _rand(6, 3)
    h = torch.tanh(net.layers[0](x))
    h = torch.tanh(net.layers[1](h))
    h = torch.tanh(net.layers[2](torch.cat([h, x], -1)))  # hidden first, then the input
    h = torch.tanh(net.layers[3](h))
    torch.testing.assert_close(net(x), net.out(h), rtol=1e-5, atol=1e-6)


def test_mlp_output_depends_on_input_through_the_skip():
    torch.manual_seed(2)
    net = MLP(3, 2, width=16, depth=4, activation="tanh", skips=(2,))
    with torch.no_grad():
        net.layers[0].weight.zero_()  # the path through layers 0 and 1 no longer sees x
    x = _rand(20, 3, seed=1)
    y = net(x)
    assert (y - y[:1]).abs().max() > 1e-3, "output must still vary with x, through the skip"
    jac = torch.autograd.functional.jacobian(lambda v: net(v[None])[0], x[0])
    assert jac.abs().sum() > 0
    # Cut the skip's input columns (the last in_dim of the skip layer): now the output is constant.
    with torch.no_grad():
        net.layers[2].weight[:, 16:].zero_()
    y = net(x)
    torch.testing.assert_close(y, y[:1].expand_as(y), rtol=0, atol=1e-7)


def test_mlp_unknown_activation_raises():
    with pytest.raises(ValueError, match="unknown activation"):
        MLP(2, 1, activation="swish2")


@pytest.mark.parametrize("kw", [dict(depth=0), dict(width=0)])
def test_mlp_rejects_empty_network(kw):
    with pytest.raises(ValueError):
        MLP(2, 1, **kw)


def test_mlp_uses_pytorch_default_init():
    torch.manual_seed(3)
    net = MLP(4, 1, width=256, depth=2)
    for layer in net.layers:
        bound = 1 / math.sqrt(layer.in_features)  # kaiming_uniform(a=√5) and the bias: U(±1/√n)
        assert layer.weight.abs().max() <= bound
        assert layer.weight.abs().max() > 0.95 * bound
        assert layer.bias.abs().max() <= bound


def test_mlp_glorot_init_matches_jax_stax_statistics():
    torch.manual_seed(3)
    net = MLP(512, 3, width=256, depth=3, init="glorot")
    for layer in [*net.layers, net.out]:
        fan_out, fan_in = layer.weight.shape
        w = layer.weight.detach().double()
        var = 2 / (fan_in + fan_out)  # Glorot: the truncation is compensated, so the variance is exact
        # four standard errors of a sample variance of n near-normal draws: 4 √(2/n) (n = 768 for the output)
        assert w.var().item() == pytest.approx(var, rel=4 * math.sqrt(2 / w.numel()))
        # truncated at two standard deviations of the untruncated normal
        assert w.abs().max().item() <= 2 * math.sqrt(var) / 0.8796256610342398 + 1e-6
    biases = torch.cat([layer.bias.detach() for layer in [*net.layers, net.out]])  # 771 draws of N(0, 0.01²)
    assert biases.std().item() == pytest.approx(0.01, rel=0.15)
    # a square layer: three times the variance of PyTorch's default U(±1/√n), which is 1 / (3n)
    torch_var = 1 / (3 * 256)
    assert net.layers[1].weight.var().item() == pytest.approx(3 * torch_var, rel=0.05)
    with pytest.raises(ValueError, match="initialisation"):
        MLP(2, 1, init="he")


# --------------------------------------------------------------------------- SineLayer


@pytest.mark.parametrize("is_first", [True, False])
@pytest.mark.parametrize("shape", [(9, 4), (2, 5, 4), (4,)], ids=str)
def test_sine_layer_folds_omega(is_first, shape):
    torch.manual_seed(4)
    layer = SineLayer(4, 6, omega=30.0, is_first=is_first)
    x = _rand(*shape, seed=2, dtype=torch.float64)
    w, b = layer.linear.weight.double(), layer.linear.bias.double()
    pre = 30.0 * (x @ w.T + b)
    torch.testing.assert_close(layer.double().preactivation(x), pre, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(layer(x), torch.sin(pre), rtol=1e-10, atol=1e-10)
    # And in float32 the fold changes nothing beyond rounding.
    layer = layer.float()
    torch.testing.assert_close(layer(x.float()), torch.sin(pre).float(), rtol=0, atol=2e-5)


def test_sine_layer_omega_is_not_a_parameter():
    layer = SineLayer(3, 4, omega=15.0)
    assert {n for n, _ in layer.named_parameters()} == {"linear.weight", "linear.bias"}
    assert layer.omega == 15.0


def test_sine_layer_gradients():
    layer = SineLayer(3, 4, omega=30.0, is_first=True).double()
    x = _rand(5, 3, dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(layer, (x,))
    layer(x).sum().backward()
    assert layer.linear.weight.grad.abs().sum() > 0 and layer.linear.bias.grad.abs().sum() > 0


# --------------------------------------------------------------------------- SIREN: structure and init


def test_siren_structure():
    net = Siren(2, 3, width=32, depth=5, first_omega=20.0, hidden_omega=15.0)
    assert len(net.layers) == 5
    assert all(isinstance(layer, SineLayer) for layer in net.layers)
    assert net.layers[0].is_first and net.layers[0].omega == 20.0
    assert net.layers[0].linear.in_features == 2
    for layer in net.layers[1:]:
        assert not layer.is_first and layer.omega == 15.0
        assert (layer.linear.in_features, layer.linear.out_features) == (32, 32)
    assert isinstance(net.out, nn.Linear) and (net.out.in_features, net.out.out_features) == (32, 3)


def test_siren_forward_equals_hand_composition():
    torch.manual_seed(5)
    net = Siren(2, 3, width=8, depth=3, first_omega=30.0, hidden_omega=10.0).double()
    x = _rand(6, 2, dtype=torch.float64)
    h = torch.sin(30.0 * (x @ net.layers[0].linear.weight.T + net.layers[0].linear.bias))
    for layer in net.layers[1:]:
        h = torch.sin(10.0 * (h @ layer.linear.weight.T + layer.linear.bias))
    expected = h @ net.out.weight.T + net.out.bias  # a linear last layer, no sine
    torch.testing.assert_close(net(x), expected, rtol=1e-10, atol=1e-10)


def _check_uniform(w, bound, what):
    w = w.detach().double()
    assert w.abs().max().item() <= bound * (1 + 1e-6), f"{what}: exceeds ±{bound}"
    assert w.abs().max().item() > 0.98 * bound, f"{what}: narrower than ±{bound}"
    uniform_std = bound / math.sqrt(3)
    assert abs(w.std().item() / uniform_std - 1) < 0.05, f"{what}: std {w.std().item()} vs {uniform_std}"
    assert abs(w.mean().item()) < 0.05 * uniform_std


@pytest.mark.parametrize("first_omega,hidden_omega", [(30.0, 30.0), (10.0, 15.0)])
def test_siren_initialisation(first_omega, hidden_omega):
    torch.manual_seed(6)
    in_dim, width = 4, 512
    net = Siren(in_dim, 3, width=width, depth=3, first_omega=first_omega, hidden_omega=hidden_omega)
    # First layer: U(±1/n_in), independent of omega.
    _check_uniform(net.layers[0].linear.weight, 1 / in_dim, "first layer")
    # Hidden layers: U(±√(6/n)/ω0).
    for i, layer in enumerate(net.layers[1:], 1):
        _check_uniform(layer.linear.weight, math.sqrt(6 / width) / hidden_omega, f"hidden layer {i}")
    # Last (linear) layer: initialised like a hidden sine layer.
    out_w = net.out.weight.detach()
    assert out_w.abs().max() <= math.sqrt(6 / width) / hidden_omega * (1 + 1e-6)
    # Biases keep PyTorch's default U(±1/√n).
    for layer in list(net.layers) + [net.out]:
        lin = layer.linear if isinstance(layer, SineLayer) else layer
        assert lin.bias.abs().max() <= 1 / math.sqrt(lin.in_features)


def test_sine_layer_hidden_bound_scales_with_omega():
    torch.manual_seed(7)
    a = SineLayer(256, 256, omega=30.0).linear.weight.abs().max().item()
    b = SineLayer(256, 256, omega=3.0).linear.weight.abs().max().item()
    assert b / a == pytest.approx(10.0, rel=0.02)


# --------------------------------------------------------------------------- SIREN: activation statistics


def _layer_statistics(width, depth, n_points, seed=0):
    """Per layer: (pre-activation incl. bias, its weight part ω0·W·h, sine output, input h)."""
    torch.manual_seed(seed)
    net = Siren(2, 1, width=width, depth=depth)
    x = _rand(n_points, 2, seed=seed)  # uniform in [-1, 1]
    stats = []
    h = x
    with torch.no_grad():
        for layer in net.layers:
            z = layer.preactivation(h)
            weight_part = z - layer.omega * layer.linear.bias
            s = torch.sin(z)
            stats.append((z, weight_part, s, h))
            h = s
    return net, stats


def _arcsine_ks(s):
    """Kolmogorov-Smirnov distance of samples to the arcsine law on [-1, 1]: F(y) = 1/2 + asin(y)/π."""
    v, _ = s.flatten()[::4].double().sort()  # a quarter of the samples is plenty
    n = v.numel()
    emp = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return (emp - (0.5 + torch.asin(v.clamp(-1, 1)) / math.pi)).abs().max().item()


def test_siren_activation_statistics_width_512():
    """Sitzmann et al. 2020, supp. 1.3: inputs to each hidden sine are ~N(0, 1), outputs arcsine.

    The paper's analysis is of ``ω0·W·h``; the reference code (and this one) also adds
    ``ω0·b`` with PyTorch's default ``b ~ U(±1/√n)``, whose variance ``ω0²/(3n)``
    (0.59 at n = 512) only vanishes for wide layers. So at width 512 the weight
    part is checked against N(0, 1), and the full pre-activation against the
    closed form ``Var = n·Var(ω0·W)·E[h²] + ω0²/(3n) = 2·E[h²] + ω0²/(3n)``.
    """
    width = 512
    _, stats = _layer_statistics(width, depth=8, n_points=1024)
    z, _, s, _ = stats[0]
    assert abs(s.std().item() - 1 / math.sqrt(2)) < 0.05  # first layer's output: arcsine already
    for i, (z, weight_part, s, h) in enumerate(stats[1:], 1):
        assert abs(weight_part.mean().item()) < 0.1, f"layer {i}"
        assert abs(weight_part.std().item() - 1) < 0.1, f"layer {i}: std {weight_part.std().item():.3f}"
        predicted_var = 2 * h.pow(2).mean().item() + 30.0**2 / (3 * width)
        assert z.var().item() == pytest.approx(predicted_var, rel=0.05), f"layer {i}"
        assert abs(z.mean().item()) < 0.1, f"layer {i}"
        # Arcsine-distributed sine outputs: std 1/√2, and the whole law.
        assert abs(s.mean().item()) < 0.08, f"layer {i}"  # per-neuron offsets ω0·b move it a little
        assert abs(s.std().item() - 1 / math.sqrt(2)) < 0.05, f"layer {i}: std {s.std().item():.3f}"
        assert _arcsine_ks(s) < 0.06, f"layer {i}"


def test_siren_preactivations_standard_normal_when_wide():
    """Wide enough that ω0²/(3n) is small (0.15 at n = 2048): pre-activations ≈ N(0, 1) at every depth."""
    _, stats = _layer_statistics(width=2048, depth=8, n_points=512)
    for i, (z, _, s, _) in enumerate(stats[1:], 1):
        assert abs(z.mean().item()) < 0.1, f"layer {i}"
        assert abs(z.std().item() - 1) < 0.1, f"layer {i}: std {z.std().item():.3f}"
        # Normal, not just unit variance: ~68.3% within one standard deviation, 95.4% within two.
        within = (z - z.mean()).abs() / z.std()
        assert abs((within < 1).double().mean().item() - 0.6827) < 0.02, f"layer {i}"
        assert abs((within < 2).double().mean().item() - 0.9545) < 0.01, f"layer {i}"
        # sin of N(0, σ²) has E[sin²] = (1 - exp(-2σ²)) / 2: 0.43 for σ = 1.
        expected_var = (1 - math.exp(-2 * z.var().item())) / 2
        assert s.var().item() == pytest.approx(expected_var, rel=0.05), f"layer {i}"


def test_siren_statistics_do_not_depend_on_depth():
    """No vanishing or exploding: the last hidden layer looks like the second."""
    _, stats = _layer_statistics(width=512, depth=8, n_points=1024, seed=1)
    first, last = stats[1][0].std().item(), stats[-1][0].std().item()
    assert last / first == pytest.approx(1.0, abs=0.1)


# --------------------------------------------------------------------------- NetworkConfig


def test_network_config_builds_mlp():
    cfg = MLPConfig(width=24, depth=5, activation="gelu", skips=[3])  # a list, as from JSON
    assert cfg.skips == (3,) and NetworkConfig.from_dict(cfg.to_dict()) == cfg
    net = cfg.build(7, 2)
    assert isinstance(net, MLP)
    assert (net.in_dim, net.out_dim) == (7, 2)
    assert net.skips == (3,)
    assert [layer.in_features for layer in net.layers] == [7, 24, 24, 24 + 7, 24]
    assert isinstance(net.act, nn.GELU)
    assert net(_rand(4, 7)).shape == (4, 2)


def test_network_config_builds_siren():
    cfg = SirenConfig(width=24, depth=3, first_omega=12.0, hidden_omega=5.0)
    net = cfg.build(2, 3)
    assert isinstance(net, Siren)
    assert (net.in_dim, net.out_dim) == (2, 3)
    assert len(net.layers) == 3
    assert net.layers[0].omega == 12.0 and all(layer.omega == 5.0 for layer in net.layers[1:])
    assert net(_rand(4, 2)).shape == (4, 3)


def test_network_config_default_is_relu_mlp():
    net = MLPConfig().build(2, 1)
    assert isinstance(net, MLP) and isinstance(net.act, nn.ReLU)
    assert len(net.layers) == 4 and net.layers[1].in_features == 256


def test_network_config_build_is_deterministic_under_seed():
    cfg = SirenConfig(width=16, depth=2)
    torch.manual_seed(9)
    a = cfg.build(2, 1)
    torch.manual_seed(9)
    b = cfg.build(2, 1)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_network_config_unknown_kind_raises():
    with pytest.raises(ValueError, match="unknown network kind 'kan'"):
        NetworkConfig.from_dict({"kind": "kan"})


def test_network_configs_registry_and_own_keys():
    assert NETWORK_KINDS == ("mlp", "siren", "gauss", "wire", "finer", "fourier-net", "gabor-net", "bacon")
    for kind, cls in NETWORKS.items():
        cfg = cls(max_frequency=4.0) if kind == "bacon" else cls()
        assert isinstance(cfg, NetworkConfig) and cfg.kind == kind
        d = cfg.to_dict()
        assert d["kind"] == kind and {"width", "depth"} <= set(d)  # `inrkit info` reads these two
        assert NetworkConfig.from_dict(d) == cfg
        assert cfg.build(2, 1)(_rand(3, 2)).shape == (3, 1)
    assert WireConfig(omega=7.0, sigma=9.0).to_dict() == {"kind": "wire", "width": 256, "depth": 4, "omega": 7.0,
                                                          "sigma": 9.0}
    with pytest.raises(ValueError, match="'hidden_omega'"):  # WIRE's ω0 is `omega`
        NetworkConfig.from_dict({"kind": "wire", "hidden_omega": 7.0})
    with pytest.raises(TypeError, match="MLPConfig"):
        NetworkConfig("mlp", width=3)


def test_network_config_unknown_activation_raises():
    with pytest.raises(ValueError):
        MLPConfig(activation="sine").build(2, 1)


@pytest.mark.parametrize("kw", [dict(depth=0), dict(width=0)])
def test_siren_rejects_empty_network(kw):
    with pytest.raises(ValueError):
        Siren(2, 1, **kw)
