"""Named, paper-faithful setups: a field configuration and its optimiser.

``inrkit presets`` lists them with their one-line descriptions.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

from .encodings import EncodingConfig
from .errors import InrkitError
from .fields import FieldConfig
from .networks import NetworkConfig

__all__ = ["Preset", "OptimConfig", "PRESETS", "check_preset_kind", "get_preset"]


@dataclass
class OptimConfig:
    """Adam and its learning-rate schedule."""

    lr: float = 1e-3
    """Learning rate."""
    betas: tuple[float, float] = (0.9, 0.999)
    """Adam's betas."""
    eps: float = 1e-8
    """Adam's epsilon."""
    schedule: str = "none"
    """none | cosine | exponential (both decay to lr * final_lr_ratio at the last step)."""
    final_lr_ratio: float = 0.1
    """Learning rate at the last step, relative to lr, for the decaying schedules."""


@dataclass
class Preset:
    name: str
    description: str
    field: FieldConfig
    optim: OptimConfig = field(default_factory=OptimConfig)
    kinds: tuple[str, ...] = ()
    """The kinds of signal (``inrkit fit KIND``) the preset is made for; empty: any."""

    def copy(self) -> "Preset":
        return dataclasses.replace(
            self, field=FieldConfig.from_dict(self.field.to_dict()), optim=dataclasses.replace(self.optim)
        )


