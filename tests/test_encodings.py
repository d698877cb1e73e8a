"""Tests of the coordinate encodings in :mod:`inrkit.encodings`.

Every encoding is checked for its documented ``out_dim``, for gradients, for
determinism under a seed, and against an independent oracle: a hand-computed
value, a closed form, or a Monte-Carlo estimate.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.func import functional_call

from inrkit.encodings import (
    ENCODING_KINDS,
    ENCODINGS,
    BasicConfig,
    BasicFourier,
    Encoding,
    EncodingConfig,
    FFNPositionalConfig,
    GaussianFourierConfig,
    HashGridConfig,
    IdentityConfig,
    PositionalConfig,
    SHConfig,
    TensorVM,
    VMConfig,
    FFNPositional,
    GaussianFourier,
    HashGrid,
    HashGridCache,
    Identity,
    NeRFPositional,
    SphericalHarmonics,
)

# Instant-NGP's primes, restated here so the tests do not depend on the module's copy.
PRIMES = (1, 2654435761, 805459861, 3674653429)


def _rand(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=dtype) * 2 - 1


def _unit_dirs(n, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    d = torch.randn(n, 3, generator=g, dtype=dtype)
    return d / d.norm(dim=-1, keepdim=True)


# --------------------------------------------------------------------------- out_dim

# (name, constructor, in_dim, out_dim from the documented formula)
CASES = [
    ("identity-2", lambda: Identity(2), 2, 2),
    ("identity-3", lambda: Identity(3), 3, 3),
    ("basic-2", lambda: BasicFourier(2), 2, 2 * 2),
    ("basic-3", lambda: BasicFourier(3), 3, 2 * 3),
    ("nerf-3-L10", lambda: NeRFPositional(3, 10), 3, 3 * (2 * 10 + 1)),  # 63, as in NeRF
    ("nerf-2-L4-noinput", lambda: NeRFPositional(2, 4, include_input=False), 2, 2 * (2 * 4)),
    ("ffn-2-m256", lambda: FFNPositional(2, 256, 6.0), 2, 2 * 2 * (256 // 2)),  # 512, the paper's
    ("ffn-3-m7", lambda: FFNPositional(3, 7, 4.0), 3, 2 * 3 * (7 // 2)),  # odd m rounds down
    ("gauss-2-m64", lambda: GaussianFourier(2, 64, 10.0), 2, 2 * 64),
    ("gauss-3-m33", lambda: GaussianFourier(3, 33, 1.0), 3, 2 * 33),
    ("hash-2", lambda: HashGrid(2, 4, 2, 10, 4, 32), 2, 4 * 2),
    ("hash-3", lambda: HashGrid(3, 3, 4, 10, 2, 8), 3, 3 * 4),
    ("hash-1", lambda: HashGrid(1, 5, 1, 6, 2, 64), 1, 5 * 1),
    ("sh-1", lambda: SphericalHarmonics(3, 1), 3, 1),
    ("sh-2", lambda: SphericalHarmonics(3, 2), 3, 4),
    ("sh-3", lambda: SphericalHarmonics(3, 3), 3, 9),
    ("sh-4", lambda: SphericalHarmonics(3, 4), 3, 16),
]
CASE_IDS = [c[0] for c in CASES]


def _inputs_for(enc, lead, seed=0, dtype=torch.float32):
    x = _rand(*lead, enc.in_dim, seed=seed, dtype=dtype)
    if isinstance(enc, SphericalHarmonics):
        x = x / x.norm(dim=-1, keepdim=True)
    return x


@pytest.mark.parametrize("name,make,in_dim,out_dim", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("lead", [(5,), (2, 3), (1,), ()], ids=str)
def test_output_shape_matches_documented_out_dim(name, make, in_dim, out_dim, lead):
    enc = make()
    assert isinstance(enc, Encoding)
    assert enc.in_dim == in_dim
    assert enc.out_dim == out_dim
    y = enc(_inputs_for(enc, lead))
    assert y.shape == (*lead, out_dim)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name,make,in_dim,out_dim", CASES, ids=CASE_IDS)
def test_leading_batch_dims_are_pointwise(name, make, in_dim, out_dim):
    """Encoding a (2, 3, d) batch equals encoding its 6 rows one by one."""
    enc = make().double()  # float64: large Fourier phases would blur float32 rounding
    x = _inputs_for(enc, (2, 3), seed=1, dtype=torch.float64)
    y = enc(x)
    rows = torch.stack([enc(r[None])[0] for r in x.reshape(6, in_dim)])
    torch.testing.assert_close(y.reshape(6, out_dim), rows, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,make,in_dim,out_dim", CASES, ids=CASE_IDS)
def test_prepare_then_encode_prepared_equals_forward(name, make, in_dim, out_dim):
    enc = make()
    x = _inputs_for(enc, (37,), seed=2)
    y = enc.encode_prepared(enc.prepare(x))
    assert y.shape == (37, out_dim)
    torch.testing.assert_close(y, enc(x), rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------- EncodingConfig


@pytest.mark.parametrize(
    "kind,cls,in_dim,out_dim",
    [
        ("identity", Identity, 2, 2),
        ("basic", BasicFourier, 3, 6),
        ("positional", NeRFPositional, 3, 3 * (2 * 5 + 0)),
        ("ffn-positional", FFNPositional, 2, 2 * 2 * (12 // 2)),
        ("gaussian", GaussianFourier, 2, 2 * 12),
        ("hashgrid", HashGrid, 2, 3 * 4),
        ("sh", SphericalHarmonics, 3, 3**2),
    ],
)
def test_config_build_each_kind(kind, cls, in_dim, out_dim):
    cfg = {
        "identity": IdentityConfig(),
        "basic": BasicConfig(),
        "positional": PositionalConfig(n_frequencies=5, include_input=False),
        "ffn-positional": FFNPositionalConfig(m=12, scale=3.0),
        "gaussian": GaussianFourierConfig(m=12, sigma=2.5, seed=7),
        "hashgrid": HashGridConfig(n_levels=3, n_features=4, log2_hashmap_size=8, base_resolution=4,
                                   finest_resolution=16, seed=7),
        "sh": SHConfig(degree=3),
    }[kind]
    assert cfg.kind == kind and ENCODINGS[kind] is type(cfg)
    assert EncodingConfig.from_dict(cfg.to_dict()) == cfg
    enc = cfg.build(in_dim)
    assert type(enc) is cls
    assert (enc.in_dim, enc.out_dim) == (in_dim, out_dim)
    y = enc(_inputs_for(enc, (4,)))
    assert y.shape == (4, out_dim)
    # The arguments are passed through: the built encoding equals a direct construction.
    direct = {
        "identity": lambda: Identity(in_dim),
        "basic": lambda: BasicFourier(in_dim),
        "positional": lambda: NeRFPositional(in_dim, 5, False),
        "ffn-positional": lambda: FFNPositional(in_dim, 12, 3.0),
        "gaussian": lambda: GaussianFourier(in_dim, 12, 2.5, seed=7),
        "hashgrid": lambda: HashGrid(in_dim, 3, 4, 8, 4, 16, seed=7),
        "sh": lambda: SphericalHarmonics(in_dim, 3),
    }[kind]()
    x = _inputs_for(enc, (9,), seed=3)
    torch.testing.assert_close(enc(x), direct(x), rtol=0, atol=0)
    if kind == "hashgrid":
        assert enc.resolutions == [4, 8, 16]


def test_config_kinds_list_is_complete():
    assert ENCODING_KINDS == ("identity", "basic", "positional", "ffn-positional", "gaussian", "hashgrid", "sh", "vm")
    assert tuple(ENCODINGS) == ENCODING_KINDS
    for kind, cls in ENCODINGS.items():
        cfg = cls(finest_resolution=32) if kind == "hashgrid" else cls()
        assert isinstance(cfg, EncodingConfig) and cfg.kind == kind
        assert isinstance(cfg.build(3), Encoding)


def test_config_vm_builds_tensorvm():
    enc = VMConfig(n_components=3, resolution=5, seed=2).build(3)
    assert type(enc) is TensorVM and (enc.n_components, enc.resolution, enc.out_dim) == (3, 5, 9)
    torch.testing.assert_close(enc.planes, TensorVM(3, 3, 5, seed=2).planes, rtol=0, atol=0)


def test_config_to_dict_holds_only_the_kinds_own_keys():
    assert IdentityConfig().to_dict() == {"kind": "identity"}
    assert GaussianFourierConfig(m=8).to_dict() == {"kind": "gaussian", "m": 8, "sigma": 10.0, "seed": 0}
    assert VMConfig().to_dict() == {"kind": "vm", "n_components": 16, "resolution": 128, "seed": 0}
    assert HashGridConfig.from_dict({"kind": "hashgrid", "n_levels": 3}) == HashGridConfig(n_levels=3)


def test_config_unknown_kind_raises():
    with pytest.raises(ValueError, match="unknown encoding kind 'wavelet'"):
        EncodingConfig.from_dict({"kind": "wavelet"})


def test_config_key_of_another_kind_raises_naming_the_keys():
    with pytest.raises(ValueError, match="'sigma'.*n_levels"):
        EncodingConfig.from_dict({"kind": "hashgrid", "sigma": 3.0})
    with pytest.raises(TypeError):
        HashGridConfig(sigma=3.0)


def test_config_base_cannot_be_built_directly():
    with pytest.raises(TypeError, match="HashGridConfig"):
        EncodingConfig("hashgrid", n_levels=4)


def test_config_hashgrid_needs_finest_resolution():
    with pytest.raises(ValueError):
        HashGridConfig(finest_resolution=0).build(2)


# --------------------------------------------------------------------------- gradients

DIFFERENTIABLE = [
    ("identity", lambda: Identity(3)),
    ("basic", lambda: BasicFourier(2)),
    ("nerf", lambda: NeRFPositional(2, 4)),
    ("nerf-noinput", lambda: NeRFPositional(3, 3, include_input=False)),
    ("ffn", lambda: FFNPositional(2, 8, 3.0)),
    ("gauss", lambda: GaussianFourier(3, 8, 2.0)),
    ("hash-2d", lambda: HashGrid(2, 3, 2, 6, 2, 16)),  # has dense and hashed levels
    ("hash-3d", lambda: HashGrid(3, 2, 2, 6, 2, 8)),
    ("sh", lambda: SphericalHarmonics(3, 4)),
]


@pytest.mark.parametrize("name,make", DIFFERENTIABLE, ids=[d[0] for d in DIFFERENTIABLE])
def test_input_gradient_matches_finite_differences(name, make):
    enc = make().double()
    if isinstance(enc, HashGrid):
        with torch.no_grad():  # a table large enough for the features to vary visibly
            enc.table.uniform_(-1, 1)
    x = _inputs_for(enc, (6,), seed=4, dtype=torch.float64) * 0.9
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(enc, (x,), eps=1e-6, atol=1e-5)
    # And the gradient really reaches the input (gradcheck also passes for a constant map).
    # (A random projection: the sum of squares of Fourier features is constant.)
    y = enc(x)
    proj = torch.randn(y.shape, generator=torch.Generator().manual_seed(0), dtype=y.dtype)
    (y * proj).sum().backward()
    assert x.grad is not None and (x.grad.abs().sum(-1) > 0).all()


def test_fourier_matrices_are_buffers_not_parameters():
    """B is fixed: saved in the state dict, never trained."""
    for enc in (BasicFourier(2), FFNPositional(2, 8), GaussianFourier(2, 8)):
        assert list(enc.parameters()) == []
        assert "B" in enc.state_dict()
        assert not enc.B.requires_grad


def test_hashgrid_table_gradient_reaches_every_level():
    enc = HashGrid(2, n_levels=4, n_features=2, log2_hashmap_size=8, base_resolution=4, finest_resolution=32)
    assert [p is enc.table for p in enc.parameters()] == [True]
    x = _rand(256, 2, seed=5)
    g = torch.randn(256, enc.out_dim, generator=torch.Generator().manual_seed(0))
    (enc(x) * g).sum().backward()
    grad = enc.table.grad
    assert grad is not None and grad.shape == enc.table.shape
    offsets = enc._offsets.tolist() + [enc.table.shape[0]]
    for level in range(enc.n_levels):
        assert grad[offsets[level] : offsets[level + 1]].abs().sum() > 0, f"level {level} got no gradient"


def test_hashgrid_table_gradient_equals_interpolation_weights():
    """d(sum g * y)/d table[row] = sum of the corner weights that hit row, times g."""
    enc = HashGrid(2, n_levels=3, n_features=2, log2_hashmap_size=6, base_resolution=2, finest_resolution=16)
    x = torch.tensor([[0.137, -0.62]])
    g = torch.tensor([[1.0, -2.0, 0.5, 3.0, -1.5, 0.25]])
    (enc(x) * g).sum().backward()
    expected = torch.zeros_like(enc.table)
    idx, w = enc.corner_indices(x)
    for level in range(enc.n_levels):
        for k in range(idx.shape[-1]):
            expected[idx[0, level, k]] += w[0, level, k] * g[0, 2 * level : 2 * level + 2]
    torch.testing.assert_close(enc.table.grad, expected, rtol=1e-6, atol=1e-9)
    # Only the 3 levels x 4 corners touched rows are non-zero.
    assert (enc.table.grad.abs().sum(-1) > 0).sum() <= 12


def test_hashgrid_fused_path_equals_plain_autograd():
    """Without gradients in x the fused gather (embedding_bag, bincount backward) is used; it must
    give the plain indexing path's features and table gradient."""
    enc = HashGrid(3, n_levels=6, n_features=2, log2_hashmap_size=10, base_resolution=2, finest_resolution=64)
    assert enc._n_dense and enc._n_dense < enc.n_levels
    x = _rand(500, 3, seed=11)
    g = torch.randn(500, enc.out_dim, generator=torch.Generator().manual_seed(1))
    fused = enc(x)
    (fused * g).sum().backward()
    grad_fused = enc.table.grad.clone()
    enc.table.grad = None
    xr = x.clone().requires_grad_(True)  # takes the plain path
    plain = enc(xr)
    (plain * g).sum().backward()
    torch.testing.assert_close(fused, plain, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(grad_fused, enc.table.grad, rtol=1e-5, atol=1e-7)
    assert xr.grad is not None and xr.grad.abs().sum() > 0


def test_hashgrid_gradcheck_wrt_table():
    enc = HashGrid(2, n_levels=2, n_features=2, log2_hashmap_size=5, base_resolution=3, finest_resolution=8).double()
    x = _rand(5, 2, seed=6, dtype=torch.float64)
    table = enc.table.detach().clone().uniform_(-1, 1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: functional_call(enc, {"table": t}, (x,)), (table,))


# --------------------------------------------------------------------------- determinism


def test_gaussian_fourier_is_deterministic_under_its_seed():
    torch.manual_seed(1)
    a = GaussianFourier(2, 64, 10.0, seed=3)
    torch.manual_seed(2)  # the global RNG must not matter
    b = GaussianFourier(2, 64, 10.0, seed=3)
    c = GaussianFourier(2, 64, 10.0, seed=4)
    assert torch.equal(a.B, b.B)
    assert not torch.allclose(a.B, c.B)
    x = _rand(10, 2)
    assert torch.equal(a(x), b(x))


def test_hashgrid_is_deterministic_under_its_seed():
    torch.manual_seed(1)
    a = HashGrid(3, 4, 2, 10, 4, 32, seed=11)
    torch.manual_seed(2)
    b = HashGrid(3, 4, 2, 10, 4, 32, seed=11)
    c = HashGrid(3, 4, 2, 10, 4, 32, seed=12)
    assert torch.equal(a.table, b.table)
    assert not torch.allclose(a.table, c.table)
    x = _rand(10, 3)
    assert torch.equal(a(x), b(x))


@pytest.mark.parametrize("make", [lambda: BasicFourier(3), lambda: NeRFPositional(3, 6), lambda: FFNPositional(3, 10)])
def test_fixed_encodings_are_identical_across_instances(make):
    torch.manual_seed(0)
    a = make()
    torch.manual_seed(1)
    b = make()
    x = _rand(8, 3)
    assert torch.equal(a(x), b(x))


# --------------------------------------------------------------------------- Identity / Fourier features


def test_identity_returns_input():
    x = _rand(4, 3)
    assert torch.equal(Identity(3)(x), x)


def test_basic_fourier_hand_computed():
    # x = (0, -0.5) -> v = (0.5, 0.25) -> 2πv = (π, π/2)
    y = BasicFourier(2)(torch.tensor([[0.0, -0.5]]))
    torch.testing.assert_close(y, torch.tensor([[-1.0, 0.0, 0.0, 1.0]]), rtol=0, atol=1e-6)
    # x = -1 is the start of the signal (v = 0): cos = 1, sin = 0.
    y = BasicFourier(1)(torch.tensor([[-1.0]]))
    torch.testing.assert_close(y, torch.tensor([[1.0, 0.0]]), rtol=0, atol=1e-7)


def test_basic_fourier_is_one_cycle_across_the_signal():
    """The basic mapping is periodic with period 2 in x (one cycle over [-1, 1])."""
    x = _rand(20, 2) * 0.5
    enc = BasicFourier(2)
    torch.testing.assert_close(enc(x), enc(x + 2.0), rtol=0, atol=1e-5)
    assert not torch.allclose(enc(x), enc(x + 1.0), atol=1e-2)


def test_nerf_positional_hand_computed_1d():
    s2 = math.sqrt(2) / 2
    # x = 0.25, L = 3: [x, sin(π/4), sin(π/2), sin(π), cos(π/4), cos(π/2), cos(π)]
    y = NeRFPositional(1, 3)(torch.tensor([[0.25]]))
    expected = torch.tensor([[0.25, s2, 1.0, 0.0, s2, 0.0, -1.0]])
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-6)
    y = NeRFPositional(1, 3, include_input=False)(torch.tensor([[0.25]]))
    torch.testing.assert_close(y, expected[:, 1:], rtol=0, atol=1e-6)


