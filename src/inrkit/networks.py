"""Networks: ``(..., in_dim) -> (..., out_dim)``, built from plain arguments.

``depth`` always counts the activated (hidden) layers of width ``width``; a
final linear layer maps to ``out_dim``. The SIREN repository's
``hidden_layers=3`` network is ``depth=4`` here (first layer plus three).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["MLP", "Siren", "SineLayer", "NetworkConfig", "ACTIVATIONS"]

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

    ``skips`` lists hidden layers whose input is concatenated with the
    network's input, as NeRF does at layer 4 (0-based, counted from the first
    hidden layer). PyTorch's default Linear initialisation.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int = 256,
        depth: int = 4,
        activation: str = "relu",
        skips: tuple[int, ...] = (),
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
        if depth < 1 or width < 1:
            raise ValueError("MLP needs depth >= 1 and width >= 1")
        self.in_dim, self.out_dim, self.skips = in_dim, out_dim, tuple(skips)
        self.layers = nn.ModuleList()
        for i in range(depth):
            n_in = in_dim if i == 0 else width
            if i in self.skips and i > 0:
                n_in += in_dim
            self.layers.append(nn.Linear(n_in, width))
        self.act = ACTIVATIONS[activation]()
        self.out = nn.Linear(width, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for i, layer in enumerate(self.layers):
            if i in self.skips and i > 0:
                h = torch.cat([h, x], dim=-1)  # (..., width + in_dim)
            h = self.act(layer(h))
        return self.out(h)


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
        self.linear = nn.Linear(in_dim, out_dim)
        bound = 1 / in_dim if is_first else math.sqrt(6 / in_dim) / omega
        with torch.no_grad():
            self.linear.weight.uniform_(-bound, bound)

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
        if depth < 1 or width < 1:
            raise ValueError("Siren needs depth >= 1 and width >= 1")
        self.in_dim, self.out_dim = in_dim, out_dim
        layers = [SineLayer(in_dim, width, first_omega, is_first=True)]
        layers += [SineLayer(width, width, hidden_omega) for _ in range(depth - 1)]
        self.layers = nn.Sequential(*layers)
        self.out = nn.Linear(width, out_dim)
        bound = math.sqrt(6 / width) / hidden_omega
        with torch.no_grad():
            self.out.weight.uniform_(-bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.layers(x))


@dataclass
class NetworkConfig:
    """Which network, with its arguments."""

    kind: str = "mlp"
    """mlp | siren."""
    width: int = 256
    """Hidden width."""
    depth: int = 4
    """Number of hidden (activated) layers."""
    activation: str = "relu"
    """mlp: relu, leaky_relu, gelu, silu, softplus or tanh."""
    skips: tuple[int, ...] = field(default_factory=tuple)
    """mlp: hidden layers that also take the network input (NeRF: (4,))."""
    first_omega: float = 30.0
    """siren: ω0 of the first layer."""
    hidden_omega: float = 30.0
    """siren: ω0 of the hidden layers."""

    def build(self, in_dim: int, out_dim: int) -> nn.Module:
        if self.kind == "mlp":
            return MLP(in_dim, out_dim, self.width, self.depth, self.activation, tuple(self.skips))
        if self.kind == "siren":
            return Siren(in_dim, out_dim, self.width, self.depth, self.first_omega, self.hidden_omega)
        raise ValueError(f"unknown network kind {self.kind!r}; expected mlp or siren")
