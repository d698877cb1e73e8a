"""Tests of the activation-family zoo in :mod:`inrkit.networks`: Gauss, WIRE, FINER and the
multiplicative filter networks (FourierNet, GaborNet, BACON), their configs and presets."""
from __future__ import annotations

import math

import pytest
import torch

import inrkit
from inrkit.networks import (NETWORKS, Bacon, BaconConfig, Finer, FinerConfig, FourierNet, FourierNetConfig, GaborNet,
                             GaborNetConfig, Gauss, GaussConfig, Wire, WireConfig)


def _rand(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=dtype) * 2 - 1


IN, OUT, W, D = 3, 2, 16, 3

# Moderate WIRE constants in the unit tests: with the paper's s0 = 30 and default init, most
# units of a 16-wide network underflow to exactly 0 on random inputs (exp(-900)).
NETS = [
    ("gauss", lambda: Gauss(IN, OUT, width=W, depth=D, scale=2.0)),
    ("gauss-depth1", lambda: Gauss(IN, OUT, width=W, depth=1)),
    ("wire", lambda: Wire(IN, OUT, width=W, depth=D, omega=5.0, sigma=2.0)),
    ("wire-depth1", lambda: Wire(IN, OUT, width=W, depth=1, omega=5.0, sigma=2.0)),
    ("finer", lambda: Finer(IN, OUT, width=W, depth=D, first_omega=30.0, hidden_omega=30.0, first_bias_scale=1.0)),
    ("finer-depth1", lambda: Finer(IN, OUT, width=W, depth=1)),
    ("fourier-net", lambda: FourierNet(IN, OUT, width=W, depth=D, input_scale=8.0)),
    ("fourier-net-depth1", lambda: FourierNet(IN, OUT, width=W, depth=1, input_scale=8.0)),
    ("gabor-net", lambda: GaborNet(IN, OUT, width=W, depth=D, input_scale=8.0)),
    ("bacon", lambda: Bacon(IN, OUT, width=W, depth=D, max_frequency=4.0)),
    ("bacon-depth1", lambda: Bacon(IN, OUT, width=W, depth=1, max_frequency=4.0)),
]
NET_IDS = [n[0] for n in NETS]


# --------------------------------------------------------------------------- shapes, dtypes, gradients, seeds