def _ffn(encoding: EncodingConfig) -> FieldConfig:
    # Fourier-features paper (Tancik et al. 2020, Sec. 6, supp. A; the authors' 2d_image_regression
    # notebook): "4 layers of 256" are four Dense layers, three hidden ReLU layers of 256 and the
    # output, through a sigmoid; JAX stax's Glorot-normal initialisation.
    return FieldConfig(encoding, NetworkConfig("mlp", width=256, depth=3, activation="relu", init="glorot"),
                       output="sigmoid")


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "relu",
            "3 hidden ReLU layers of 256 + sigmoid output on raw coordinates (no mapping), Adam 1e-3: "
            "the Fourier-features paper's baseline",
            _ffn(EncodingConfig("identity")),
        ),
        Preset(
            "ffn-basic",
            "basic Fourier mapping [cos 2πv, sin 2πv] + the paper's ReLU network (3x256 + output), Adam 1e-3 "
            "(Tancik et al. 2020)",
            _ffn(EncodingConfig("basic")),
        ),
        Preset(
            "ffn-pe",
            "Fourier-features positional encoding, scale 6, m=256 + the paper's ReLU network, Adam 1e-3 "
            "(Tancik et al. 2020)",
            _ffn(EncodingConfig("ffn-positional", m=256, scale=6.0)),
        ),
        Preset(
            "ffn-gauss",
            "Gaussian Fourier features σ=10, m=256 + the paper's ReLU network, Adam 1e-3 (Tancik et al. 2020)",
            _ffn(EncodingConfig("gaussian", m=256, sigma=10.0)),
        ),
        Preset(
            "nerf-pe",
            "NeRF positional encoding, 10 octaves with the raw input + the Fourier-features paper's ReLU network, "
            "Adam 1e-3",
            _ffn(EncodingConfig("positional", n_frequencies=10, include_input=True)),
        ),
        Preset(
            "siren",
            "SIREN: 4 sine layers of 256 (the paper's 3 hidden), ω0=30, linear output, Adam 1e-4 (Sitzmann et al. 2020)",
            FieldConfig(
                EncodingConfig("identity"),
                NetworkConfig("siren", width=256, depth=4, first_omega=30.0, hidden_omega=30.0),
            ),
            OptimConfig(lr=1e-4),
        ),
        Preset(
            "ngp",
            "Instant-NGP hash grid (16 levels x 2 features, 2^19 rows, coarsest 16, finest = signal size) "
            "+ 2x64 ReLU, Adam 1e-2 β=(0.9, 0.99) ε=1e-15 decaying to 1e-3",
            FieldConfig(
                EncodingConfig(
                    "hashgrid", n_levels=16, n_features=2, log2_hashmap_size=19, base_resolution=16, finest_resolution=0
                ),
                NetworkConfig("mlp", width=64, depth=2, activation="relu"),
            ),
            # The decay is ours: at a constant 1e-2 the fit oscillates between 35 and 70 dB once past ~55 dB.
            OptimConfig(lr=1e-2, betas=(0.9, 0.99), eps=1e-15, schedule="exponential", final_lr_ratio=0.1),
        ),
        Preset(
            "gauss",
            "Gaussian activations exp(-(10z)²), 4 layers of 256, Adam 1e-3 decaying to 1e-4 (Ramasinghe & Lucey 2022)",
            FieldConfig(EncodingConfig("identity"), NetworkConfig("gauss", width=256, depth=4, scale=10.0)),
            OptimConfig(lr=1e-3, schedule="exponential", final_lr_ratio=0.1),
        ),
        Preset(
            "wire",
            "WIRE complex Gabor wavelets ω0=20, s0=30, 3 layers of 256/√2, Adam 5e-3 decaying to 5e-4 (Saragadam et al. 2023)",
            FieldConfig(EncodingConfig("identity"), NetworkConfig("wire", width=256, depth=3, hidden_omega=20.0, scale=30.0)),
            OptimConfig(lr=5e-3, schedule="exponential", final_lr_ratio=0.1),
        ),
        Preset(
            "finer",
            "FINER sin(ω0(|z|+1)z), first ω0=1 with bias U(±20), hidden ω0=30, 4 layers of 256, "
            "Adam 5e-4 decaying to 5e-5 (Liu et al. 2024)",
            FieldConfig(
                EncodingConfig("identity"),
                NetworkConfig("finer", width=256, depth=4, first_omega=1.0, hidden_omega=30.0, first_bias_scale=20.0),
            ),
            OptimConfig(lr=5e-4, schedule="exponential", final_lr_ratio=0.1),
        ),
        Preset(
            "fourier-net",
            "multiplicative filter network with sine filters, 4 filters of 256, input scale 256, Adam 1e-2 (Fathony et al. 2021)",
            FieldConfig(EncodingConfig("identity"), NetworkConfig("fourier-net", width=256, depth=4, input_scale=256.0)),
            OptimConfig(lr=1e-2),
        ),
        Preset(
            "gabor-net",
            "multiplicative filter network with Gabor filters, 4 filters of 256, input scale 256, α=6, Adam 1e-2 (Fathony et al. 2021)",
            FieldConfig(
                EncodingConfig("identity"), NetworkConfig("gabor-net", width=256, depth=4, input_scale=256.0, alpha=6.0)
            ),
            OptimConfig(lr=1e-2),
        ),
        Preset(
            "bacon",
            "BACON band-limited MFN, 4 filters of 256, outputs at 1/8, 1/4, 1/2 and all of the signal's Nyquist, "
            "Adam 1e-2 (Lindell et al. 2022)",
            FieldConfig(EncodingConfig("identity"), NetworkConfig("bacon", width=256, depth=4, max_frequency=0.0)),
            OptimConfig(lr=1e-2),
        ),
        Preset(
            "siren-audio",
            "SIREN for sound: 4 sine layers of 256, first-layer ω0=3000 on [-1, 1] time, hidden ω0=30, Adam 1e-4 "
            "(Sitzmann et al. 2020, audio)",
            FieldConfig(
                EncodingConfig("identity"),
                NetworkConfig("siren", width=256, depth=4, first_omega=3000.0, hidden_omega=30.0),
            ),
            OptimConfig(lr=1e-4),
        ),
    ]
}


def _shape_hashgrid() -> FieldConfig:
    # Instant-NGP's SDF setup (Müller et al. 2022, Sec. 5.2): 16 levels x 2 features, 2^19 rows, 2x64 ReLU.
    return FieldConfig(
        EncodingConfig("hashgrid", n_levels=16, n_features=2, log2_hashmap_size=19, base_resolution=16,
                       finest_resolution=0),
        NetworkConfig("mlp", width=64, depth=2, activation="relu"),
    )


