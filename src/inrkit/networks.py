"""Networks: ``(..., in_dim) -> (..., out_dim)``, built from plain arguments.

``depth`` always counts the activated (hidden) layers of width ``width``; a
final linear layer maps to ``out_dim``. The SIREN repository's
``hidden_layers=3`` network is ``depth=4`` here (first layer plus three).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .configs import NetworkConfig

__all__ = ["MLP", "Siren", "SineLayer", "Gauss", "Wire", "Finer", "FourierNet", "GaborNet", "Bacon", "ACTIVATIONS",
           "NetworkConfig", "NETWORKS", "NETWORK_KINDS", "MLPConfig", "SirenConfig", "GaussConfig", "WireConfig",
           "FinerConfig", "FourierNetConfig", "GaborNetConfig", "BaconConfig"]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
    "tanh": nn.Tanh,
}


class MLP(nn.Module):
    """Fully connected network with a chosen activation.

    ``skips`` lists hidden layers (0-based) whose input is the previous layer's
    output concatenated with the network's input. NeRF's network is
    ``skips=(5,)``: the sixth layer takes ``[h, x]``; NeRF's code writes this
    ``skips=[4]``, the layer after which it concatenates. ``init``: ``"torch"`` keeps PyTorch's default Linear
    initialisation (weights and biases ``U(±1/√fan_in)``); ``"glorot"`` draws
    weights from a Glorot normal truncated at two standard deviations (variance
    ``2 / (fan_in + fan_out)``) and biases from ``N(0, 0.01²)``: the default of
    JAX's stax ``Dense``, with which the Fourier-features paper trained. Its
    weights have three times PyTorch's variance, so a deep ReLU stack does not
    shrink its input as fast.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int = 256,
        depth: int = 4,
        activation: str = "relu",
        skips: tuple[int, ...] = (),
        init: str = "torch",
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
        if init not in MLP_INITS:
            raise ValueError(f"unknown initialisation {init!r}; expected one of {', '.join(MLP_INITS)}")
        _check_size("MLP", width, depth)
        self.in_dim, self.out_dim, self.skips = in_dim, out_dim, tuple(skips)
        self.layers = nn.ModuleList()
        for i in range(depth):
            n_in = in_dim if i == 0 else width
            if i in self.skips and i > 0:
                n_in += in_dim
            self.layers.append(nn.Linear(n_in, width))
        self.act = ACTIVATIONS[activation]()
        self.out = nn.Linear(width, out_dim)
        if init == "glorot":
            for layer in [*self.layers, self.out]:
                glorot_init_(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for i, layer in enumerate(self.layers):
            if i in self.skips and i > 0:
                h = torch.cat([h, x], dim=-1)  # (..., width + in_dim)
            h = self.act(layer(h))
        return self.out(h)


MLP_INITS = ("torch", "glorot")

# A normal truncated at ±2σ has variance 0.7737σ²; dividing σ by √0.7737 = 0.87962566 restores
# the wanted variance (what JAX's variance_scaling does for "truncated_normal").
_TRUNCATED_STD = 0.87962566103423978


def glorot_init_(linear: nn.Linear) -> nn.Linear:
    """JAX stax ``Dense`` defaults in place: truncated Glorot-normal weights, ``N(0, 0.01²)`` biases."""
    fan_out, fan_in = linear.weight.shape
    std = math.sqrt(2.0 / (fan_in + fan_out)) / _TRUNCATED_STD
    with torch.no_grad():
        nn.init.trunc_normal_(linear.weight, std=std, a=-2 * std, b=2 * std)
        if linear.bias is not None:
            linear.bias.normal_(0.0, 0.01)
    return linear


def siren_init_(linear: nn.Linear, omega: float, is_first: bool = False) -> nn.Linear:
    """SIREN's weight initialisation in place: ``U(±1/n)`` for a first layer, else ``U(±√(6/n)/ω0)``."""
    n = linear.in_features
    bound = 1 / n if is_first else math.sqrt(6 / n) / omega
    with torch.no_grad():
        linear.weight.uniform_(-bound, bound)
    return linear


def _check_size(name: str, width: int, depth: int, min_width: int = 1) -> None:
    if depth < 1 or width < min_width:
        raise ValueError(f"{name} needs depth >= 1 and width >= {min_width}")


class SineLayer(nn.Module):
    """``sin(ω0 (W x + b))`` with SIREN's initialisation (Sitzmann et al. 2020, Sec. 3.2, supp. 1.5).

    First layer: ``W ~ U(-1/n, 1/n)``; other layers: ``W ~ U(-√(6/n)/ω0, √(6/n)/ω0)``,
    ``n`` the fan-in. Biases keep PyTorch's default ``U(±1/√n)``, as the
    reference code does. ω0 scales ``W x + b``; it is folded into one ``addmm``
    (``(ω0 W) x + ω0 b``), the same function with one fewer pass over the activations.
    """

    def __init__(self, in_dim: int, out_dim: int, omega: float = 30.0, is_first: bool = False):
        super().__init__()
        self.omega, self.is_first = omega, is_first
        self.linear = siren_init_(nn.Linear(in_dim, out_dim), omega, is_first)

    def preactivation(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self.linear.weight * self.omega, self.linear.bias * self.omega
        if x.dim() == 2:
            return torch.addmm(b, x, w.T)
        return nn.functional.linear(x, w, b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.preactivation(x))


class Siren(nn.Module):
    """SIREN: ``depth`` sine layers of ``width`` and a linear last layer.

    The last layer is initialised like a hidden sine layer (``U(±√(6/n)/ω0)``),
    as in the reference code. ``first_omega`` and ``hidden_omega`` default to 30.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int = 256,
        depth: int = 4,
        first_omega: float = 30.0,
        hidden_omega: float = 30.0,
    ):
        super().__init__()
        _check_size("Siren", width, depth)
        self.in_dim, self.out_dim = in_dim, out_dim
        layers = [SineLayer(in_dim, width, first_omega, is_first=True)]
        layers += [SineLayer(width, width, hidden_omega) for _ in range(depth - 1)]
        self.layers = nn.Sequential(*layers)
        self.out = siren_init_(nn.Linear(width, out_dim), hidden_omega)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.layers(x))


# ---------------------------------------------------------------------------
# Other activation families, peers of MLP and Siren. Recommended learning rates
# (Adam) are given in each docstring and used by their presets.
# ---------------------------------------------------------------------------


class Gauss(nn.Module):
    """Gaussian activations ``exp(-(s z)²)`` (Ramasinghe & Lucey 2022), linear last layer.

    PyTorch's default Linear initialisation, as the reference code. Default
    ``s = 10``; recommended learning rate 1e-3 to 2e-3 (WIRE's comparison code).
    """

    def __init__(self, in_dim: int, out_dim: int, width: int = 256, depth: int = 4, scale: float = 10.0):
        super().__init__()
        _check_size("Gauss", width, depth)
        self.in_dim, self.out_dim, self.scale = in_dim, out_dim, scale
        self.layers = nn.ModuleList([nn.Linear(in_dim if i == 0 else width, width) for i in range(depth)])
        self.out = nn.Linear(width, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for layer in self.layers:
            h = torch.exp(-(self.scale * layer(h)).square())
        return self.out(h)


class Wire(nn.Module):
    """WIRE: complex Gabor wavelets ``exp(j ω0 z − |s0 z|²)`` (Saragadam et al. 2023).

    The first layer is real, later layers and the last layer complex; the output
    is the real part. The hidden width is ``width / √2`` so the parameter count
    matches a real network of ``width`` (as the reference code does). Defaults
    ``ω0 = 20``, ``s0 = 30`` (the paper's image-representation setting);
    recommended learning rate 5e-3 to 2e-2 with an exponential decay to 0.1x.
    """

    def __init__(
        self, in_dim: int, out_dim: int, width: int = 256, depth: int = 4, omega: float = 20.0, sigma: float = 30.0
    ):
        super().__init__()
        _check_size("Wire", width, depth, min_width=2)
        self.in_dim, self.out_dim, self.omega, self.sigma = in_dim, out_dim, omega, sigma
        w = int(width / math.sqrt(2))
        self.first = nn.Linear(in_dim, w)
        self.layers = nn.ModuleList([nn.Linear(w, w, dtype=torch.cfloat) for _ in range(depth - 1)])
        self.out = nn.Linear(w, out_dim, dtype=torch.cfloat)

    def _gabor(self, z: torch.Tensor) -> torch.Tensor:
        return torch.exp(1j * self.omega * z - (self.sigma * z).abs().square())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self._gabor(self.first(x))  # complex (..., w)
        for layer in self.layers:
            h = self._gabor(layer(h))
        return self.out(h).real


class Finer(nn.Module):
    """FINER: variable-periodic ``sin(ω0 (|z| + 1) z)`` (Liu et al. 2024), linear last layer.

    SIREN's weight initialisation; the first layer's bias is drawn from the wider
    ``U(-k, k)`` (``first_bias_scale``), which spreads the first layer's local
    frequencies ``ω0 (2|z| + 1) W``. Defaults are the authors' image script:
    ``k = 20`` with a first-layer ``ω0 = 1`` (with ω0 = 30 and k = 20 the first
    layer's frequencies exceed any image's Nyquist and the fit is noise), hidden
    ``ω0 = 30``. The scale ``|z| + 1`` is treated as a constant in the backward
    pass, as in the reference code. Recommended learning rate 5e-4 with an
    exponential decay to 0.1x.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int = 256,
        depth: int = 4,
        first_omega: float = 1.0,
        hidden_omega: float = 30.0,
        first_bias_scale: float = 20.0,
    ):
        super().__init__()
        _check_size("Finer", width, depth)
        self.in_dim, self.out_dim = in_dim, out_dim
        self.omegas = [first_omega] + [hidden_omega] * (depth - 1)
        self.layers = nn.ModuleList(
            [siren_init_(nn.Linear(in_dim if i == 0 else width, width), hidden_omega, i == 0) for i in range(depth)]
        )
        with torch.no_grad():
            self.layers[0].bias.uniform_(-first_bias_scale, first_bias_scale)
        self.out = siren_init_(nn.Linear(width, out_dim), hidden_omega)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for omega, layer in zip(self.omegas, self.layers):
            z = layer(h)
            h = torch.sin(omega * (z.detach().abs() + 1) * z)
        return self.out(h)


class _MFN(nn.Module):
    """Multiplicative filter network (Fathony et al. 2021): ``z_1 = g_1(x)``,
    ``z_{i+1} = g_{i+1}(x) * (W_i z_i + b_i)``, output ``W_out z_n + b``. No
    activation anywhere: the filters' products build a sum of sinusoids.
    Hidden weights ``U(±√(1/width))``.
    """

    def _init_linears(self, width: int, depth: int, out_dim: int):
        self.linears = nn.ModuleList([nn.Linear(width, width) for _ in range(depth - 1)])
        bound = math.sqrt(1.0 / width)
        with torch.no_grad():
            for lin in self.linears:
                lin.weight.uniform_(-bound, bound)
        self.out = nn.Linear(width, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.filter(0, x)
        for i, lin in enumerate(self.linears):
            z = self.filter(i + 1, x) * lin(z)
        return self.out(z)


class FourierNet(_MFN):
    """MFN with sine filters ``g(x) = sin(Ω x + φ)``; ``Ω`` is PyTorch's default
    init times ``input_scale / √depth``, ``φ ~ U(-π, π)``. ``depth`` counts filters.
    Defaults as the paper's image experiment (256 wide, 4 filters, input scale 256);
    recommended learning rate 1e-2.
    """

    def __init__(self, in_dim: int, out_dim: int, width: int = 256, depth: int = 4, input_scale: float = 256.0):
        super().__init__()
        _check_size("FourierNet", width, depth)
        self.in_dim, self.out_dim = in_dim, out_dim
        self.filters = nn.ModuleList([nn.Linear(in_dim, width) for _ in range(depth)])
        with torch.no_grad():
            for f in self.filters:
                f.weight.mul_(input_scale / math.sqrt(depth))
                f.bias.uniform_(-math.pi, math.pi)
        self._init_linears(width, depth, out_dim)

    def filter(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.filters[i](x))


class GaborNet(_MFN):
    """MFN with Gabor filters ``g(x) = exp(-γ/2 ‖x − μ‖²) sin(Ω x + φ)``.

    ``μ ~ U(-1, 1)``, ``γ ~ Gamma(α / depth, β)``, ``Ω`` as FourierNet's times ``√γ``
    (the paper's initialisation, α = 6, β = 1). Recommended learning rate 1e-2.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int = 256,
        depth: int = 4,
        input_scale: float = 256.0,
        alpha: float = 6.0,
        beta: float = 1.0,
    ):
        super().__init__()
        _check_size("GaborNet", width, depth)
        self.in_dim, self.out_dim = in_dim, out_dim
        self.filters = nn.ModuleList([nn.Linear(in_dim, width) for _ in range(depth)])
        self.mu = nn.ParameterList([nn.Parameter(torch.rand(width, in_dim) * 2 - 1) for _ in range(depth)])
        gamma = torch.distributions.Gamma(torch.tensor(alpha / depth), torch.tensor(beta))
        self.gamma = nn.ParameterList([nn.Parameter(gamma.sample((width,))) for _ in range(depth)])
        with torch.no_grad():
            for f, g in zip(self.filters, self.gamma):
                f.weight.mul_(input_scale / math.sqrt(depth) * g.sqrt()[:, None])
                f.bias.uniform_(-math.pi, math.pi)
        self._init_linears(width, depth, out_dim)

    def filter(self, i: int, x: torch.Tensor) -> torch.Tensor:
        mu, gamma = self.mu[i], self.gamma[i]
        d2 = x.square().sum(-1, keepdim=True) + mu.square().sum(-1) - 2 * x @ mu.T  # (..., width) = ‖x − μ‖²
        return torch.sin(self.filters[i](x)) * torch.exp(-0.5 * d2 * gamma)


class Bacon(_MFN):
    """BACON: a band-limited FourierNet with an output after every filter (Lindell et al. 2022).

    Filter frequencies are fixed (not trained) on the lattice ``k/2`` cycles per
    unit (the period of the ``[-1, 1]`` domain), drawn uniformly in
    ``[-b_i, b_i]`` per axis; phases are trained. The bandwidths are split so that
    output ``i`` holds frequencies up to ``max_frequency / 2^(depth-1-i)``: one fit
    gives ``depth`` scales, each band-limited (``outputs(x)``), and ``forward``
    returns the finest. ``max_frequency`` is in cycles per unit length (an image of
    N pixels across ``[-1, 1]`` has Nyquist ``N / 4``). Recommended learning rate 1e-2.
    Training on the sum of every scale's error (``multiscale_loss``) as the paper does.
    """

    multiscale_loss = True

    def __init__(
        self, in_dim: int, out_dim: int, width: int = 256, depth: int = 4, max_frequency: float = 64.0, seed: int = 0
    ):
        super().__init__()
        if depth < 1 or width < 1 or max_frequency <= 0:
            raise ValueError("Bacon needs depth >= 1, width >= 1 and max_frequency > 0")
        self.in_dim, self.out_dim, self.max_frequency = in_dim, out_dim, max_frequency
        cumulative = [max_frequency / 2 ** (depth - 1 - i) for i in range(depth)]
        self.bandwidths = [cumulative[0]] + [cumulative[i] - cumulative[i - 1] for i in range(1, depth)]
        g = torch.Generator().manual_seed(seed)
        freqs = []
        for b in self.bandwidths:
            k = max(int(b * 2), 0)  # lattice steps of 1/2 within [-b, b]
            freqs.append(torch.randint(-k, k + 1, (width, in_dim), generator=g).float() / 2)
        self.register_buffer("freqs", torch.stack(freqs))  # (depth, width, in_dim), cycles per unit
        self.phases = nn.Parameter(torch.rand(depth, width, generator=g) * 2 * math.pi - math.pi)
        self._init_linears(width, depth, out_dim)
        self.outs = nn.ModuleList([nn.Linear(width, out_dim) for _ in range(depth - 1)])

    def filter(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(2 * math.pi * x @ self.freqs[i].T + self.phases[i])

    def outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every scale, coarsest first: ``depth`` tensors ``(..., out_dim)``."""
        z = self.filter(0, x)
        outs = []
        for i, lin in enumerate(self.linears):
            outs.append(self.outs[i](z))
            z = self.filter(i + 1, x) * lin(z)
        outs.append(self.out(z))
        return outs


NETWORKS: dict[str, type[NetworkConfig]] = NetworkConfig.registry
"""Network kind name -> its config class (:class:`~inrkit.configs.NetworkConfig` reads any of them)."""


@dataclass
class MLPConfig(NetworkConfig):
    """:class:`MLP`: ``depth`` hidden layers of ``width`` with one activation, a linear last layer.

    Examples:
        >>> net = MLPConfig(width=64, depth=2).build(32, 1)
        >>> sum(p.numel() for p in net.parameters())  # (32 + 1) * 64 + (64 + 1) * 64 + (64 + 1) * 1
        6337
    """

    kind = "mlp"
    width: int = 256
    """Hidden width."""
    depth: int = 4
    """Number of hidden (activated) layers."""
    activation: str = "relu"
    """relu, leaky_relu, gelu, silu, softplus or tanh."""
    skips: tuple[int, ...] = ()
    """Hidden layers (0-based) whose input is also the network's input; NeRF's network is ``(5,)``."""
    init: str = "torch"
    """Weight initialisation: torch (PyTorch's default) or glorot (JAX stax's, as the Fourier-features paper)."""

    def __post_init__(self):
        self.skips = tuple(self.skips)  # a list, from JSON

    def build(self, in_dim: int, out_dim: int) -> MLP:
        return MLP(in_dim, out_dim, self.width, self.depth, self.activation, self.skips, self.init)


@dataclass
class SirenConfig(NetworkConfig):
    """:class:`Siren`: ``depth`` sine layers of ``width`` and a linear last layer.

    Examples:
        >>> SirenConfig(width=16, depth=2, first_omega=3000.0).build(1, 1).layers[0].omega
        3000.0
    """

    kind = "siren"
    width: int = 256
    """Hidden width."""
    depth: int = 4
    """Number of sine layers (the SIREN code's ``hidden_layers=3`` is 4)."""
    first_omega: float = 30.0
    """ω0 of the first layer."""
    hidden_omega: float = 30.0
    """ω0 of the other sine layers (and the scale of the last layer's initialisation)."""

    def build(self, in_dim: int, out_dim: int) -> Siren:
        return Siren(in_dim, out_dim, self.width, self.depth, self.first_omega, self.hidden_omega)


@dataclass
class GaussConfig(NetworkConfig):
    """:class:`Gauss`: Gaussian activations ``exp(-(scale z)²)``.

    Examples:
        >>> len(GaussConfig(width=8, depth=3).build(2, 1).layers)
        3
    """

    kind = "gauss"
    width: int = 256
    """Hidden width."""
    depth: int = 4
    """Number of hidden (activated) layers."""
    scale: float = 10.0
    """s in ``exp(-(s z)²)``."""

    def build(self, in_dim: int, out_dim: int) -> Gauss:
        return Gauss(in_dim, out_dim, self.width, self.depth, self.scale)


@dataclass
class WireConfig(NetworkConfig):
    """:class:`Wire`: complex Gabor wavelets ``exp(j omega z - |sigma z|²)``, hidden width ``width / √2``.

    Examples:
        >>> WireConfig(width=256, depth=3).build(2, 1).first.out_features
        181
    """

    kind = "wire"
    width: int = 256
    """Width of the real network of the same parameter count (the hidden width is ``width / √2``)."""
    depth: int = 4
    """Number of hidden (activated) layers."""
    omega: float = 20.0
    """ω0, the wavelets' frequency, in every layer."""
    sigma: float = 30.0
    """s0, the wavelets' inverse width, in every layer."""

    def build(self, in_dim: int, out_dim: int) -> Wire:
        return Wire(in_dim, out_dim, self.width, self.depth, self.omega, self.sigma)


@dataclass
class FinerConfig(NetworkConfig):
    """:class:`Finer`: variable-periodic ``sin(ω0 (|z| + 1) z)`` layers, SIREN's initialisation.

    Examples:
        >>> FinerConfig(width=8, depth=2).build(2, 1).omegas
        [1.0, 30.0]
    """

    kind = "finer"
    width: int = 256
    """Hidden width."""
    depth: int = 4
    """Number of hidden (activated) layers."""
    first_omega: float = 1.0
    """ω0 of the first layer."""
    hidden_omega: float = 30.0
    """ω0 of the other layers (and the scale of SIREN's initialisation of every layer after the first)."""
    first_bias_scale: float = 20.0
    """k: the first layer's bias is drawn from ``U(-k, k)``."""

    def build(self, in_dim: int, out_dim: int) -> Finer:
        return Finer(in_dim, out_dim, self.width, self.depth, self.first_omega, self.hidden_omega,
                     self.first_bias_scale)


@dataclass
class FourierNetConfig(NetworkConfig):
    """:class:`FourierNet`: a multiplicative filter network with sine filters.

    Examples:
        >>> len(FourierNetConfig(width=8, depth=3).build(2, 1).filters)
        3
    """

    kind = "fourier-net"
    width: int = 256
    """Hidden width."""
    depth: int = 4
    """Number of filters."""
    input_scale: float = 256.0
    """Scale of the filters' frequencies."""

    def build(self, in_dim: int, out_dim: int) -> FourierNet:
        return FourierNet(in_dim, out_dim, self.width, self.depth, self.input_scale)


@dataclass
class GaborNetConfig(NetworkConfig):
    """:class:`GaborNet`: a multiplicative filter network with Gabor filters.

    Examples:
        >>> len(GaborNetConfig(width=8, depth=3).build(2, 1).filters)
        3
    """

    kind = "gabor-net"
    width: int = 256
    """Hidden width."""
    depth: int = 4
    """Number of filters."""
    input_scale: float = 256.0
    """Scale of the filters' frequencies."""
    alpha: float = 6.0
    """Shape of the filters' inverse squared widths, ``γ ~ Gamma(alpha / depth, beta)``."""
    beta: float = 1.0
    """Rate of the filters' ``γ ~ Gamma(alpha / depth, beta)``."""

    def build(self, in_dim: int, out_dim: int) -> GaborNet:
        return GaborNet(in_dim, out_dim, self.width, self.depth, self.input_scale, self.alpha, self.beta)


@dataclass
class BaconConfig(NetworkConfig):
    """:class:`Bacon`: a band-limited FourierNet with an output at every scale.

    Examples:
        >>> BaconConfig(width=8, depth=3, max_frequency=16.0).build(2, 1).bandwidths
        [4.0, 4.0, 8.0]
    """

    kind = "bacon"
    width: int = 256
    """Hidden width."""
    depth: int = 4
    """Number of filters, and of outputs (scales)."""
    max_frequency: float = 0.0
    """Highest frequency in cycles per unit; 0: :func:`inrkit.make_field` takes the signal's Nyquist."""
    seed: int = 0
    """Seed of the fixed filter frequencies."""

    def build(self, in_dim: int, out_dim: int) -> Bacon:
        if self.max_frequency <= 0:
            raise ValueError("bacon needs max_frequency > 0 (make_field sets it from the signal when 0)")
        return Bacon(in_dim, out_dim, self.width, self.depth, self.max_frequency, self.seed)


NETWORK_KINDS = tuple(NETWORKS)
