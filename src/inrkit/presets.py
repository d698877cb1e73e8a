"""Named, paper-faithful setups: a field configuration and its optimiser, in one table.

:data:`PRESETS` maps each name to a :class:`Preset` (a :class:`NerfPreset` for radiance fields,
which also carries the ray sampler), written once from the shared building blocks below
(``_hashgrid()``, ``_ngp_optim()``, ...). A task's default that is the same recipe as another
preset is an alias of it (:data:`ALIASES`), not a copy: ``ct``, ``mri``, ``ngp-sdf`` and
``ngp-occupancy`` are ``ngp``, whose finest hash-grid level :func:`inrkit.make_field` takes from
the signal (an image's size, CT's image size, MRI's half the largest side, a shape's detail).
The radiance-field presets are ``nerf-ngp``, ``nerf-tensorf`` and ``nerf``; for signals of kind
``nerf`` :func:`get_preset` reads ``ngp`` as ``nerf-ngp`` (:data:`KIND_ALIASES`), so
``inrkit fit nerf --preset ngp`` means what it always did. ``inrkit presets`` lists them all.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

from .encodings import (BasicConfig, FFNPositionalConfig, GaussianFourierConfig, HashGridConfig, IdentityConfig,
                        PositionalConfig, SHConfig, VMConfig)
from .errors import InrkitError
from .fields import FieldConfig, RadianceFieldConfig
from .nerf.render import NerfRenderConfig
from .networks import (BaconConfig, FinerConfig, FourierNetConfig, GaborNetConfig, GaussConfig, MLPConfig,
                       SirenConfig, WireConfig)
from .train import OptimConfig  # the fit loop's; re-exported here, where it was defined before

__all__ = ["Preset", "NerfPreset", "OptimConfig", "PRESETS", "ALIASES", "KIND_ALIASES", "aliases",
           "check_preset_kind", "get_nerf_preset", "get_preset", "preset_table", "resolve_preset"]


@dataclass
class Preset:
    """A named recipe: a field configuration and its optimiser, for the kinds of signal it is made for.

    Examples:
        >>> p = get_preset("siren")
        >>> p.field.network.first_omega, p.optim.lr
        (30.0, 0.0001)
    """

    name: str
    """The name ``--preset`` takes."""
    description: str
    """One line for ``inrkit presets``: the recipe, its numbers and its paper."""
    field: FieldConfig
    """The field (:func:`inrkit.make_field` fills a hash grid's finest level and BACON's band from the signal)."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """Adam and its learning-rate schedule."""
    kinds: tuple[str, ...] = ()
    """The kinds of signal (``inrkit fit KIND``) the preset is made for; empty: any."""

    def copy(self) -> "Preset":
        """A deep copy, safe to modify."""
        return dataclasses.replace(self, field=type(self.field).from_dict(self.field.to_dict()),
                                   optim=dataclasses.replace(self.optim))


@dataclass
class NerfPreset(Preset):
    """A radiance-field preset: ``field`` is a :class:`~inrkit.fields.RadianceFieldConfig`, and
    ``render`` says how rays are sampled and rendered."""

    render: NerfRenderConfig = field(default_factory=NerfRenderConfig)
    """The ray sampler and renderer's settings."""

    def copy(self) -> "NerfPreset":
        return dataclasses.replace(super().copy(), render=dataclasses.replace(self.render))


# ---------------------------------------------------------------- building blocks


def _ngp_optim(lr: float = 1e-2) -> OptimConfig:
    # Instant-NGP's Adam (β = (0.9, 0.99), ε = 1e-15). The decay to a tenth is ours: at a constant 1e-2
    # an image fit oscillates between 35 and 70 dB once past ~55 dB.
    return OptimConfig(lr=lr, betas=(0.9, 0.99), eps=1e-15, schedule="exponential", final_lr_ratio=0.1)


def _decaying(lr: float) -> OptimConfig:
    """Adam at ``lr``, decaying exponentially to a tenth of it."""
    return OptimConfig(lr=lr, schedule="exponential", final_lr_ratio=0.1)


def _hashgrid(finest_resolution: int = 0) -> HashGridConfig:
    # Instant-NGP (Müller et al. 2022): 16 levels x 2 features, at most 2^19 rows a level, coarsest 16;
    # finest 0: make_field takes the signal's resolution.
    return HashGridConfig(n_levels=16, n_features=2, log2_hashmap_size=19, base_resolution=16,
                          finest_resolution=finest_resolution)