@pytest.mark.parametrize("name,make", NETS, ids=NET_IDS)
@pytest.mark.parametrize("lead", [(5,), (2, 3), (), (4, 1, 2)], ids=str)
def test_output_shape_and_dtype(name, make, lead):
    torch.manual_seed(0)
    net = make()
    assert (net.in_dim, net.out_dim) == (IN, OUT)
    y = net(_rand(*lead, IN))
    assert y.shape == (*lead, OUT)
    assert y.dtype == torch.float32 and not y.is_complex()  # WIRE too: the real part
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name,make", NETS, ids=NET_IDS)
def test_leading_dims_are_pointwise(name, make):
    torch.manual_seed(0)
    net = make()
    x = _rand(2, 3, IN)
    torch.testing.assert_close(net(x).reshape(6, OUT), net(x.reshape(6, IN)), rtol=1e-5, atol=1e-6)
    # and each point on its own
    torch.testing.assert_close(net(x[1, 2]), net(x)[1, 2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,make", NETS, ids=NET_IDS)
def test_gradients_reach_every_parameter_and_the_input(name, make):
    torch.manual_seed(0)
    net = make()
    x = _rand(64, IN, seed=1).requires_grad_(True)
    if isinstance(net, Bacon):  # the coarse heads only enter through outputs()
        loss = sum((o * torch.randn_like(o)).sum() for o in net.outputs(x))
    else:
        y = net(x)
        loss = (y * torch.randn_like(y)).sum()
    loss.backward()
    params = dict(net.named_parameters())
    assert params
    for pname, p in params.items():
        assert p.grad is not None, f"{pname} got no gradient"
        assert p.grad.abs().sum() > 0, f"{pname} got a zero gradient"
        assert p.grad.dtype == p.dtype
    assert (x.grad.abs().sum(-1) > 0).all()


def test_bacon_forward_trains_all_but_the_coarse_heads():
    torch.manual_seed(0)
    net = Bacon(IN, OUT, width=W, depth=D, max_frequency=4.0)
    net(_rand(32, IN)).square().sum().backward()
    for pname, p in net.named_parameters():
        if pname.startswith("outs."):
            assert p.grad is None, pname
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0, pname


def test_bacon_frequencies_are_a_fixed_buffer():
    torch.manual_seed(0)
    net = Bacon(IN, OUT, width=W, depth=D, max_frequency=4.0)
    names = dict(net.named_parameters())
    assert not any("freqs" in n for n in names)
    assert "freqs" in dict(net.named_buffers())
    assert "freqs" in net.state_dict()  # saved with checkpoints
    assert not net.freqs.requires_grad
    before, phases = net.freqs.clone(), net.phases.detach().clone()
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    for _ in range(3):
        loss = sum(o.square().mean() for o in net.outputs(_rand(32, IN)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert net.freqs.grad is None
    assert torch.equal(net.freqs, before)
    # The trained phases did move.
    assert net.phases.requires_grad and not torch.equal(net.phases, phases)


@pytest.mark.parametrize("name,make", NETS, ids=NET_IDS)
def test_deterministic_under_manual_seed(name, make, check_seed_determinism):
    check_seed_determinism(make, _rand(10, IN))


def test_bacon_seed_fixes_frequencies_and_phases_independently_of_the_global_seed():
    torch.manual_seed(1)
    a = Bacon(2, 1, width=32, depth=3, max_frequency=8.0, seed=7)
    torch.manual_seed(2)
    b = Bacon(2, 1, width=32, depth=3, max_frequency=8.0, seed=7)
    torch.manual_seed(1)
    c = Bacon(2, 1, width=32, depth=3, max_frequency=8.0, seed=8)
    assert torch.equal(a.freqs, b.freqs) and torch.equal(a.phases, b.phases)
    assert not torch.equal(a.freqs, c.freqs) and not torch.equal(a.phases, c.phases)
    # The linear layers follow the global seed.
    assert not torch.equal(a.linears[0].weight, b.linears[0].weight)
    assert torch.equal(a.linears[0].weight, c.linears[0].weight)


# --------------------------------------------------------------------------- initialisation statistics


def _check_uniform(w, bound, what, std_tol=0.05):
    w = w.detach().double()
    assert w.abs().max().item() <= bound * (1 + 1e-6), f"{what}: exceeds ±{bound}"
    assert w.abs().max().item() > 0.97 * bound, f"{what}: narrower than ±{bound}"
    uniform_std = bound / math.sqrt(3)
    assert abs(w.std().item() / uniform_std - 1) < std_tol, f"{what}: std {w.std().item()} vs {uniform_std}"
    assert abs(w.mean().item()) < 5 * uniform_std / math.sqrt(w.numel()), f"{what}: mean {w.mean().item()}"


@pytest.mark.parametrize("first_omega,hidden_omega,k", [(30.0, 30.0, 20.0), (10.0, 15.0, 5.0)])
def test_finer_initialisation(first_omega, hidden_omega, k):
    torch.manual_seed(0)
    in_dim, width = 4, 1024
    net = Finer(in_dim, 3, width=width, depth=3, first_omega=first_omega, hidden_omega=hidden_omega,
                first_bias_scale=k)
    # Weights as SIREN: U(±1/n) first (independent of ω0), U(±√(6/n)/ω_hidden) after, last linear too.
    _check_uniform(net.layers[0].weight, 1 / in_dim, "first layer")
    for i, layer in enumerate(net.layers[1:], 1):
        _check_uniform(layer.weight, math.sqrt(6 / width) / hidden_omega, f"hidden layer {i}")
    out_bound = math.sqrt(6 / width) / hidden_omega
    assert net.out.weight.abs().max() <= out_bound * (1 + 1e-6)
    assert net.out.weight.abs().max() > 0.9 * out_bound
    # First-layer bias: U(±k), spread over the whole interval.
    b = net.layers[0].bias.detach().double()
    assert b.abs().max() <= k
    assert b.max() > 0.9 * k and b.min() < -0.9 * k
    assert b.std().item() == pytest.approx(k / math.sqrt(3), rel=0.10)
    # Other biases keep PyTorch's default U(±1/√n).
    for lin in list(net.layers[1:]) + [net.out]:
        assert lin.bias.abs().max() <= 1 / math.sqrt(lin.in_features)


@pytest.mark.parametrize("depth,input_scale", [(4, 256.0), (2, 10.0)])
def test_fourier_net_initialisation(depth, input_scale):
    torch.manual_seed(0)
    in_dim, width = 2, 1024
    net = FourierNet(in_dim, 1, width=width, depth=depth, input_scale=input_scale)
    assert len(net.filters) == depth and len(net.linears) == depth - 1
    bound = input_scale / math.sqrt(depth) / math.sqrt(in_dim)  # PyTorch default 1/√n, scaled
    for i, f in enumerate(net.filters):
        _check_uniform(f.weight, bound, f"filter {i}")
        assert f.bias.abs().max() <= math.pi
        assert f.bias.max() > 0.95 * math.pi and f.bias.min() < -0.95 * math.pi
        assert f.bias.std().item() == pytest.approx(math.pi / math.sqrt(3), rel=0.1)
    for i, lin in enumerate(net.linears):
        _check_uniform(lin.weight, math.sqrt(1 / width), f"linear {i}")


@pytest.mark.parametrize("depth,alpha", [(4, 6.0), (3, 12.0)])
def test_gabor_net_initialisation(depth, alpha):
    torch.manual_seed(0)
    in_dim, width, input_scale = 2, 2048, 64.0
    net = GaborNet(in_dim, 1, width=width, depth=depth, input_scale=input_scale, alpha=alpha)
    mu = torch.cat([m.detach() for m in net.mu])
    assert mu.shape == (depth * width, in_dim)
    assert mu.abs().max() <= 1 and mu.max() > 0.98 and mu.min() < -0.98
    _check_uniform(mu, 1.0, "mu")
    gamma = torch.cat([g.detach() for g in net.gamma]).double()
    assert (gamma > 0).all()
    shape = alpha / depth  # Gamma(α/depth, β=1): mean α/depth, variance α/depth
    assert gamma.mean().item() == pytest.approx(shape, rel=0.08)
    assert gamma.var().item() == pytest.approx(shape, rel=0.2)
    # Filter weights: PyTorch's default U(±1/√n) times input_scale/√depth times √γ (per row).
    bound = input_scale / math.sqrt(depth) / math.sqrt(in_dim)
    for i, (f, g) in enumerate(zip(net.filters, net.gamma)):
        _check_uniform(f.weight / g.detach().sqrt()[:, None], bound, f"filter {i} / sqrt(gamma)", std_tol=0.08)
        assert f.bias.abs().max() <= math.pi and f.bias.max() > 0.95 * math.pi
    for i, lin in enumerate(net.linears):
        assert lin.weight.abs().max() <= math.sqrt(1 / width) * (1 + 1e-6)


@pytest.mark.parametrize("cls", [FourierNet, GaborNet, Bacon], ids=lambda c: c.__name__)
def test_mfn_hidden_linear_bound(cls):
    torch.manual_seed(0)
    width = 512
    net = cls(2, 1, width=width, depth=3)
    assert len(net.linears) == 2
    for i, lin in enumerate(net.linears):
        _check_uniform(lin.weight, math.sqrt(1 / width), f"linear {i}")


def test_wire_structure():
    torch.manual_seed(0)
    net = Wire(2, 3, width=256, depth=4)
    w = int(256 / math.sqrt(2))
    assert w == 181
    assert (net.first.in_features, net.first.out_features) == (2, w)
    assert net.first.weight.dtype == torch.float32 and net.first.bias.dtype == torch.float32
    assert len(net.layers) == 3
    for layer in net.layers:
        assert (layer.in_features, layer.out_features) == (w, w)
        assert layer.weight.dtype == torch.cfloat and layer.bias.dtype == torch.cfloat
        assert layer.weight.imag.abs().sum() > 0  # genuinely complex
    assert (net.out.in_features, net.out.out_features) == (w, 3)
    assert net.out.weight.dtype == torch.cfloat
    assert (net.omega, net.sigma) == (20.0, 30.0)  # defaults: the paper's image setting
    # Real-number parameter count is that of a real network of width ~256 (complex counts twice).
    n_real = sum(p.numel() * (2 if p.is_complex() else 1) for p in net.parameters())
    expected = (2 + 1) * w + 3 * 2 * (w + 1) * w + 2 * (w + 1) * 3
    assert n_real == expected


def test_gauss_uses_pytorch_default_init():
    torch.manual_seed(0)
    width = 512
    net = Gauss(2, 1, width=width, depth=2)
    _check_uniform(net.layers[0].weight, 1 / math.sqrt(2), "first")
    _check_uniform(net.layers[1].weight, 1 / math.sqrt(width), "hidden")
    assert net.scale == 10.0


# --------------------------------------------------------------------------- math against hand computation


def test_gauss_forward_equals_hand_composition():
    torch.manual_seed(1)
    s = 3.0
    net = Gauss(2, 3, width=8, depth=3, scale=s).double()
    x = _rand(7, 2, dtype=torch.float64)
    h = x
    for layer in net.layers:
        z = h @ layer.weight.T + layer.bias
        h = torch.exp(-(s ** 2) * z * z)
    expected = h @ net.out.weight.T + net.out.bias  # linear last layer
    torch.testing.assert_close(net(x), expected, rtol=1e-12, atol=1e-12)


def test_finer_forward_equals_hand_composition():
    torch.manual_seed(2)
    net = Finer(2, 3, width=8, depth=3, first_omega=20.0, hidden_omega=7.0, first_bias_scale=3.0).double()
    x = _rand(7, 2, dtype=torch.float64)
    h = x
    for omega, layer in zip([20.0, 7.0, 7.0], net.layers):
        z = h @ layer.weight.T + layer.bias
        h = torch.sin(omega * (z.abs() + 1) * z)
    expected = h @ net.out.weight.T + net.out.bias
    torch.testing.assert_close(net(x), expected, rtol=1e-12, atol=1e-12)


def test_finer_gradient_treats_the_scale_as_a_constant():
    torch.manual_seed(3)
    omega = 5.0
    net = Finer(2, 1, width=6, depth=1, first_omega=omega, first_bias_scale=1.0).double()
    x = _rand(9, 2, dtype=torch.float64)
    net(x).sum().backward()
    W, b = net.layers[0].weight.detach(), net.layers[0].bias.detach()
    z = x @ W.T + b  # (9, 6)
    upstream = net.out.weight.detach()[0]  # d(sum out)/dh: (6,)
    # |z| + 1 held constant: dh/dz = ω(|z|+1) cos(ω(|z|+1) z)
    dz = upstream * omega * (z.abs() + 1) * torch.cos(omega * (z.abs() + 1) * z)  # (9, 6)
    torch.testing.assert_close(net.layers[0].weight.grad, dz.T @ x, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(net.layers[0].bias.grad, dz.sum(0), rtol=1e-10, atol=1e-10)
    # Not the true derivative of sin(ω(|z|+1)z), which is ω(2|z|+1) cos(...).
    true_dz = upstream * omega * (2 * z.abs() + 1) * torch.cos(omega * (z.abs() + 1) * z)
    assert not torch.allclose(net.layers[0].weight.grad, true_dz.T @ x, rtol=1e-3)


def test_finer_deep_gradients_match_a_detached_hand_model():
    torch.manual_seed(4)
    net = Finer(2, 2, width=8, depth=3, first_omega=10.0, hidden_omega=6.0, first_bias_scale=2.0).double()
    x = _rand(11, 2, dtype=torch.float64)
    g = torch.randn(11, 2, dtype=torch.float64)
    (net(x) * g).sum().backward()
    params = [p.detach().clone().requires_grad_(True) for p in net.parameters()]
    h = x
    ws = params[:-2]
    for i, omega in enumerate([10.0, 6.0, 6.0]):
        z = h @ ws[2 * i].T + ws[2 * i + 1]
        h = torch.sin(omega * (z.abs().detach() + 1) * z)
    ((h @ params[-2].T + params[-1]) * g).sum().backward()
    for (name, p), q in zip(net.named_parameters(), params):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-10, msg=name)


def test_wire_forward_equals_hand_complex_computation():
    torch.manual_seed(5)
    omega, sigma = 4.0, 1.5
    net = Wire(2, 3, width=12, depth=3, omega=omega, sigma=sigma)
    x = _rand(7, 2).double()

    def gabor(z):  # exp(jωz − |sz|²) written out in real and imaginary parts
        a, c = z.real, z.imag
        mag = torch.exp(-omega * c - sigma ** 2 * (a * a + c * c))
        return torch.complex(mag * torch.cos(omega * a), mag * torch.sin(omega * a))

    c128 = lambda t: t.detach().to(torch.complex128)  # noqa: E731
    z = torch.complex(x @ net.first.weight.detach().double().T + net.first.bias.detach().double(),
                      torch.zeros(7, net.first.out_features, dtype=torch.float64))
    h = gabor(z)
    for layer in net.layers:
        h = gabor(h @ c128(layer.weight).T + c128(layer.bias))  # no conjugation
    expected = (h @ c128(net.out.weight).T + c128(net.out.bias)).real
    assert expected.abs().max() > 1e-3  # a non-trivial output
    torch.testing.assert_close(net(x.float()).double(), expected, rtol=1e-4, atol=1e-5)


def _fourier_filters(net, x):
    return [torch.sin(x @ f.weight.T + f.bias) for f in net.filters]


def _gabor_filters(net, x):
    out = []
    for f, mu, gamma in zip(net.filters, net.mu, net.gamma):
        d2 = (x[:, None, :] - mu[None]).square().sum(-1)  # (N, width) by broadcasting
        out.append(torch.exp(-0.5 * gamma * d2) * torch.sin(x @ f.weight.T + f.bias))
    return out


def _bacon_filters(net, x):
    return [torch.sin(2 * math.pi * (x[:, None, :] * f[None]).sum(-1) + p) for f, p in zip(net.freqs, net.phases)]


def _mfn_hand(net, gs):
    z = gs[0]
    zs = [z]
    for lin, g in zip(net.linears, gs[1:]):
        z = g * (z @ lin.weight.T + lin.bias)
        zs.append(z)
    return zs


@pytest.mark.parametrize(
    "make,filters",
    [
        (lambda: FourierNet(2, 3, width=8, depth=3, input_scale=5.0), _fourier_filters),
        (lambda: GaborNet(2, 3, width=8, depth=3, input_scale=5.0, alpha=6.0), _gabor_filters),
        (lambda: Bacon(2, 3, width=8, depth=3, max_frequency=4.0, seed=3), _bacon_filters),
    ],
    ids=["fourier-net", "gabor-net", "bacon"],
)
def test_mfn_forward_equals_multiplicative_recursion(make, filters):
    torch.manual_seed(6)
    net = make().double()
    x = _rand(9, 2, dtype=torch.float64)
    with torch.no_grad():
        zs = _mfn_hand(net, filters(net, x))
        expected = zs[-1] @ net.out.weight.T + net.out.bias
        torch.testing.assert_close(net(x), expected, rtol=1e-10, atol=1e-10)
        assert len(zs) == 3 and expected.abs().max() > 1e-3
        if isinstance(net, Bacon):
            outs = net.outputs(x)
            assert len(outs) == 3
            for i, o in enumerate(outs[:-1]):
                torch.testing.assert_close(o, zs[i] @ net.outs[i].weight.T + net.outs[i].bias, rtol=1e-10, atol=1e-10)
            torch.testing.assert_close(outs[-1], expected, rtol=1e-10, atol=1e-10)


def test_gabor_filter_envelope_is_centred_on_mu():
    torch.manual_seed(7)
    net = GaborNet(2, 1, width=4, depth=1, input_scale=1.0).double()
    with torch.no_grad():
        net.gamma[0].copy_(torch.tensor([1.0, 2.0, 4.0, 8.0]))
        x = net.mu[0].clone()  # evaluate unit j at its own centre: the envelope is 1
        g = net.filter(0, x)  # (4, 4)
        sines = torch.sin(x @ net.filters[0].weight.T + net.filters[0].bias)
        torch.testing.assert_close(g.diagonal(), sines.diagonal(), rtol=1e-10, atol=1e-10)
        # A point at distance r from μ_j is damped by exp(-γ_j r² / 2).
        shift = torch.tensor([0.3, -0.4], dtype=torch.float64)  # r = 0.5
        g2 = net.filter(0, x + shift)
        s2 = torch.sin((x + shift) @ net.filters[0].weight.T + net.filters[0].bias)
        torch.testing.assert_close(g2.diagonal(), s2.diagonal() * torch.exp(-0.5 * net.gamma[0] * 0.25))


# --------------------------------------------------------------------------- BACON band limits


@pytest.mark.parametrize("depth,max_frequency", [(4, 16.0), (3, 5.0), (1, 3.0)])
def test_bacon_filter_frequencies_on_the_lattice_within_bandwidth(depth, max_frequency):
    torch.manual_seed(0)
    net = Bacon(2, 1, width=512, depth=depth, max_frequency=max_frequency, seed=1)
    assert net.freqs.shape == (depth, 512, 2)
    cumulative = [max_frequency / 2 ** (depth - 1 - i) for i in range(depth)]
    assert cumulative[-1] == max_frequency
    assert len(net.bandwidths) == depth
    for i in range(depth):
        assert sum(net.bandwidths[: i + 1]) == pytest.approx(cumulative[i])
        f = net.freqs[i]
        assert torch.equal(f * 2, (f * 2).round()), f"layer {i}: off the k/2 lattice"
        assert f.abs().max() <= net.bandwidths[i] + 1e-9
        # Spread over the whole allowed lattice: the extreme lattice points are drawn, and both signs.
        top = math.floor(2 * net.bandwidths[i]) / 2
        assert f.max() == top and f.min() == -top, f"layer {i}"
        # Uniform over the lattice: mean ~0.
        if top > 0:
            assert abs(f.mean().item()) < 0.1 * top


def _energy_within(y, k_max):
    """Fraction of the energy of ``y`` (periodic samples along the last axis) at FFT index <= k_max."""
    p = torch.fft.rfft(y, dim=-1).abs().square()
    p[..., 1:] *= 2  # one-sided spectrum (N even: the Nyquist bin is counted twice; negligible here)
    return (p[..., : k_max + 1].sum() / p.sum()).item()


def test_bacon_outputs_are_band_limited_1d():
    torch.manual_seed(0)
    depth, max_frequency, n = 4, 16.0, 4096
    net = Bacon(1, 1, width=64, depth=depth, max_frequency=max_frequency, seed=2).double()
    x = (-1 + 2 * torch.arange(n, dtype=torch.float64) / n)[:, None]  # one period [-1, 1) of length 2
    with torch.no_grad():
        outs = net.outputs(x)
        assert len(outs) == depth
        torch.testing.assert_close(outs[-1], net(x), rtol=0, atol=0)
    cumulative = [max_frequency / 2 ** (depth - 1 - i) for i in range(depth)]  # 2, 4, 8, 16 cycles/unit
    for i, o in enumerate(outs):
        y = o[:, 0]
        y = y - y.mean()
        k_max = int(2 * cumulative[i])  # FFT index k over a period of length 2 is k/2 cycles per unit
        assert _energy_within(y, k_max) > 0.999, f"output {i} leaks beyond {cumulative[i]} cycles/unit"
        # and the band is used: >= 1% of the energy lies above the previous scale's limit (measured
        # 5-37% over seeds 0-3; a Bacon drawing every layer within the cumulative band leaks 9-20%).
        if i > 0:
            assert _energy_within(y, int(2 * cumulative[i - 1])) < 0.99, f"output {i} does not use its band"


def test_bacon_outputs_are_band_limited_per_axis_2d():
    torch.manual_seed(0)
    depth, max_frequency, n = 3, 8.0, 96
    net = Bacon(2, 1, width=64, depth=depth, max_frequency=max_frequency, seed=3).double()
    t = -1 + 2 * torch.arange(n, dtype=torch.float64) / n
    x = torch.stack(torch.meshgrid(t, t, indexing="ij"), -1)  # (n, n, 2)
    with torch.no_grad():
        outs = net.outputs(x)
    kx = torch.fft.fftfreq(n, 1 / n).abs()
    for i, o in enumerate(outs):
        p = torch.fft.fft2(o[..., 0] - o.mean()).abs().square()
        k_max = 2 * max_frequency / 2 ** (depth - 1 - i)
        inside = (kx[:, None] <= k_max) & (kx[None, :] <= k_max)
        assert (p[inside].sum() / p.sum()).item() > 0.999, f"output {i}"


def test_bacon_multiscale_flag():
    assert Bacon.multiscale_loss is True
    for cls in (Gauss, Wire, Finer, FourierNet, GaborNet):
        assert not getattr(cls, "multiscale_loss", False)


# --------------------------------------------------------------------------- configs and presets


@pytest.mark.parametrize(
    "kind,cls",
    [("gauss", Gauss), ("wire", Wire), ("finer", Finer), ("fourier-net", FourierNet), ("gabor-net", GaborNet),
     ("bacon", Bacon)],
)
def test_network_config_builds_each_kind(kind, cls):
    torch.manual_seed(0)
    kw = dict(max_frequency=4.0) if kind == "bacon" else {}
    net = NETWORKS[kind](width=16, depth=2, **kw).build(3, 2)
    assert type(net) is cls
    assert (net.in_dim, net.out_dim) == (3, 2)
    assert net(_rand(5, 3)).shape == (5, 2)


def test_network_config_passes_the_family_arguments():
    torch.manual_seed(0)
    g = GaussConfig(width=8, depth=2, scale=3.5).build(2, 1)
    assert g.scale == 3.5 and len(g.layers) == 2
    w = WireConfig(width=16, depth=3, omega=7.0, sigma=9.0).build(2, 1)
    assert (w.omega, w.sigma) == (7.0, 9.0) and len(w.layers) == 2 and w.first.out_features == 11
    f = FinerConfig(width=64, depth=2, first_omega=11.0, hidden_omega=13.0, first_bias_scale=0.5).build(2, 1)
    assert f.omegas == [11.0, 13.0]
    assert f.layers[0].bias.abs().max() <= 0.5 and f.layers[0].bias.abs().max() > 0.4
    fn = FourierNetConfig(width=256, depth=4, input_scale=4.0).build(2, 1)
    assert fn.filters[0].weight.abs().max() <= 4.0 / 2 / math.sqrt(2) * (1 + 1e-6)
    assert fn.filters[0].weight.abs().max() > 0.9 * 4.0 / 2 / math.sqrt(2)
    gn = GaborNetConfig(width=1024, depth=2, alpha=10.0).build(2, 1)
    assert torch.cat(list(gn.gamma)).mean().item() == pytest.approx(5.0, rel=0.1)
    b = BaconConfig(width=8, depth=3, max_frequency=12.0, seed=4).build(2, 1)
    assert b.max_frequency == 12.0 and torch.equal(b.freqs, Bacon(2, 1, 8, 3, 12.0, seed=4).freqs)
    b5 = BaconConfig(width=8, depth=3, max_frequency=12.0, seed=5).build(2, 1)
    assert not torch.equal(b.freqs, b5.freqs)


@pytest.mark.parametrize("mf", [0.0, -1.0])
def test_bacon_config_without_max_frequency_raises(mf):
    with pytest.raises(ValueError):
        BaconConfig(width=8, depth=2, max_frequency=mf).build(2, 1)
    with pytest.raises(ValueError):
        Bacon(2, 1, width=8, depth=2, max_frequency=mf)


def test_make_field_gives_bacon_the_signal_nyquist():
    sig = inrkit.load_image("sample:camera", size=(32, 32))
    p = inrkit.get_preset("bacon")
    assert p.field.network.max_frequency == 0.0
    field = inrkit.make_field(p.field, sig)
    net = field.network
    assert isinstance(net, Bacon)
    assert net.max_frequency == 32 / 4
    assert sum(net.bandwidths) == pytest.approx(8.0)
    assert [sum(net.bandwidths[: i + 1]) for i in range(4)] == pytest.approx([1.0, 2.0, 4.0, 8.0])
    assert p.field.network.max_frequency == 0.0  # the preset is not modified
    # An explicit max_frequency is kept.
    p.field.network.max_frequency = 3.0
    assert inrkit.make_field(p.field, sig).network.max_frequency == 3.0


ZOO_PRESETS = {
    "gauss": Gauss,
    "wire": Wire,
    "finer": Finer,
    "fourier-net": FourierNet,
    "gabor-net": GaborNet,
    "bacon": Bacon,
}


@pytest.mark.parametrize("name", sorted(ZOO_PRESETS))
def test_presets_build_their_network(name):
    p = inrkit.get_preset(name)
    assert p.field.network.kind == name
    assert p.field.encoding.kind == "identity"
    sig = inrkit.load_image("sample:camera", size=(32, 32))
    field = inrkit.make_field(p.field, sig)
    assert type(field.network) is ZOO_PRESETS[name]
    assert (field.in_dim, field.out_dim) == (2, 1)


# --------------------------------------------------------------------------- fit smoke tests

# PSNR (dB) after 60 full-batch steps on sample:camera at 32x32 with each preset's optimiser,
# CPU, seed 0; every preset starts at 5-6 dB. Measured at seed 0 (and seeds 1-3):
# gauss 51.4 (51.0-52.3), wire 42.0 (50.7-51.4), finer 50.8 (49.6-52.3),
# fourier-net 41.0 (39.4-42.3), gabor-net 41.0 (41.0-42.8), bacon 41.3 (39.8-40.8).
# Thresholds leave about 5 dB of margin below the seed-0 value.
FIT_THRESHOLDS = {
    "gauss": 46.0,
    "wire": 37.0,
    "finer": 45.0,
    "fourier-net": 36.0,
    "gabor-net": 36.0,
    "bacon": 36.0,
}


@pytest.mark.parametrize("name", sorted(FIT_THRESHOLDS))
def test_preset_fit_smoke(name, fast):
    sig = inrkit.load_image("sample:camera", size=(32, 32))
    p = inrkit.get_preset(name)
    field = inrkit.make_field(p.field, sig)
    initial = sig.evaluate(sig.predict(field), full=False)["psnr"]
    before = {k: v.detach().clone() for k, v in field.state_dict().items()}
    r = inrkit.fit(field, sig, fast(steps=60, eval_every=60), p.optim)
    final = r.metrics["psnr"]
    assert math.isfinite(final)
    assert initial < 10, f"{name}: initial {initial:.2f} dB"  # a blank start (measured 5-6 dB)
    assert final > initial + 20, f"{name}: {initial:.2f} -> {final:.2f} dB"
    assert final >= FIT_THRESHOLDS[name]
    if name == "bacon":
        # The multiscale loss trains the coarse heads, and finer outputs fit better.
        after = field.state_dict()
        assert all(not torch.equal(before[k], after[k]) for k in before if k.startswith("network.outs."))
        assert torch.equal(before["network.freqs"], after["network.freqs"])
        coords, values = sig.train_data()
        with torch.no_grad():
            mses = [torch.nn.functional.mse_loss(o, values).item() for o in field.network.outputs(coords)]
        # measured 1.4e-2, 5.9e-3, 1.9e-3, 7.5e-5
        assert all(a > b for a, b in zip(mses, mses[1:])), mses
