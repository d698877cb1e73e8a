"""Coordinate encodings: ``x: (..., in_dim) -> (..., out_dim)``.

Every encoding is an ``nn.Module`` built from plain arguments, with ``in_dim``
and ``out_dim`` set in ``__init__``. Inputs are coordinates in ``[-1, 1]`` per
axis (the signals convert pixel and voxel centres once, ``x = (i + 0.5) / n * 2 - 1``).

The Fourier-features encodings (:class:`BasicFourier`, :class:`FFNPositional`,
:class:`GaussianFourier`) reproduce Tancik et al. 2020, "Fourier Features Let
Networks Learn High Frequency Functions in Low Dimensional Domains", whose
inputs are ``v in [0, 1)``; they compute ``v = (x + 1) / 2`` so that their
frequencies mean exactly what the paper's do (cycles across the signal).

Fitting loops evaluate the same coordinates every step. ``prepare(x)`` returns
whatever can be computed once for fixed coordinates (the features themselves
for fixed encodings, the interpolation matrix for a hash grid) and
``encode_prepared(state)`` finishes the job; ``forward(x)`` is both in one.
A prepared state is a tensor, or a :class:`HashGridCache`.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from .configs import EncodingConfig

__all__ = ["Encoding", "Identity", "BasicFourier", "NeRFPositional", "FFNPositional", "GaussianFourier", "HashGrid",
           "HashGridCache", "SphericalHarmonics"]


class Encoding(nn.Module):
    """Base class: ``forward(x: (..., in_dim)) -> (..., out_dim)``."""

    in_dim: int
    out_dim: int

    def prepare(self, x: torch.Tensor):
        """Work that depends only on ``x: (N, in_dim)``; cached by fit loops."""
        return self(x)

    def encode_prepared(self, state) -> torch.Tensor:
        """``(N, out_dim)`` features from a :meth:`prepare` result."""
        return state


class Identity(Encoding):
    """No mapping: ``out_dim = in_dim``."""

    def __init__(self, in_dim: int):
        super().__init__()
        self.in_dim = self.out_dim = in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class _FourierBase(Encoding):
    """``[cos(2π v Bᵀ), sin(2π v Bᵀ)]`` with ``v = (x + 1) / 2``; B a buffer ``(m, in_dim)``."""

    def _init_b(self, b: torch.Tensor):
        self.register_buffer("B", b.float())  # (m, in_dim)
        self.in_dim = b.shape[1]
        self.out_dim = 2 * b.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = (x + 1) * 0.5  # the paper's [0, 1) coordinates
        proj = (2 * math.pi) * (v @ self.B.T)  # (..., m)
        return torch.cat([torch.cos(proj), torch.sin(proj)], dim=-1)


class BasicFourier(_FourierBase):
    """Basic mapping ``[cos 2πv, sin 2πv]`` (B = I): ``out_dim = 2 * in_dim``."""

    def __init__(self, in_dim: int):
        super().__init__()
        self._init_b(torch.eye(in_dim))


class FFNPositional(_FourierBase):
    """Fourier-features paper's positional encoding, per axis.

    ``m // 2`` frequencies per axis, ``b_j = 2^linspace(0, scale, m // 2) - 1``,
    along each axis separately (the paper's code). ``out_dim = 2 * in_dim * (m // 2)``
    (512 for 2D inputs with the paper's ``m = 256``).
    """

    def __init__(self, in_dim: int, m: int = 256, scale: float = 6.0):
        super().__init__()
        if m < 2:
            raise ValueError(f"m must be at least 2, got {m}")
        freqs = 2.0 ** torch.linspace(0, scale, m // 2, dtype=torch.float64) - 1  # (m/2,)
        eye = torch.eye(in_dim, dtype=torch.float64)
        b = (freqs[None, :, None] * eye[:, None, :]).reshape(-1, in_dim)  # (in_dim * m/2, in_dim)
        self._init_b(b)
        self.m, self.scale = m, scale


class GaussianFourier(_FourierBase):
    """Gaussian Fourier features: ``B ~ N(0, σ²)`` of shape ``(m, in_dim)``, seeded.

    ``out_dim = 2 * m``. ``σ`` is in cycles across the signal (the paper's units).
    """

    def __init__(self, in_dim: int, m: int = 256, sigma: float = 10.0, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self._init_b(torch.randn(m, in_dim, generator=g, dtype=torch.float64) * sigma)
        self.m, self.sigma, self.seed = m, sigma, seed


class NeRFPositional(Encoding):
    """NeRF positional encoding on ``x in [-1, 1]``.

    ``[x, sin(2^k π x), cos(2^k π x)]`` for ``k = 0 .. n_frequencies - 1``;
    ``out_dim = in_dim * (2 * n_frequencies + include_input)``
    (63 for 3D inputs with L = 10, as in NeRF).
    """

    def __init__(self, in_dim: int, n_frequencies: int = 10, include_input: bool = True):
        super().__init__()
        self.in_dim = in_dim
        self.n_frequencies = n_frequencies
        self.include_input = include_input
        self.register_buffer("freqs", (2.0 ** torch.arange(n_frequencies)) * math.pi)
        self.out_dim = in_dim * (2 * n_frequencies + int(include_input))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        proj = (x[..., :, None] * self.freqs).flatten(-2)  # (..., in_dim * L)
        parts = [torch.sin(proj), torch.cos(proj)]
        if self.include_input:
            parts.insert(0, x)
        return torch.cat(parts, dim=-1)


# Instant-NGP's hash primes (Müller et al. 2022, eq. 4); the first is 1 for cache coherence.
_PRIMES = (1, 2654435761, 805459861, 3674653429)


@dataclass
class HashGridCache:
    """Interpolation of fixed coordinates as sparse matrices, for :class:`HashGrid`.

    ``matrix: (N * L, table_rows)`` CSR with ``2^d`` weights a row, and its
    transpose for the backward pass.
    """

    matrix: torch.Tensor
    matrix_t: torch.Tensor


class _SparseGather(torch.autograd.Function):
    @staticmethod
    def forward(ctx, table, matrix, matrix_t):
        ctx.save_for_backward(matrix_t)
        return matrix @ table

    @staticmethod
    def backward(ctx, grad):
        (matrix_t,) = ctx.saved_tensors
        return matrix_t @ grad.contiguous(), None, None


def _corner_combine(cell: torch.Tensor, mult: torch.Tensor, op, mask: int | None = None) -> torch.Tensor:
    """``op``-combination over axes of ``(cell_i + bit_i) * mult_i`` for every corner: ``(N, L, 2^d)``.

    ``cell: (N, L, d)``; ``mult: (L, d)`` or ``(d,)``. Axis ``d - 1`` is the most significant corner bit.
    """
    out = None
    for i in range(cell.shape[-1] - 1, -1, -1):
        m = mult[..., i]
        lo = cell[..., i] * m  # (N, L)
        pair = torch.stack([lo, lo + m], -1)  # (N, L, 2)
        if mask is not None:
            pair &= mask
        out = pair if out is None else op(out[..., :, None], pair[..., None, :]).flatten(-2)
    return out


class _HashInterpolate(torch.autograd.Function):
    """``sum_k w[..., k] * table[idx[..., k]]`` for ``idx, w: (..., K)``, gradients to the table only.

    The forward is one fused ``embedding_bag`` (no ``(..., K, F)`` intermediate); the backward
    accumulates ``w * grad`` into the table rows with ``bincount`` on a CPU and ``index_add_``
    elsewhere. Plain indexing's backward, a sorted ``index_put_``, costs several times more on a
    CPU (BENCHMARKS.md). Used when ``w`` needs no gradient.
    """

    @staticmethod
    def forward(ctx, table, idx, w):
        ctx.save_for_backward(idx, w)
        ctx.rows = table.shape[0]
        k = idx.shape[-1]
        out = nn.functional.embedding_bag(idx.reshape(-1, k), table, per_sample_weights=w.reshape(-1, k), mode="sum")
        return out.view(*idx.shape[:-1], table.shape[1])

    @staticmethod
    def backward(ctx, grad):
        idx, w = ctx.saved_tensors
        f = grad.shape[-1]
        src = (w[..., None] * grad[..., None, :]).reshape(-1, f)  # (M, F): M = every (point, level, corner)
        if grad.device.type == "cpu":  # one pass over a flat (row, feature) index, exact and deterministic
            flat = (idx.reshape(-1, 1) * f + torch.arange(f, device=idx.device)).reshape(-1)
            out = torch.bincount(flat, weights=src.reshape(-1), minlength=ctx.rows * f).view(ctx.rows, f)
            return out.to(grad.dtype), None, None
        out = torch.zeros(ctx.rows, f, dtype=grad.dtype, device=grad.device)
        return out.index_add_(0, idx.reshape(-1), src), None, None


class HashGrid(Encoding):
    """Multiresolution hash encoding (Müller et al. 2022, Instant-NGP).

    ``n_levels`` grids with resolutions ``N_l = floor(N_min * b^l)``,
    ``b = exp((ln N_max - ln N_min) / (n_levels - 1))``. Each level stores
    ``n_features`` values per vertex in a table of at most ``2^log2_hashmap_size``
    rows: a level whose ``(N_l + 1)^d`` vertices fit is indexed densely,
    larger levels with the paper's hash ``XOR_i(c_i * π_i) mod T``.
    Features are ``d``-linearly interpolated from the ``2^d`` corners of the
    cell holding ``v = (x + 1) / 2 * N_l``; all levels are looked up in one
    gather. ``out_dim = n_levels * n_features``. Tables start at ``U(±1e-4)``.
    Inputs outside ``[-1, 1]`` are clamped. ``in_dim`` is 1 to 4.
    """

    def __init__(
        self,
        in_dim: int,
        n_levels: int = 16,
        n_features: int = 2,
        log2_hashmap_size: int = 19,
        base_resolution: int = 16,
        finest_resolution: int = 512,
        seed: int = 0,
    ):
        super().__init__()
        if not 1 <= in_dim <= 4:
            raise ValueError(f"HashGrid takes 1 to 4 input dimensions, got {in_dim}")
        if n_levels < 1 or n_features < 1 or base_resolution < 1 or finest_resolution < base_resolution:
            raise ValueError("HashGrid needs n_levels, n_features >= 1 and finest >= base resolution >= 1")
        self.in_dim, self.n_levels, self.n_features = in_dim, n_levels, n_features
        self.log2_hashmap_size = log2_hashmap_size
        self.base_resolution, self.finest_resolution = base_resolution, finest_resolution
        self.out_dim = n_levels * n_features
        growth = math.exp((math.log(finest_resolution) - math.log(base_resolution)) / max(n_levels - 1, 1))
        self.growth = growth
        max_rows = 2**log2_hashmap_size
        res, sizes, dense = [], [], []
        for level in range(n_levels):
            n = int(math.floor(base_resolution * growth**level + 1e-9))
            res.append(n)
            vertices = (n + 1) ** in_dim
            dense.append(vertices <= max_rows)
            sizes.append(min(vertices, max_rows))
        offsets = [0]
        for s in sizes:
            offsets.append(offsets[-1] + s)
        self.resolutions = res
        self.register_buffer("_res", torch.tensor(res, dtype=torch.int64), persistent=False)
        self.register_buffer("_sizes", torch.tensor(sizes, dtype=torch.int64), persistent=False)
        self.register_buffer("_dense", torch.tensor(dense), persistent=False)
        self._n_dense = sum(dense)  # dense levels are the coarsest: a prefix
        # Rows fit int32, and so do the hash products once the primes keep only the bits the mask
        # keeps ((c * π) mod 2^k = (c * (π mod 2^k)) mod 2^k): int32 halves the index arithmetic's
        # memory traffic wherever (N_max + 1) * 2^k stays below 2^31.
        small = offsets[-1] * n_features < 2**31 and (max(res) + 1) * max_rows < 2**31
        self._index_dtype = torch.int32 if small else torch.int64
        primes = [p % max_rows if small else p for p in _PRIMES[:in_dim]]
        self.register_buffer("_offsets", torch.tensor(offsets[:-1], dtype=self._index_dtype), persistent=False)
        # Row-major strides (N+1)^i per dense level and axis: (L, d); hashed levels do not use them.
        strides = [[(n + 1) ** i if is_dense else 0 for i in range(in_dim)] for n, is_dense in zip(res, dense)]
        strides = torch.tensor(strides, dtype=self._index_dtype)
        self.register_buffer("_strides", strides, persistent=False)
        self.register_buffer("_primes", torch.tensor(primes, dtype=self._index_dtype), persistent=False)
        g = torch.Generator().manual_seed(seed)
        self.table = nn.Parameter(torch.rand(offsets[-1], n_features, generator=g) * 2e-4 - 1e-4)

    def corner_indices(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Table rows and weights of the cell corners: ``(N, L, 2^d)`` each, for ``x: (N, d)``.

        Corner ``k`` is offset by bit ``i`` of ``k`` along axis ``i``. Dense levels (the coarsest,
        so a prefix of the levels) index row-major; hashed ones XOR the axes' ``c_i * π_i`` and keep
        the low ``log2_hashmap_size`` bits. Both are built axis by axis on ``(N, L, 2)`` pairs and
        combined by broadcasting, which touches far less memory than ``(N, L, 2^d, d)`` corner tensors.
        """
        res = self._res.to(x.dtype)[None, :, None]  # (1, L, 1)
        u = ((x.clamp(-1, 1) + 1) * 0.5)[:, None, :] * res  # (N, L, d)
        cell = torch.minimum(u.floor(), res - 1)  # keeps u = N in the last cell
        frac = u - cell  # (N, L, d)
        cell = cell.to(self._index_dtype)
        n_dense = self._n_dense
        parts = []
        if n_dense:  # row-major: sum_i (c_i + bit_i) * stride_i
            parts.append(_corner_combine(cell[:, :n_dense], self._strides[:n_dense], torch.add))
        if n_dense < self.n_levels:  # hashed: XOR_i ((c_i + bit_i) * π_i) mod 2^log2 (AND and XOR commute)
            mask = (1 << self.log2_hashmap_size) - 1
            parts.append(_corner_combine(cell[:, n_dense:], self._primes, torch.bitwise_xor, mask))
        idx = parts[0] if len(parts) == 1 else torch.cat(parts, 1)  # (N, L, 2^d)
        idx += self._offsets[None, :, None]
        # Weights: the product over axes of 1 - frac (bit 0) or frac (bit 1), in the same corner order.
        pairs = torch.stack([1 - frac, frac], -1)  # (N, L, d, 2)
        w = pairs[:, :, self.in_dim - 1]
        for i in range(self.in_dim - 2, -1, -1):
            w = (w[..., :, None] * pairs[:, :, i, None, :]).flatten(-2)
        return idx, w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        x = x.reshape(-1, self.in_dim)  # (N, d)
        idx, w = self.corner_indices(x)
        if x.requires_grad or w.dtype != self.table.dtype:
            # gradients in x (and through them, for eikonal losses) or mixed precision: plain autograd
            feats = (self.table[idx] * w[..., None]).sum(-2)  # (N, L, F)
        else:
            feats = _HashInterpolate.apply(self.table, idx, w)  # (N, L, F)
        return feats.reshape(*lead, self.out_dim)

    def prepared_bytes_per_point(self) -> int:
        """Memory :meth:`prepare` keeps per point: the interpolation matrix and its transpose
        (``2^d`` corners per level, an int64 column and a float32 weight each, both ways)."""
        return self.n_levels * ((1 << self.in_dim) * 24 + 8)

    def prepare(self, x: torch.Tensor) -> HashGridCache:
        """Interpolation matrix for fixed ``x: (N, d)``: steps then cost one sparse matmul each way."""
        with torch.no_grad():
            idx, w = self.corner_indices(x)
            n_rows = idx.shape[0] * self.n_levels
            return self._cache(idx, w, n_rows)

    def _cache(self, idx, w, n_rows) -> HashGridCache:
        # Row r = n * L + l holds the 2^d corners of point n at level l, so the CSR row
        # pointers are a plain arange; the transpose groups the same entries by table row.
        corners = idx.shape[-1]
        cols = idx.reshape(-1).long()  # (nnz,)
        vals = w.reshape(-1).to(self.table.dtype)  # (nnz,)
        n_table = self.table.shape[0]
        crow = torch.arange(0, n_rows * corners + 1, corners, device=idx.device)
        order = torch.argsort(cols, stable=True)
        crow_t = torch.zeros(n_table + 1, dtype=torch.long, device=idx.device)
        crow_t[1:] = torch.bincount(cols, minlength=n_table).cumsum(0)
        with warnings.catch_warnings():  # "sparse CSR support is in beta": we only use CSR @ dense
            warnings.simplefilter("ignore", UserWarning)
            m = torch.sparse_csr_tensor(crow, cols, vals, (n_rows, n_table))
            mt = torch.sparse_csr_tensor(crow_t, order // corners, vals[order], (n_table, n_rows))
        return HashGridCache(m, mt)

    def encode_prepared(self, state: HashGridCache) -> torch.Tensor:
        feats = _SparseGather.apply(self.table, state.matrix, state.matrix_t)  # (N * L, F)
        return feats.reshape(-1, self.out_dim)  # (N, L * F)


class SphericalHarmonics(Encoding):
    """Real spherical harmonics of unit directions ``(..., 3)``, degrees ``0 .. degree - 1``.

    ``out_dim = degree²`` (16 for degree 4, as Instant-NGP encodes view directions).
    """

    def __init__(self, in_dim: int = 3, degree: int = 4):
        super().__init__()
        if in_dim != 3 or not 1 <= degree <= 4:
            raise ValueError("SphericalHarmonics takes 3D directions and degree 1 to 4")
        self.in_dim, self.degree, self.out_dim = 3, degree, degree**2

    def forward(self, d: torch.Tensor) -> torch.Tensor:
        x, y, z = d.unbind(-1)
        out = [torch.full_like(x, 0.28209479177387814)]
        if self.degree > 1:
            out += [-0.48860251190291987 * y, 0.48860251190291987 * z, -0.48860251190291987 * x]
        if self.degree > 2:
            xx, yy, zz = x * x, y * y, z * z
            out += [
                1.0925484305920792 * x * y,
                -1.0925484305920792 * y * z,
                0.94617469575755997 * zz - 0.31539156525251999,
                -1.0925484305920792 * x * z,
                0.54627421529603959 * (xx - yy),
            ]
        if self.degree > 3:
            out += [
                0.59004358992664352 * y * (-3 * xx + yy),
                2.8906114426405538 * x * y * z,
                0.45704579946446572 * y * (1 - 5 * zz),
                0.3731763325901154 * z * (5 * zz - 3),
                0.45704579946446572 * x * (1 - 5 * zz),
                1.4453057213202769 * z * (xx - yy),
                0.59004358992664352 * x * (-xx + 3 * yy),
            ]
        return torch.stack(out, dim=-1)


class TensorVM(Encoding):
    """TensoRF's vector-matrix decomposition of a 3D feature grid (Chen et al. 2022, Sec. 3.2).

    Three planes ``P_xy, P_xz, P_yz`` of ``n_components`` channels at
    ``resolution²`` and three lines ``L_z, L_y, L_x`` of ``resolution`` samples;
    the features of ``x`` are the products ``P_xy(x, y) L_z(z)``,
    ``P_xz(x, z) L_y(y)``, ``P_yz(y, z) L_x(x)``, each bi/linearly interpolated
    (vertices at the box corners, ``align_corners``). ``out_dim = 3 * n_components``.
    Planes and lines start at ``N(0, 0.1²)`` from ``seed``. Inputs are in
    ``[-1, 1]³`` (outside: border values). Interpolation is ``grid_sample``,
    whose CPU backward is far cheaper than a hash table's scatter.
    """

    def __init__(self, in_dim: int = 3, n_components: int = 16, resolution: int = 128, seed: int = 0):
        super().__init__()
        if in_dim != 3 or n_components < 1 or resolution < 2:
            raise ValueError("TensorVM takes 3D inputs, n_components >= 1 and resolution >= 2")
        self.in_dim, self.n_components, self.resolution = 3, n_components, resolution
        self.out_dim = 3 * n_components
        g = torch.Generator().manual_seed(seed)
        self.planes = nn.Parameter(0.1 * torch.randn(3, n_components, resolution, resolution, generator=g))
        self.lines = nn.Parameter(0.1 * torch.randn(3, n_components, resolution, 1, generator=g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        x = x.reshape(-1, 3)  # (N, 3)
        n = x.shape[0]
        uv = torch.stack([x[:, [0, 1]], x[:, [0, 2]], x[:, [1, 2]]]).reshape(3, n, 1, 2)  # plane coords (W, H)
        w = torch.stack([x[:, 2], x[:, 1], x[:, 0]])  # (3, N) line coords
        w = torch.stack([torch.zeros_like(w), w], -1).reshape(3, n, 1, 2)
        p = nn.functional.grid_sample(self.planes, uv, align_corners=True, padding_mode="border")  # (3, C, N, 1)
        line = nn.functional.grid_sample(self.lines, w, align_corners=True, padding_mode="border")  # (3, C, N, 1)
        feats = (p * line)[..., 0].permute(2, 0, 1)  # (N, 3, C)
        return feats.reshape(*lead, self.out_dim)


__all__ += ["TensorVM"]


# ---------------------------------------------------------------------------- configs: one per kind


ENCODINGS: dict[str, type[EncodingConfig]] = EncodingConfig.registry
"""Encoding kind name -> its config class (:class:`~inrkit.configs.EncodingConfig` reads any of them)."""


@dataclass
class IdentityConfig(EncodingConfig):
    """:class:`Identity`, the raw coordinates: ``out_dim = in_dim``.

    Examples:
        >>> IdentityConfig().build(2).out_dim
        2
    """

    kind = "identity"

    def build(self, in_dim: int) -> Identity:
        return Identity(in_dim)


@dataclass
class BasicConfig(EncodingConfig):
    """:class:`BasicFourier`, ``[cos 2πv, sin 2πv]``: ``out_dim = 2 * in_dim``.

    Examples:
        >>> BasicConfig().build(3).out_dim
        6
    """

    kind = "basic"

    def build(self, in_dim: int) -> BasicFourier:
        return BasicFourier(in_dim)


@dataclass
class PositionalConfig(EncodingConfig):
    """:class:`NeRFPositional`: ``out_dim = in_dim * (2 * n_frequencies + include_input)``.

    Examples:
        >>> PositionalConfig(n_frequencies=10).build(3).out_dim
        63
    """

    kind = "positional"
    n_frequencies: int = 10
    """Octaves L: frequencies ``2^k π`` for ``k = 0 .. L - 1``."""
    include_input: bool = True
    """Prepend the raw coordinate."""

    def build(self, in_dim: int) -> NeRFPositional:
        return NeRFPositional(in_dim, self.n_frequencies, self.include_input)


@dataclass
class FFNPositionalConfig(EncodingConfig):
    """:class:`FFNPositional`, the Fourier-features paper's per-axis one: ``out_dim = 2 * in_dim * (m // 2)``.

    Examples:
        >>> FFNPositionalConfig(m=256, scale=6.0).build(2).out_dim
        512
    """

    kind = "ffn-positional"
    m: int = 256
    """Mapping size: ``m // 2`` frequencies per axis."""
    scale: float = 6.0
    """Frequencies up to ``2^scale - 1`` cycles across the signal."""

    def build(self, in_dim: int) -> FFNPositional:
        return FFNPositional(in_dim, self.m, self.scale)


@dataclass
class GaussianFourierConfig(EncodingConfig):
    """:class:`GaussianFourier`, ``B ~ N(0, sigma²)`` of shape ``(m, in_dim)``: ``out_dim = 2 * m``.

    Examples:
        >>> GaussianFourierConfig(m=16, sigma=10.0).build(2).out_dim
        32
    """

    kind = "gaussian"
    m: int = 256
    """Mapping size: the rows of B."""
    sigma: float = 10.0
    """Standard deviation of B, in cycles across the signal."""
    seed: int = 0
    """Seed of B."""

    def build(self, in_dim: int) -> GaussianFourier:
        return GaussianFourier(in_dim, self.m, self.sigma, self.seed)


@dataclass
class HashGridConfig(EncodingConfig):
    """:class:`HashGrid`, Instant-NGP's multiresolution hash encoding: ``out_dim = n_levels * n_features``.

    Examples:
        >>> HashGridConfig(n_levels=2, n_features=2, log2_hashmap_size=8, finest_resolution=32).build(2).out_dim
        4
    """

    kind = "hashgrid"
    n_levels: int = 16
    """Levels L."""
    n_features: int = 2
    """Features per level F."""
    log2_hashmap_size: int = 19
    """At most ``2^this`` table rows per level (T)."""
    base_resolution: int = 16
    """Coarsest resolution N_min."""
    finest_resolution: int = 0
    """Finest resolution N_max; 0: :func:`inrkit.make_field` takes the signal's resolution."""
    seed: int = 0
    """Seed of the table initialisation."""

    def build(self, in_dim: int) -> HashGrid:
        if self.finest_resolution <= 0:
            raise ValueError("hashgrid needs finest_resolution > 0 (make_field sets it from the signal when 0)")
        return HashGrid(in_dim, self.n_levels, self.n_features, self.log2_hashmap_size, self.base_resolution,
                        self.finest_resolution, self.seed)


@dataclass
class SHConfig(EncodingConfig):
    """:class:`SphericalHarmonics` of unit directions: ``out_dim = degree²``.

    Examples:
        >>> SHConfig(degree=4).build(3).out_dim
        16
    """

    kind = "sh"
    degree: int = 4
    """Number of degrees, 1 to 4 (harmonics of degree 0 .. degree - 1)."""

    def build(self, in_dim: int) -> SphericalHarmonics:
        return SphericalHarmonics(in_dim, self.degree)


@dataclass
class VMConfig(EncodingConfig):
    """:class:`TensorVM`, TensoRF's planes and lines over 3D points: ``out_dim = 3 * n_components``.

    Examples:
        >>> VMConfig(n_components=4, resolution=8).build(3).out_dim
        12
    """

    kind = "vm"
    n_components: int = 16
    """Channels of each plane and line."""
    resolution: int = 128
    """Samples along each side of the planes and lines."""
    seed: int = 0
    """Seed of the initialisation."""

    def build(self, in_dim: int) -> TensorVM:
        return TensorVM(in_dim, self.n_components, self.resolution, self.seed)


ENCODING_KINDS = tuple(ENCODINGS)
__all__ += ["EncodingConfig", "ENCODINGS", "ENCODING_KINDS", "IdentityConfig", "BasicConfig", "PositionalConfig",
            "FFNPositionalConfig", "GaussianFourierConfig", "HashGridConfig", "SHConfig", "VMConfig"]
