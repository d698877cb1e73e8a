"""Signals: turn data into coordinates and observations, and fields back into data.

:data:`KINDS` is the one registry of the kinds of signal: ``inrkit fit KIND``, ``inrkit render``,
``inrkit info`` and ``inrkit samples`` are all derived from it. A new kind is a module that defines
its signal and a :class:`~inrkit.signals.base.Kind`, plus one line here (or, from outside the package,
``KINDS["name"] = kind`` before calling :func:`inrkit.cli.main`).
"""
from . import audio, ct, image, mri, nerf, poisson, shape, video, volume
from .audio import AudioSignal, load_audio
from .base import Kind, SampledSignal, SampleSet, Signal
from .ct import CTSignal, load_ct
from .image import SAMPLES, ImageSignal, load_image, save_image
from .mri import MRISignal, load_mri
from .poisson import PoissonSignal, load_poisson
from .video import VideoSignal, load_video
from .volume import VolumeSignal, load_volume

__all__ = ["KINDS", "Kind", "SampleSet", "Signal", "SampledSignal", "ImageSignal", "SAMPLES", "load_image",
           "save_image", "AudioSignal", "load_audio", "PoissonSignal", "load_poisson", "VideoSignal", "load_video",
           "CTSignal", "MRISignal", "VolumeSignal", "load_ct", "load_mri", "load_volume"]

KINDS: dict[str, Kind] = {k.name: k for k in (
    image.KIND, audio.KIND, video.KIND, volume.KIND, ct.KIND, mri.KIND, poisson.KIND, shape.SDF_KIND,
    shape.OCCUPANCY_KIND, nerf.KIND,
)}
"""Every kind of signal, by name (the order ``inrkit --help`` lists them in)."""