# Shapes (`inrkit fit sdf`, `inrkit fit occupancy`): fields with a linear output (a distance or a logit).
PRESETS.update(
    {
        p.name: p
        for p in [
            Preset(
                "ffn-occupancy",
                "occupancy: Gaussian Fourier features σ=12, m=256 + 8x256 ReLU, logit output, Adam 5e-4 "
                "(Tancik et al. 2020, 3D shapes)",
                FieldConfig(EncodingConfig("gaussian", m=256, sigma=12.0),
                            NetworkConfig("mlp", width=256, depth=8, activation="relu")),
                OptimConfig(lr=5e-4),
            ),
            Preset(
                "siren-sdf",
                "SDF: SIREN, 4 sine layers of 256 (the paper's 3 hidden), ω0=30, Adam 1e-4 (Sitzmann et al. 2020, Sec. 4.2)",
                FieldConfig(EncodingConfig("identity"),
                            NetworkConfig("siren", width=256, depth=4, first_omega=30.0, hidden_omega=30.0)),
                OptimConfig(lr=1e-4),
            ),
            Preset(
                "ngp-sdf",
                "SDF: Instant-NGP hash grid (16 levels x 2, 2^19 rows, coarsest 16, finest = --detail) + 2x64 ReLU, "
                "Adam 1e-2 β=(0.9, 0.99) ε=1e-15 decaying to 1e-3",
                _shape_hashgrid(),
                OptimConfig(lr=1e-2, betas=(0.9, 0.99), eps=1e-15, schedule="exponential", final_lr_ratio=0.1),
            ),
            Preset(
                "ngp-occupancy",
                "occupancy: Instant-NGP hash grid (as ngp-sdf) + 2x64 ReLU, logit output, Adam 1e-2 β=(0.9, 0.99) "
                "ε=1e-15 decaying to 1e-3",
                _shape_hashgrid(),
                OptimConfig(lr=1e-2, betas=(0.9, 0.99), eps=1e-15, schedule="exponential", final_lr_ratio=0.1),
            ),
        ]
    }
)


def get_preset(name: str) -> Preset:
    """A copy of the preset ``name`` (safe to modify).

    Examples:
        >>> get_preset("ngp").optim.lr
        0.01
        >>> get_preset("siren-audio").kinds
        ('audio',)
    """
    if name not in PRESETS:
        raise InrkitError(f"unknown preset {name!r}; `inrkit presets` lists: {', '.join(PRESETS)}")
    return PRESETS[name].copy()


# Inverse problems (CT, MRI): fields fitted through a forward model. Chosen by benchmarks/ct.py and
# benchmarks/mri.py (BENCHMARKS.md): hash grids fit the observed projections / coefficients fastest on a CPU.
PRESETS.update(
    {
        p.name: p
        for p in [
            Preset(
                "ct",
                "sparse-view CT: hash grid (16 levels x 2 features, coarsest 16, finest = image size) + 2x64 ReLU, "
                "Adam 1e-2 β=(0.9, 0.99) ε=1e-15 decaying to 1e-3",
                FieldConfig(
                    EncodingConfig(
                        "hashgrid", n_levels=16, n_features=2, log2_hashmap_size=19, base_resolution=16,
                        finest_resolution=0,
                    ),
                    NetworkConfig("mlp", width=64, depth=2, activation="relu"),
                ),
                OptimConfig(lr=1e-2, betas=(0.9, 0.99), eps=1e-15, schedule="exponential", final_lr_ratio=0.1),
            ),
            Preset(
                "mri",
                "undersampled MRI: hash grid (16 levels x 2 features, coarsest 16, finest = half the largest side) "
                "+ 2x64 ReLU, "
                "Adam 1e-2 β=(0.9, 0.99) ε=1e-15 decaying to 1e-3",
                FieldConfig(
                    EncodingConfig(
                        "hashgrid", n_levels=16, n_features=2, log2_hashmap_size=19, base_resolution=16,
                        finest_resolution=0,
                    ),
                    NetworkConfig("mlp", width=64, depth=2, activation="relu"),
                ),
                OptimConfig(lr=1e-2, betas=(0.9, 0.99), eps=1e-15, schedule="exponential", final_lr_ratio=0.1),
            ),
        ]
    }
)

# What each preset is made for. The image networks' frequencies (SIREN's ω0 = 30, σ = 10, ...) suit a few
# hundred samples per axis: on a sound of 10^5 samples they fit noise (siren on audio: SNR -3.9 dB).
_FIELD_KINDS = ("image", "video", "volume", "ct", "mri")
_KINDS = {
    **{name: _FIELD_KINDS for name in ("relu", "ffn-basic", "ffn-pe", "ffn-gauss", "nerf-pe", "gauss", "wire",
                                       "fourier-net", "gabor-net", "bacon")},
    "siren": (*_FIELD_KINDS, "poisson"),
    "finer": (*_FIELD_KINDS, "poisson"),
    "ngp": (*_FIELD_KINDS, "audio"),
    "siren-audio": ("audio",),
    "ct": ("ct",),
    "mri": ("mri",),
    "ffn-occupancy": ("occupancy",),
    "ngp-occupancy": ("occupancy",),
    "siren-sdf": ("sdf",),
    "ngp-sdf": ("sdf",),
}
for _name, _kinds in _KINDS.items():
    PRESETS[_name].kinds = _kinds