def test_nerf_positional_hand_computed_2d_layout():
    # x = (0.25, -0.5), L = 2: [x, y, sin(πx), sin(2πx), sin(πy), sin(2πy), cos(...) same order]
    y = NeRFPositional(2, 2)(torch.tensor([[0.25, -0.5]]))
    s2 = math.sqrt(2) / 2
    expected = torch.tensor([[0.25, -0.5, s2, 1.0, -1.0, 0.0, s2, 0.0, 0.0, -1.0]])
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-6)


def test_nerf_positional_matches_closed_form():
    x = _rand(50, 3, seed=7)
    enc = NeRFPositional(3, 5)
    xs = x.double().numpy()
    sins = [np.sin(2.0**k * np.pi * xs[:, a]) for a in range(3) for k in range(5)]
    coss = [np.cos(2.0**k * np.pi * xs[:, a]) for a in range(3) for k in range(5)]
    expected = np.concatenate([xs, np.stack(sins, -1), np.stack(coss, -1)], -1)
    np.testing.assert_allclose(enc(x).numpy(), expected, rtol=0, atol=1e-5)  # float32 phases up to 16π


@pytest.mark.parametrize("in_dim,m,scale", [(1, 8, 4.0), (2, 256, 6.0), (3, 10, 5.0), (2, 7, 3.0)])
def test_ffn_positional_frequencies_exact(in_dim, m, scale):
    enc = FFNPositional(in_dim, m, scale)
    k = m // 2
    freqs = [2.0 ** (scale * j / (k - 1)) - 1 for j in range(k)]  # 2^linspace(0, scale, k) - 1
    expected = np.zeros((in_dim * k, in_dim))
    for axis in range(in_dim):
        for j in range(k):
            expected[axis * k + j, axis] = freqs[j]  # each frequency along each axis separately
    assert enc.B.shape == (in_dim * k, in_dim)
    assert enc.B.dtype == torch.float32
    np.testing.assert_array_equal(enc.B.numpy(), expected.astype(np.float32))
    assert enc.B[k - 1, 0].item() == pytest.approx(2.0**scale - 1)  # top frequency 2^scale - 1
    assert enc.B[0, 0].item() == 0.0  # 2^0 - 1