def _ffn(encoding) -> FieldConfig:
    # Fourier-features paper (Tancik et al. 2020, Sec. 6, supp. A; the authors' 2d_image_regression
    # notebook): "4 layers of 256" are four Dense layers, three hidden ReLU layers of 256 and the
    # output, through a sigmoid; JAX stax's Glorot-normal initialisation.
    return FieldConfig(encoding, MLPConfig(width=256, depth=3, activation="relu", init="glorot"), output="sigmoid")


def _raw(network) -> FieldConfig:
    """``network`` on the raw coordinates with a linear output: the activation families' setup."""
    return FieldConfig(IdentityConfig(), network)


def _ngp_radiance(encoding) -> RadianceFieldConfig:
    # Instant-NGP's radiance field: a 1x64 density MLP whose 15 further outputs feed, with the
    # directions' degree-4 spherical harmonics, a 2x64 colour MLP; truncated-exp density.
    return RadianceFieldConfig(encoding, MLPConfig(width=64, depth=1), 15, SHConfig(degree=4),
                               MLPConfig(width=64, depth=2), "exp")


# What each preset is made for. The image networks' frequencies (SIREN's ω0 = 30, σ = 10, ...) suit a few
# hundred samples per axis: on a sound of 10^5 samples they fit noise (siren on audio: SNR -3.9 dB).
_FIELD_KINDS = ("image", "video", "volume", "ct", "mri")

