"""Radiance-field rendering as pure functions over tensors (the field is passed in as a callable).

- :mod:`~inrkit.nerf.cameras`: pixel-centre rays, OpenCV/OpenGL axes, NDC, camera paths;
- :mod:`~inrkit.nerf.sampling`: box intersection, stratified and importance sampling;
- :mod:`~inrkit.nerf.rendering`: ``render_weights``, compositing, chunked rendering;
- :mod:`~inrkit.nerf.occupancy`: the occupancy grid and its ray marcher (empty-space skipping,
  early ray termination, visual-hull carving);
- :mod:`~inrkit.nerf.render`: ``render_rays``, the one orchestrator from rays to pixels, and its settings;
- :mod:`~inrkit.nerf.views`: a fitted field's views, camera paths, evaluation and mesh;
- :mod:`~inrkit.nerf.datasets`: Blender, nerfstudio / instant-ngp, LLFF and a built-in scene.
"""
from .cameras import image_rays, look_at, ndc_rays, opencv_to_opengl, orbit_path, pixel_rays, spiral_path
from .datasets import NerfDataset, builtin_scene, load_blender, load_llff, load_scene, load_transforms, write_blender
from .occupancy import OccupancyGrid
from .render import NerfRenderConfig, render_rays
from .rendering import accumulate, composite, render_chunked, render_weights
from .sampling import importance_samples, intervals_from_points, ray_aabb, stratified_samples

__all__ = [
    "NerfDataset",
    "NerfRenderConfig",
    "OccupancyGrid",
    "accumulate",
    "builtin_scene",
    "composite",
    "image_rays",
    "importance_samples",
    "intervals_from_points",
    "load_blender",
    "load_llff",
    "load_scene",
    "load_transforms",
    "look_at",
    "ndc_rays",
    "opencv_to_opengl",
    "orbit_path",
    "pixel_rays",
    "ray_aabb",
    "render_chunked",
    "render_rays",
    "render_weights",
    "spiral_path",
    "stratified_samples",
    "write_blender",
]