def test_ffn_positional_features_hand_computed():
    enc = FFNPositional(2, 4, 1.0)  # frequencies (0, 1) per axis
    x = torch.tensor([[0.0, -0.5]])  # v = (0.5, 0.25)
    # proj = 2π (0 * 0.5, 1 * 0.5, 0 * 0.25, 1 * 0.25) = (0, π, 0, π/2)
    expected = torch.tensor([[1.0, -1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    torch.testing.assert_close(enc(x), expected, rtol=0, atol=1e-6)


def test_gaussian_fourier_b_statistics():
    sigma = 10.0
    enc = GaussianFourier(2, m=4096, sigma=sigma, seed=0)
    b = enc.B.double()
    assert b.shape == (4096, 2)
    assert abs(b.std().item() - sigma) < 0.05 * sigma
    assert abs(b.mean().item()) < 0.05 * sigma
    for axis in range(2):  # per axis, too
        assert abs(b[:, axis].std().item() - sigma) < 0.05 * sigma
    # Gaussian, not uniform: about 68.3% within one sigma, 95.4% within two.
    assert abs((b.abs() < sigma).double().mean().item() - 0.6827) < 0.02
    assert abs((b.abs() < 2 * sigma).double().mean().item() - 0.9545) < 0.01


@pytest.mark.parametrize("sigma", [1.0, 25.0])
def test_gaussian_fourier_std_scales_with_sigma(sigma):
    b = GaussianFourier(3, m=4096, sigma=sigma, seed=1).B.double()
    assert abs(b.std().item() / sigma - 1) < 0.05


def test_gaussian_fourier_features_hand_computed():
    enc = GaussianFourier(3, m=16, sigma=4.0, seed=2)
    x = _rand(11, 3, seed=8)
    b = enc.B.double().numpy()
    v = (x.double().numpy() + 1) / 2
    proj = 2 * np.pi * v @ b.T
    expected = np.concatenate([np.cos(proj), np.sin(proj)], -1)
    np.testing.assert_allclose(enc(x).double().numpy(), expected, rtol=0, atol=1e-4)
    # And in double precision, to tight tolerance.
    np.testing.assert_allclose(enc.double()(x.double()).numpy(), expected, rtol=0, atol=1e-10)


def test_fourier_features_have_unit_norm_per_frequency():
    """cos² + sin² = 1 for every frequency: the feature norm is sqrt(m)."""
    enc = GaussianFourier(2, m=32, sigma=5.0)
    y = enc(_rand(9, 2))
    torch.testing.assert_close(y.norm(dim=-1), torch.full((9,), math.sqrt(32)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bad_m", [0, 1])
def test_ffn_positional_rejects_tiny_m(bad_m):
    with pytest.raises(ValueError):
        FFNPositional(2, bad_m)


# --------------------------------------------------------------------------- HashGrid: structure


def _ref_level_rows(c, n, d, table_size, dense):
    """Independent table row (within the level) of integer vertex ``c`` (a tuple)."""
    if dense:
        return sum(c[i] * (n + 1) ** i for i in range(d))  # row-major, axis 0 fastest
    h = 0
    for i in range(d):
        h ^= (c[i] * PRIMES[i]) & 0xFFFFFFFF  # the paper's uint32 arithmetic
    return h % table_size


def _ref_interpolation(x, enc):
    """For each point and level: {table row: weight}, computed independently in float64."""
    d = enc.in_dim
    max_rows = 2**enc.log2_hashmap_size
    out = []
    for p in np.asarray(x, dtype=np.float64):
        p = np.clip(p, -1, 1)
        levels = []
        offset = 0
        for n in enc.resolutions:
            dense = (n + 1) ** d <= max_rows
            size = (n + 1) ** d if dense else max_rows
            u = (p + 1) / 2 * n
            cell = np.minimum(np.floor(u).astype(np.int64), n - 1)
            frac = u - cell
            rows = {}
            for corner in range(2**d):
                bits = [(corner >> i) & 1 for i in range(d)]
                c = tuple(int(cell[i] + bits[i]) for i in range(d))
                w = float(np.prod([frac[i] if bits[i] else 1 - frac[i] for i in range(d)]))
                r = offset + _ref_level_rows(c, n, d, size, dense)
                rows[r] = rows.get(r, 0.0) + w
            levels.append(rows)
            offset += size
        out.append(levels)
    return out


def _impl_interpolation(x, enc):
    idx, w = enc.corner_indices(torch.as_tensor(x, dtype=torch.float64))
    out = []
    for p in range(idx.shape[0]):
        levels = []
        for level in range(idx.shape[1]):
            rows = {}
            for k in range(idx.shape[2]):
                r = int(idx[p, level, k])
                rows[r] = rows.get(r, 0.0) + float(w[p, level, k])
            levels.append(rows)
        out.append(levels)
    return out


def _assert_same_interpolation(a, b):
    assert len(a) == len(b)
    for pa, pb in zip(a, b):
        for la, lb in zip(pa, pb):
            keys = {k for k, v in la.items() if abs(v) > 1e-12} | {k for k, v in lb.items() if abs(v) > 1e-12}
            for k in keys:
                assert la.get(k, 0.0) == pytest.approx(lb.get(k, 0.0), abs=1e-12), (k, la, lb)


def test_hashgrid_resolutions_follow_geometric_growth():
    enc = HashGrid(2, n_levels=16, n_features=2, log2_hashmap_size=19, base_resolution=16, finest_resolution=512)
    b = math.exp((math.log(512) - math.log(16)) / 15)
    assert enc.growth == pytest.approx(b)
    expected = [int(math.floor(16 * b**level + 1e-9)) for level in range(16)]
    assert enc.resolutions == expected
    assert enc.resolutions[0] == 16 and enc.resolutions[-1] == 512  # both ends exact
    assert all(r1 > r0 for r0, r1 in zip(enc.resolutions, enc.resolutions[1:]))


@pytest.mark.parametrize("base,finest,n_levels", [(2, 4, 3), (2, 6, 2), (2, 8, 2), (2, 6, 16), (16, 2048, 16), (4, 100, 5)])
def test_hashgrid_finest_level_is_exactly_the_finest_resolution(base, finest, n_levels):
    """N_min * b^(L-1) = N_max in exact arithmetic: floating point must not floor it to N_max - 1."""
    enc = HashGrid(1, n_levels=n_levels, n_features=1, log2_hashmap_size=12, base_resolution=base, finest_resolution=finest)
    assert enc.resolutions[0] == base
    assert enc.resolutions[-1] == finest
    assert len(enc.resolutions) == n_levels


def test_hashgrid_single_level_uses_base_resolution():
    assert HashGrid(2, n_levels=1, base_resolution=7, finest_resolution=7).resolutions == [7]


def test_hashgrid_table_layout_dense_and_hashed_levels():
    enc = HashGrid(2, n_levels=4, n_features=3, log2_hashmap_size=8, base_resolution=4, finest_resolution=32)
    assert enc.resolutions == [4, 8, 16, 32]
    # (N+1)^2 = 25, 81 fit in T = 256 rows (dense); 289 and 1089 do not (hashed, T rows).
    assert enc._dense.tolist() == [True, True, False, False]
    assert enc._sizes.tolist() == [25, 81, 256, 256]
    assert enc._offsets.tolist() == [0, 25, 106, 362]
    assert enc.table.shape == (25 + 81 + 256 + 256, 3)


def test_hashgrid_level_that_exactly_fills_the_table_is_dense():
    """(N+1)^d == T: the vertices fit, so the level is indexed densely (no hash collisions)."""
    n = 3
    enc = HashGrid(2, n_levels=1, n_features=1, log2_hashmap_size=4, base_resolution=n, finest_resolution=n)
    assert enc._dense.tolist() == [True]
    assert enc.table.shape[0] == 16
    cs = torch.cartesian_prod(torch.arange(n + 1), torch.arange(n + 1))
    with torch.no_grad():
        enc.table.copy_(torch.arange(16, dtype=torch.float32)[:, None])
    y = enc(2 * cs.double() / n - 1)[:, 0]
    torch.testing.assert_close(y, (cs[:, 0] + cs[:, 1] * (n + 1)).double(), rtol=0, atol=1e-6)
    assert len(set(y.round().tolist())) == 16  # every vertex its own row


def test_hashgrid_table_init_within_1e_4():
    enc = HashGrid(3, n_levels=8, n_features=2, log2_hashmap_size=12, base_resolution=4, finest_resolution=64)
    t = enc.table.detach()
    assert t.abs().max().item() <= 1e-4
    # Uniform over the whole range, not a constant or a narrower law.
    assert t.abs().max().item() > 0.99e-4
    assert abs(t.std().item() - 2e-4 / math.sqrt(12)) < 0.05 * 2e-4 / math.sqrt(12)
    assert abs(t.mean().item()) < 2e-6


@pytest.mark.parametrize("in_dim", [1, 2, 3, 4])
def test_hashgrid_in_dim_1_to_4(in_dim):
    enc = HashGrid(in_dim, n_levels=3, n_features=2, log2_hashmap_size=8, base_resolution=2, finest_resolution=8)
    y = enc(_rand(7, in_dim))
    assert y.shape == (7, 6) and torch.isfinite(y).all()
    idx, w = enc.corner_indices(_rand(7, in_dim))
    assert idx.shape == w.shape == (7, 3, 2**in_dim)
    torch.testing.assert_close(w.sum(-1), torch.ones(7, 3))  # partition of unity
    assert (w >= 0).all()


@pytest.mark.parametrize("in_dim", [0, 5])
def test_hashgrid_rejects_in_dim_outside_1_to_4(in_dim):
    with pytest.raises(ValueError):
        HashGrid(in_dim)


@pytest.mark.parametrize(
    "kwargs",
    [dict(n_levels=0), dict(n_features=0), dict(base_resolution=0), dict(base_resolution=32, finest_resolution=16)],
)
def test_hashgrid_rejects_bad_sizes(kwargs):
    with pytest.raises(ValueError):
        HashGrid(2, **kwargs)


# --------------------------------------------------------------------------- HashGrid: indexing


def test_hashgrid_dense_level_index_is_row_major():
    n = 5
    enc = HashGrid(3, n_levels=1, n_features=1, log2_hashmap_size=8, base_resolution=n, finest_resolution=n)
    assert enc._dense.tolist() == [True]  # 6^3 = 216 <= 256
    # Evaluate at vertices: the weight-1 corner is the vertex itself.
    for c in [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (2, 3, 4), (5, 5, 5), (5, 0, 3)]:
        x = torch.tensor([[2 * ci / n - 1 for ci in c]], dtype=torch.float64)
        idx, w = enc.corner_indices(x)
        hit = idx[0, 0][w[0, 0] > 0.5]
        assert hit.tolist() == [c[0] + c[1] * (n + 1) + c[2] * (n + 1) ** 2]


@pytest.mark.parametrize("in_dim,log2", [(2, 6), (3, 7), (4, 9)])
def test_hashgrid_corner_indices_match_independent_computation(in_dim, log2):
    """Rows and weights of every corner, for dense and hashed levels, against a float64 reference."""
    enc = HashGrid(in_dim, n_levels=3, n_features=1, log2_hashmap_size=log2, base_resolution=2, finest_resolution=18)
    dense = enc._dense.tolist()
    assert True in dense and False in dense  # both kinds of level are exercised
    x = _rand(40, in_dim, seed=9, dtype=torch.float64).numpy()
    _assert_same_interpolation(_impl_interpolation(x, enc), _ref_interpolation(x, enc))


def test_hashgrid_hashed_index_uses_all_primes_and_xor():
    """A hashed 4D level: each vertex's row is XOR_i(c_i * prime_i) mod T, by hand."""
    n, log2 = 10, 10
    enc = HashGrid(4, n_levels=1, n_features=1, log2_hashmap_size=log2, base_resolution=n, finest_resolution=n)
    assert enc._dense.tolist() == [False]
    for c in [(1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (3, 7, 2, 9), (10, 10, 10, 10)]:
        x = torch.tensor([[2 * ci / n - 1 for ci in c]], dtype=torch.float64)
        idx, w = enc.corner_indices(x)
        hit = idx[0, 0][w[0, 0] > 0.5].tolist()
        by_hand = (c[0] * 1) ^ (c[1] * 2654435761) ^ (c[2] * 805459861) ^ (c[3] * 3674653429)
        assert hit == [by_hand % 2**log2]


def test_hashgrid_vertices_are_exact_dense_level():
    n = 8
    enc = HashGrid(2, n_levels=1, n_features=2, log2_hashmap_size=8, base_resolution=n, finest_resolution=n)
    assert enc._dense.tolist() == [True]
    cs = torch.cartesian_prod(torch.arange(n + 1), torch.arange(n + 1))  # (81, 2) vertices
    f = torch.stack([cs[:, 0] + 10.0 * cs[:, 1], torch.sin(cs[:, 0] * 0.7 - cs[:, 1] * 1.3)], -1)
    with torch.no_grad():
        enc.table[cs[:, 0] + cs[:, 1] * (n + 1)] = f
    x = 2 * cs.float() / n - 1
    torch.testing.assert_close(enc(x), f, rtol=1e-5, atol=1e-5)


def test_hashgrid_vertices_are_exact_hashed_level():
    n, t = 12, 64
    enc = HashGrid(2, n_levels=1, n_features=1, log2_hashmap_size=6, base_resolution=n, finest_resolution=n)
    assert enc._dense.tolist() == [False]
    with torch.no_grad():
        enc.table.copy_(torch.arange(t, dtype=torch.float32)[:, None])  # the row number
    cs = torch.cartesian_prod(torch.arange(n + 1), torch.arange(n + 1))
    x = 2 * cs.double() / n - 1
    rows = [(int(a) ^ (int(b) * 2654435761)) % t for a, b in cs.tolist()]
    torch.testing.assert_close(enc(x)[:, 0], torch.tensor(rows, dtype=torch.float64), rtol=0, atol=1e-6)


def test_hashgrid_linear_between_vertices_1d():
    n = 4
    enc = HashGrid(1, n_levels=1, n_features=1, log2_hashmap_size=4, base_resolution=n, finest_resolution=n)
    vals = torch.tensor([0.5, -1.0, 2.0, 4.0, 3.0])  # vertex c at x = c / 2 - 1
    with torch.no_grad():
        enc.table.copy_(vals[:, None])
    # x = -0.2 -> u = 1.6: 0.4 * vals[1] + 0.6 * vals[2] = -0.4 + 1.2 = 0.8
    # x = 0.75 -> u = 3.5: 0.5 * 4 + 0.5 * 3 = 3.5
    # x = -0.9 -> u = 0.2: 0.8 * 0.5 + 0.2 * -1 = 0.2
    x = torch.tensor([[-0.2], [0.75], [-0.9]])
    torch.testing.assert_close(enc(x)[:, 0], torch.tensor([0.8, 3.5, 0.2]), rtol=0, atol=1e-6)


def test_hashgrid_bilinear_hand_computed_2d():
    n = 2
    enc = HashGrid(2, n_levels=1, n_features=1, log2_hashmap_size=6, base_resolution=n, finest_resolution=n)
    # Vertex (c0, c1) at dense row c0 + 3 c1: values f = c0^2 + 3 c0 c1 - c1^2 (not bilinear in c).
    f = {(c0, c1): c0 * c0 + 3 * c0 * c1 - c1 * c1 for c0 in range(3) for c1 in range(3)}
    with torch.no_grad():
        for (c0, c1), v in f.items():
            enc.table[c0 + 3 * c1, 0] = v
    # x = (0.3, -0.4) -> u = (1.3, 0.6): cell (1, 0), frac (0.3, 0.6)
    a, b = 0.3, 0.6
    expected = (1 - a) * (1 - b) * f[1, 0] + a * (1 - b) * f[2, 0] + (1 - a) * b * f[1, 1] + a * b * f[2, 1]
    # f10 = 1, f20 = 4, f11 = 3, f21 = 9: 0.28 + 0.48 + 1.26 + 1.62 = 3.64
    assert expected == pytest.approx(3.64)
    y = enc(torch.tensor([[0.3, -0.4]], dtype=torch.float64))
    assert y.item() == pytest.approx(3.64, abs=1e-6)


def test_hashgrid_reproduces_multilinear_functions_exactly_3d():
    """Trilinear interpolation of a multilinear function of the vertex is that function."""
    n = 6
    enc = HashGrid(3, n_levels=1, n_features=1, log2_hashmap_size=9, base_resolution=n, finest_resolution=n).double()
    assert enc._dense.tolist() == [True]

    def f(u):  # multilinear in u
        return 0.5 + u[:, 0] - 2 * u[:, 1] + 0.25 * u[:, 2] + 0.3 * u[:, 0] * u[:, 1] * u[:, 2]

    cs = torch.cartesian_prod(*[torch.arange(n + 1)] * 3).double()
    rows = (cs[:, 0] + cs[:, 1] * (n + 1) + cs[:, 2] * (n + 1) ** 2).long()
    with torch.no_grad():
        enc.table[rows, 0] = f(cs)
    x = _rand(100, 3, seed=10, dtype=torch.float64)
    u = (x + 1) / 2 * n
    torch.testing.assert_close(enc(x)[:, 0], f(u), rtol=0, atol=1e-10)


def test_hashgrid_hashed_and_dense_levels_agree_1d():
    """1D: the hash is c mod T, so a hashed level equals a dense one with vertex T aliased to row 0."""
    n = 16
    hashed = HashGrid(1, n_levels=1, n_features=2, log2_hashmap_size=4, base_resolution=n, finest_resolution=n, seed=1)
    dense = HashGrid(1, n_levels=1, n_features=2, log2_hashmap_size=5, base_resolution=n, finest_resolution=n)
    assert hashed._dense.tolist() == [False] and dense._dense.tolist() == [True]
    with torch.no_grad():
        hashed.table.uniform_(-1, 1)
        dense.table.copy_(hashed.table[[c % 16 for c in range(n + 1)]])
    x = torch.linspace(-1, 1, 301)[:, None]
    torch.testing.assert_close(hashed(x), dense(x), rtol=0, atol=1e-6)


@pytest.mark.parametrize("in_dim", [2, 3])
def test_hashgrid_hashed_and_dense_levels_agree(in_dim):
    """Fill a dense level from a hashed one through an independent hash: the two fields coincide."""
    n = 8
    hashed = HashGrid(in_dim, 1, 2, log2_hashmap_size=5, base_resolution=n, finest_resolution=n)
    dense = HashGrid(in_dim, 1, 2, log2_hashmap_size=12, base_resolution=n, finest_resolution=n)
    assert hashed._dense.tolist() == [False] and dense._dense.tolist() == [True]
    with torch.no_grad():
        hashed.table.uniform_(-1, 1)
        for c in torch.cartesian_prod(*[torch.arange(n + 1)] * in_dim).reshape(-1, in_dim).tolist():
            row_dense = _ref_level_rows(c, n, in_dim, None, True)
            row_hash = _ref_level_rows(c, n, in_dim, 32, False)
            dense.table[row_dense] = hashed.table[row_hash]
    x = _rand(200, in_dim, seed=11)
    torch.testing.assert_close(hashed(x), dense(x), rtol=1e-6, atol=1e-6)


def test_hashgrid_clamps_inputs_outside_unit_cube():
    enc = HashGrid(2, n_levels=3, n_features=2, log2_hashmap_size=6, base_resolution=2, finest_resolution=16)
    with torch.no_grad():
        enc.table.uniform_(-1, 1)
    x = torch.tensor([[1.5, 0.2], [-3.0, -1.2], [0.3, 7.0], [1.0, -1.0], [2.0, -2.0]])
    torch.testing.assert_close(enc(x), enc(x.clamp(-1, 1)), rtol=0, atol=0)
    assert torch.equal(enc(x[3:4]), enc(x[4:5]))
    # Constant outside: no gradient flows to clamped coordinates.
    x = x.clone().requires_grad_(True)
    enc(x).sum().backward()
    assert x.grad[0, 0] == 0 and x.grad[1].abs().sum() == 0 and x.grad[2, 1] == 0
    assert x.grad[0, 1] != 0 and x.grad[2, 0] != 0


def test_hashgrid_edge_x_equal_one_uses_last_cell():
    n = 4
    enc = HashGrid(1, n_levels=1, n_features=1, log2_hashmap_size=4, base_resolution=n, finest_resolution=n)
    idx, w = enc.corner_indices(torch.tensor([[1.0]]))
    assert sorted(idx[0, 0].tolist()) == [n - 1, n]  # cell N-1, not an out-of-range cell N
    assert w[0, 0][idx[0, 0] == n].item() == 1.0


# --------------------------------------------------------------------------- HashGrid: cached sparse path


@pytest.mark.parametrize("in_dim", [1, 2, 3])
def test_hashgrid_prepared_path_equals_forward_and_its_gradient(in_dim):
    enc = HashGrid(in_dim, n_levels=4, n_features=2, log2_hashmap_size=7, base_resolution=3, finest_resolution=24)
    with torch.no_grad():
        enc.table.uniform_(-1, 1)
    x = _rand(300, in_dim, seed=12)
    x[:5] = torch.tensor([1.0, -1.0, 0.0, 1.0, -1.0])[:, None]  # edges and the centre
    state = enc.prepare(x)
    assert isinstance(state, HashGridCache)
    assert state.matrix.shape == (300 * 4, enc.table.shape[0])
    assert state.matrix_t.shape == (enc.table.shape[0], 300 * 4)
    g = torch.randn(300, enc.out_dim, generator=torch.Generator().manual_seed(1))

    y_sparse = enc.encode_prepared(state)
    (y_sparse * g).sum().backward()
    grad_sparse = enc.table.grad.clone()
    enc.table.grad = None

    y_gather = enc(x)
    (y_gather * g).sum().backward()
    grad_gather = enc.table.grad.clone()

    assert y_sparse.shape == (300, enc.out_dim)
    torch.testing.assert_close(y_sparse, y_gather, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_sparse, grad_gather, rtol=1e-5, atol=1e-5)
    assert grad_sparse.abs().sum() > 0


def test_hashgrid_prepared_cache_stays_valid_after_table_update():
    """The cache holds the interpolation, not the features: it follows the table as it trains."""
    enc = HashGrid(2, n_levels=3, n_features=2, log2_hashmap_size=6, base_resolution=2, finest_resolution=16)
    x = _rand(50, 2, seed=13)
    state = enc.prepare(x)
    opt = torch.optim.SGD(enc.parameters(), lr=10.0)
    for _ in range(2):
        opt.zero_grad()
        enc.encode_prepared(state).pow(2).sum().backward()  # any loss
        with torch.no_grad():
            enc.table.add_(torch.randn_like(enc.table))  # and a large change on top
        opt.step()
    torch.testing.assert_close(enc.encode_prepared(state), enc(x), rtol=1e-5, atol=1e-5)


def test_hashgrid_prepare_records_no_graph():
    enc = HashGrid(2, n_levels=2, n_features=2, log2_hashmap_size=6, base_resolution=2, finest_resolution=8)
    x = _rand(10, 2).requires_grad_(True)
    state = enc.prepare(x)
    assert not state.matrix.requires_grad and not state.matrix_t.requires_grad


# --------------------------------------------------------------------------- spherical harmonics


def test_spherical_harmonics_orthonormal_monte_carlo():
    d = _unit_dirs(200_000, seed=0)
    y = SphericalHarmonics(3, 4)(d)  # (n, 16)
    gram = (y.T @ y) / d.shape[0] * (4 * math.pi)  # ∫ Y_i Y_j dΩ ≈ 4π E[Y_i Y_j]
    err = (gram - torch.eye(16, dtype=gram.dtype)).abs()
    assert err.max().item() < 0.05, err.max()


def test_spherical_harmonics_addition_theorem():
    """Σ_m Y_lm(d)² = (2l + 1) / (4π) for every unit direction, per degree l."""
    d = _unit_dirs(500, seed=1)
    y = SphericalHarmonics(3, 4)(d)
    for l in range(4):
        band = y[:, l * l : (l + 1) * (l + 1)]
        expected = torch.full((500,), (2 * l + 1) / (4 * math.pi), dtype=y.dtype)
        torch.testing.assert_close(band.pow(2).sum(-1), expected, rtol=1e-12, atol=1e-12)


def test_spherical_harmonics_hand_computed_axes():
    c0, c1 = 0.28209479177387814, 0.48860251190291987
    d = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    y = SphericalHarmonics(3, 2)(d)
    expected = torch.tensor(
        [[c0, 0.0, c1, 0.0], [c0, 0.0, 0.0, -c1], [c0, -c1, 0.0, 0.0]], dtype=torch.float64
    )
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-15)
    assert c0 == pytest.approx(1 / (2 * math.sqrt(math.pi)))
    assert c1 == pytest.approx(math.sqrt(3 / (4 * math.pi)))


def test_spherical_harmonics_parity():
    """Y_lm(-d) = (-1)^l Y_lm(d)."""
    d = _unit_dirs(100, seed=2)
    enc = SphericalHarmonics(3, 4)
    sign = torch.tensor([(-1.0) ** l for l in range(4) for _ in range(2 * l + 1)], dtype=torch.float64)
    torch.testing.assert_close(enc(-d), enc(d) * sign, rtol=0, atol=1e-14)


def test_spherical_harmonics_lower_degree_is_a_prefix():
    d = _unit_dirs(20, seed=3)
    full = SphericalHarmonics(3, 4)(d)
    for degree in (1, 2, 3):
        torch.testing.assert_close(SphericalHarmonics(3, degree)(d), full[:, : degree**2], rtol=0, atol=0)


@pytest.mark.parametrize("in_dim,degree", [(2, 4), (4, 2), (3, 0), (3, 5)])
def test_spherical_harmonics_rejects_bad_arguments(in_dim, degree):
    with pytest.raises(ValueError):
        SphericalHarmonics(in_dim, degree)