# ---------------------------------------------------------------- the table

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "relu",
            "3 hidden ReLU layers of 256 + sigmoid output on raw coordinates (no mapping), Adam 1e-3: "
            "the Fourier-features paper's baseline",
            _ffn(IdentityConfig()),
            kinds=_FIELD_KINDS,
        ),
        Preset(
            "ffn-basic",
            "basic Fourier mapping [cos 2πv, sin 2πv] + the paper's ReLU network (3x256 + output), Adam 1e-3 "
            "(Tancik et al. 2020)",
            _ffn(BasicConfig()),
            kinds=_FIELD_KINDS,
        ),
        Preset(
            "ffn-pe",
            "Fourier-features positional encoding, scale 6, m=256 + the paper's ReLU network, Adam 1e-3 "
            "(Tancik et al. 2020)",
            _ffn(FFNPositionalConfig(m=256, scale=6.0)),
            kinds=_FIELD_KINDS,
        ),
        Preset(
            "ffn-gauss",
            "Gaussian Fourier features σ=10, m=256 + the paper's ReLU network, Adam 1e-3 (Tancik et al. 2020)",
            _ffn(GaussianFourierConfig(m=256, sigma=10.0, seed=0)),
            kinds=_FIELD_KINDS,
        ),
        Preset(
            "nerf-pe",
            "NeRF positional encoding, 10 octaves with the raw input + the Fourier-features paper's ReLU network, "
            "Adam 1e-3",
            _ffn(PositionalConfig(n_frequencies=10, include_input=True)),
            kinds=_FIELD_KINDS,
        ),
        Preset(
            "siren",
            "SIREN: 4 sine layers of 256 (the paper's 3 hidden), ω0=30, linear output, Adam 1e-4 (Sitzmann et al. "
            "2020: images, Poisson, and signed distances as siren-sdf, Sec. 4.2)",
            _raw(SirenConfig(width=256, depth=4, first_omega=30.0, hidden_omega=30.0)),
            OptimConfig(lr=1e-4),
            (*_FIELD_KINDS, "poisson", "sdf"),
        ),
        Preset(
            "ngp",
            "Instant-NGP hash grid (16 levels x 2 features, 2^19 rows, coarsest 16, finest = the signal's "
            "resolution: an image's size, CT's image size, MRI's half the largest side, a shape's --detail) "
            "+ 2x64 ReLU, Adam 1e-2 β=(0.9, 0.99) ε=1e-15 decaying to 1e-3",
            FieldConfig(_hashgrid(), MLPConfig(width=64, depth=2, activation="relu")),
            _ngp_optim(),
            (*_FIELD_KINDS, "audio", "sdf", "occupancy"),
        ),
        Preset(
            "gauss",
            "Gaussian activations exp(-(10z)²), 4 layers of 256, Adam 1e-3 decaying to 1e-4 (Ramasinghe & Lucey 2022)",
            _raw(GaussConfig(width=256, depth=4, scale=10.0)),
            _decaying(1e-3),
            _FIELD_KINDS,
        ),
        Preset(
            "wire",
            "WIRE complex Gabor wavelets ω0=20, s0=30, 3 layers of 256/√2, Adam 5e-3 decaying to 5e-4 "
            "(Saragadam et al. 2023)",
            _raw(WireConfig(width=256, depth=3, omega=20.0, sigma=30.0)),
            _decaying(5e-3),
            _FIELD_KINDS,
        ),
        Preset(
            "finer",
            "FINER sin(ω0(|z|+1)z), first ω0=1 with bias U(±20), hidden ω0=30, 4 layers of 256, "
            "Adam 5e-4 decaying to 5e-5 (Liu et al. 2024)",
            _raw(FinerConfig(width=256, depth=4, first_omega=1.0, hidden_omega=30.0, first_bias_scale=20.0)),
            _decaying(5e-4),
            (*_FIELD_KINDS, "poisson"),
        ),
        Preset(
            "fourier-net",
            "multiplicative filter network with sine filters, 4 filters of 256, input scale 256, Adam 1e-2 "
            "(Fathony et al. 2021)",
            _raw(FourierNetConfig(width=256, depth=4, input_scale=256.0)),
            OptimConfig(lr=1e-2),
            _FIELD_KINDS,
        ),
        Preset(
            "gabor-net",
            "multiplicative filter network with Gabor filters, 4 filters of 256, input scale 256, α=6, Adam 1e-2 "
            "(Fathony et al. 2021)",
            _raw(GaborNetConfig(width=256, depth=4, input_scale=256.0, alpha=6.0, beta=1.0)),
            OptimConfig(lr=1e-2),
            _FIELD_KINDS,
        ),
        Preset(
            "bacon",
            "BACON band-limited MFN, 4 filters of 256, outputs at 1/8, 1/4, 1/2 and all of the signal's Nyquist, "
            "Adam 1e-2 (Lindell et al. 2022)",
            _raw(BaconConfig(width=256, depth=4, max_frequency=0.0, seed=0)),
            OptimConfig(lr=1e-2),
            _FIELD_KINDS,
        ),
        Preset(
            "siren-audio",
            "SIREN for sound: 4 sine layers of 256, first-layer ω0=3000 on [-1, 1] time, hidden ω0=30, Adam 1e-4 "
            "(Sitzmann et al. 2020, audio)",
            _raw(SirenConfig(width=256, depth=4, first_omega=3000.0, hidden_omega=30.0)),
            OptimConfig(lr=1e-4),
            ("audio",),
        ),
        # Shapes (`inrkit fit sdf`, `inrkit fit occupancy`) have a linear output: a distance or a logit.
        Preset(
            "ffn-occupancy",
            "occupancy: Gaussian Fourier features σ=12, m=256 + 8x256 ReLU, logit output, Adam 5e-4 "
            "(Tancik et al. 2020, 3D shapes)",
            FieldConfig(GaussianFourierConfig(m=256, sigma=12.0, seed=0), MLPConfig(width=256, depth=8)),
            OptimConfig(lr=5e-4),
            ("occupancy",),
        ),
        # Radiance fields (`inrkit fit nerf`).
        NerfPreset(
            "nerf-ngp",
            "Instant-NGP: hash grid (16 levels x 2, 2^19 rows, 16..1024) + 1x64 density and 2x64 colour MLPs, "
            "SH directions, occupancy grid with early ray termination, Adam 1e-2 decaying to 1e-3",
            _ngp_radiance(_hashgrid(finest_resolution=1024)),
            _ngp_optim(),
            ("nerf",),
        ),
        NerfPreset(
            "nerf-tensorf",
            "TensoRF-style vector-matrix planes (3 x 16 components at 192²) + the ngp MLPs and occupancy grid: "
            "the fastest on a CPU, Adam 2e-2 decaying to 2e-3",
            _ngp_radiance(VMConfig(n_components=16, resolution=192, seed=0)),
            _ngp_optim(lr=2e-2),
            ("nerf",),
        ),
        NerfPreset(
            "nerf",
            "original NeRF: positional encoding (10 octaves; directions 4) + 8x256 ReLU, the input joining the "
            "5th layer's output, view branch of 128; a coarse and a fine network (64 stratified + 128 importance "
            "samples), Adam 5e-4 decaying to 5e-5",
            RadianceFieldConfig(
                PositionalConfig(n_frequencies=10, include_input=True),
                MLPConfig(width=256, depth=8, skips=(5,)),  # the 6th layer takes [h, x] (NeRF's code: skips=[4])
                256,
                PositionalConfig(n_frequencies=4, include_input=True),
                MLPConfig(width=128, depth=1),
                "relu",
                coarse_network=True,  # the paper's separate coarse network
            ),
            _decaying(5e-4),
            ("nerf",),
            render=NerfRenderConfig(sampler="hierarchical", coarse_samples=64, fine_samples=128, chunk_size=2048),
        ),
    ]
}