def check_preset_kind(preset: Preset, kind: str) -> None:
    """Warn (one line) when ``preset`` is not made for signals of ``kind``, naming the ones that are."""
    if preset.kinds and kind not in preset.kinds:
        fitting = [p.name for p in PRESETS.values() if kind in p.kinds]
        warnings.warn(f"preset {preset.name!r} is made for {', '.join(preset.kinds)} fits, not {kind}: expect a "
                      f"poor fit (presets for {kind}: {', '.join(fitting) or 'see inrkit presets'})")


# ---------------------------------------------------------------- radiance fields (inrkit fit nerf)


@dataclass
class NerfPreset(Preset):
    """A radiance-field preset: ``field`` is a :class:`RadianceFieldConfig`, ``render`` the ray sampler."""

    render: object = None

    def copy(self) -> "NerfPreset":
        from .fields import RadianceFieldConfig

        return dataclasses.replace(
            self,
            field=RadianceFieldConfig.from_dict(self.field.to_dict()),
            optim=dataclasses.replace(self.optim),
            render=dataclasses.replace(self.render),
        )


def _nerf_presets() -> dict[str, NerfPreset]:
    from .fields import RadianceFieldConfig
    from .signals.nerf import NerfRenderConfig

    ngp_optim = OptimConfig(lr=1e-2, betas=(0.9, 0.99), eps=1e-15, schedule="exponential", final_lr_ratio=0.1)
    presets = [
        NerfPreset(
            "ngp",
            "Instant-NGP: hash grid (16 levels x 2, 2^19 rows, 16..1024) + 1x64 density and 2x64 colour MLPs, "
            "SH directions, occupancy grid with early ray termination, Adam 1e-2 decaying to 1e-3",
            RadianceFieldConfig(
                EncodingConfig("hashgrid", n_levels=16, n_features=2, log2_hashmap_size=19, base_resolution=16,
                               finest_resolution=1024),
                NetworkConfig("mlp", width=64, depth=1),
                15,
                EncodingConfig("sh", degree=4),
                NetworkConfig("mlp", width=64, depth=2),
                "exp",
            ),
            ngp_optim,
            render=NerfRenderConfig(),
        ),
        NerfPreset(
            "tensorf",
            "TensoRF-style vector-matrix planes (3 x 16 components at 192²) + the ngp MLPs and occupancy grid: "
            "the fastest on a CPU, Adam 2e-2 decaying to 2e-3",
            RadianceFieldConfig(
                EncodingConfig("vm", n_features=16, finest_resolution=192),
                NetworkConfig("mlp", width=64, depth=1),
                15,
                EncodingConfig("sh", degree=4),
                NetworkConfig("mlp", width=64, depth=2),
                "exp",
            ),
            OptimConfig(lr=2e-2, betas=(0.9, 0.99), eps=1e-15, schedule="exponential", final_lr_ratio=0.1),
            render=NerfRenderConfig(),
        ),
        NerfPreset(
            "nerf",
            "original NeRF: positional encoding (10 octaves; directions 4) + 8x256 ReLU, the input re-entering at the 5th layer, "
            "view branch of 128; a coarse and a fine network (64 stratified + 128 importance samples), Adam 5e-4 decaying to 5e-5",
            RadianceFieldConfig(
                EncodingConfig("positional", n_frequencies=10, include_input=True),
                NetworkConfig("mlp", width=256, depth=8, skips=(5,)),  # input re-enters the 6th layer (NeRF's skips=[4])
                256,
                EncodingConfig("positional", n_frequencies=4, include_input=True),
                NetworkConfig("mlp", width=128, depth=1),
                "relu",
                coarse_network=True,  # the paper's separate coarse network
            ),
            OptimConfig(lr=5e-4, schedule="exponential", final_lr_ratio=0.1),
            render=NerfRenderConfig(sampler="hierarchical", coarse_samples=64, fine_samples=128, chunk_size=2048),
        ),
    ]
    return {p.name: dataclasses.replace(p, kinds=("nerf",)) for p in presets}


def get_nerf_preset(name: str) -> NerfPreset:
    """A copy of the radiance-field preset ``name``."""
    presets = _nerf_presets()
    if name not in presets:
        raise InrkitError(f"unknown NeRF preset {name!r}; expected one of {', '.join(presets)}")
    return presets[name].copy()


__all__ += ["NerfPreset", "get_nerf_preset"]