# Other names of the recipes above. Tasks' defaults: CT and MRI take ngp, chosen by benchmarks/ct.py and
# benchmarks/mri.py (BENCHMARKS.md: hash grids fit the observed projections / coefficients fastest on a
# CPU); shapes take Instant-NGP's SDF setup (Müller et al. 2022, Sec. 5.2), which is ngp too.
ALIASES: dict[str, str] = {
    "ct": "ngp",
    "mri": "ngp",
    "ngp-sdf": "ngp",
    "ngp-occupancy": "ngp",
    "siren-sdf": "siren",
    "tensorf": "nerf-tensorf",
}
"""Another name of a preset -> its name in :data:`PRESETS`."""
KIND_ALIASES: dict[str, dict[str, str]] = {"nerf": {"ngp": "nerf-ngp"}}
"""Kind of signal -> names that mean another preset for that kind (``inrkit fit nerf --preset ngp``)."""


def aliases(name: str) -> list[str]:
    """The other names of the preset ``name``, the kind-specific ones included.

    Examples:
        >>> aliases("ngp")
        ['ct', 'mri', 'ngp-sdf', 'ngp-occupancy']
        >>> aliases("nerf-ngp")
        ['ngp']
    """
    table = [*ALIASES.items(), *(item for by_kind in KIND_ALIASES.values() for item in by_kind.items())]
    return [alias for alias, target in table if target == name]


def preset_table(kind: str | None = None) -> list[tuple[tuple[str, ...], list[tuple[str, str, list[str]]]]]:
    """The presets grouped by the kinds of signal they are made for (with ``kind``, only those for it):
    ``[(kinds, [(name, description, other names), ...]), ...]``, as ``inrkit presets`` lists them.

    Examples:
        >>> [(kinds, [name for name, _, _ in group]) for kinds, group in preset_table("nerf")]
        [(('nerf',), ['nerf-ngp', 'nerf-tensorf', 'nerf'])]
    """
    groups: dict[tuple[str, ...], list] = {}
    for p in PRESETS.values():
        if kind is None or kind in p.kinds:
            groups.setdefault(p.kinds, []).append((p.name, p.description, aliases(p.name)))
    return list(groups.items())


def resolve_preset(name: str, kind: str | None = None) -> str:
    """The name in :data:`PRESETS` that ``name`` means (for signals of ``kind``, when given).

    Examples:
        >>> resolve_preset("mri"), resolve_preset("ngp"), resolve_preset("ngp", kind="nerf")
        ('ngp', 'ngp', 'nerf-ngp')
    """
    resolved = KIND_ALIASES.get(kind, {}).get(name, name)
    resolved = ALIASES.get(resolved, resolved)
    if resolved not in PRESETS:
        raise InrkitError(f"unknown preset {name!r}; `inrkit presets` lists: {', '.join(PRESETS)} "
                          f"(and their other names {', '.join(ALIASES)})")
    return resolved


def get_preset(name: str, kind: str | None = None) -> Preset:
    """A copy of the preset ``name`` (safe to modify); with ``kind``, the one that name means for signals
    of that kind.

    An alias gives the preset it names (``get_preset("ct").name == "ngp"``). With ``kind``, a
    radiance-field preset for a kind other than ``nerf``, or the other way round, is an error: it
    cannot build that field.

    Examples:
        >>> get_preset("ngp").optim.lr
        0.01
        >>> get_preset("siren-audio").kinds
        ('audio',)
        >>> get_preset("ngp", kind="nerf").name
        'nerf-ngp'
    """
    preset = PRESETS[resolve_preset(name, kind)]
    if kind is not None and isinstance(preset, NerfPreset) != (kind == "nerf"):
        fitting = [p.name for p in PRESETS.values() if kind in p.kinds]
        what = "a radiance-field preset (for nerf)" if isinstance(preset, NerfPreset) else "not a radiance-field preset"
        raise InrkitError(f"preset {name!r} is {what}; presets for {kind}: {', '.join(fitting) or 'none'}")
    return preset.copy()


def get_nerf_preset(name: str) -> NerfPreset:
    """A copy of the radiance-field preset ``name``: ``get_preset(name, kind="nerf")``."""
    return get_preset(name, kind="nerf")


def check_preset_kind(preset: Preset, kind: str) -> None:
    """Warn (one line) when ``preset`` is not made for signals of ``kind``, naming the ones that are. A kind
    no preset names (one registered outside inrkit) has no such list, and no warning."""
    fitting = [p.name for p in PRESETS.values() if kind in p.kinds]
    if preset.kinds and kind not in preset.kinds and fitting:
        warnings.warn(f"preset {preset.name!r} is made for {', '.join(preset.kinds)} fits, not {kind}: expect a "
                      f"poor fit (presets for {kind}: {', '.join(fitting) or 'see inrkit presets'})")
