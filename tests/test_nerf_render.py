"""Rays, sampling, volume rendering and the occupancy grid against hand-computed values."""
import math

import pytest
import torch

from inrkit.nerf.cameras import (image_rays, look_at, ndc_rays, opencv_to_opengl, orbit_path, pixel_rays,
                                 spiral_path, undistort)
from inrkit.nerf.occupancy import OccupancyGrid
from inrkit.nerf.rendering import accumulate, composite, render_chunked, render_weights
from inrkit.nerf.sampling import importance_samples, intervals_from_points, ray_aabb, stratified_samples


def test_pixel_rays_match_hand_computed_rays():
    # Camera at (1, 2, 3) turned 90° about +y: camera -z (forward) points along world -x.
    c2w = torch.eye(4)
    c2w[:3, :3] = torch.tensor([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]])
    c2w[:3, 3] = torch.tensor([1.0, 2, 3])
    k = torch.tensor([2.0, 4.0, 1.0, 1.0])  # fx, fy, cx, cy for a 2x2 image
    o, d = image_rays(c2w, k, 2, 2)
    assert o.shape == d.shape == (2, 2, 3)
    assert torch.allclose(o, torch.tensor([1.0, 2, 3]).expand(2, 2, 3))
    # Top-left pixel centre (0.5, 0.5): camera direction ((0.5-1)/2, -(0.5-1)/4, -1) = (-0.25, 0.125, -1)
    cam = torch.tensor([-0.25, 0.125, -1.0])
    world = torch.tensor([cam[2], cam[1], -cam[0]])  # R @ cam with the R above: (z, y, -x)
    assert torch.allclose(d[0, 0], world / world.norm(), atol=1e-6)
    # Bottom-right pixel (1.5, 1.5): camera (0.25, -0.125, -1)
    cam = torch.tensor([0.25, -0.125, -1.0])
    world = torch.tensor([cam[2], cam[1], -cam[0]])
    assert torch.allclose(d[1, 1], world / world.norm(), atol=1e-6)
    assert torch.allclose(d.norm(dim=-1), torch.ones(2, 2))


def test_centre_pixel_looks_down_minus_z_and_axes_convert():
    o, d = image_rays(torch.eye(4), torch.tensor([10.0, 10.0, 1.5, 1.5]), 3, 3)
    assert torch.allclose(d[1, 1], torch.tensor([0.0, 0.0, -1.0]))
    assert d[0, 1, 1] > 0 and d[1, 2, 0] > 0  # top row looks up, right column looks right
    cv = torch.eye(4)  # OpenCV camera at the origin looks down +z with y down
    gl = opencv_to_opengl(cv)
    assert torch.equal(gl[:3, 2], torch.tensor([0.0, 0.0, -1.0]))  # OpenGL -z column = viewing direction +z
    assert torch.equal(gl[:3, 1], torch.tensor([0.0, -1.0, 0.0]))


def test_undistort_inverts_the_distortion_model():
    k1, k2, p1, p2 = 0.1, -0.05, 0.01, -0.02
    xu = torch.tensor([0.1, -0.3, 0.25])
    yu = torch.tensor([-0.2, 0.15, 0.3])
    r2 = xu**2 + yu**2
    radial = 1 + k1 * r2 + k2 * r2**2
    xd = xu * radial + 2 * p1 * xu * yu + p2 * (r2 + 2 * xu**2)
    yd = yu * radial + p1 * (r2 + 2 * yu**2) + 2 * p2 * xu * yu
    x, y = undistort(xd, yd, torch.tensor([k1, k2, p1, p2]), iterations=30)
    assert torch.allclose(x, xu, atol=1e-6) and torch.allclose(y, yu, atol=1e-6)
    # distortion bends the ray: pixel_rays with and without it differ
    c2w, k = torch.eye(4)[None], torch.tensor([[100.0, 100, 50, 50]])
    _, d0 = pixel_rays(c2w, k, torch.tensor([90.0]), torch.tensor([10.0]))
    _, d1 = pixel_rays(c2w, k, torch.tensor([90.0]), torch.tensor([10.0]), torch.tensor([[k1, k2, p1, p2]]))
    assert not torch.allclose(d0, d1)


def test_ndc_maps_near_plane_to_minus_one_and_infinity_to_one():
    o = torch.tensor([[0.1, -0.2, 0.0]])
    d = torch.nn.functional.normalize(torch.tensor([[0.05, 0.02, -1.0]]), dim=-1)
    on, dn = ndc_rays(o, d, 50.0, 50.0, 100, 100, near=1.0)
    assert on[0, 2].item() == pytest.approx(-1.0)
    assert (on + dn)[0, 2].item() == pytest.approx(1.0)  # t' = 1 is infinitely far


def test_ray_aabb_entry_and_exit():
    o = torch.tensor([[-3.0, 0, 0], [0, 0, 0], [0, 5, 0]])
    d = torch.tensor([[1.0, 0, 0], [0, 0, 1], [1.0, 0, 0]])
    near, far = ray_aabb(o, d)
    assert near[0] == pytest.approx(2.0) and far[0] == pytest.approx(4.0)
    assert near[1] == 0 and far[1] == pytest.approx(1.0)  # starts inside the box
    assert far[2] <= near[2]  # misses


def test_weights_of_a_single_opaque_sample():
    t0 = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    t1 = t0 + 1
    sigma = torch.tensor([[0.0, 1e4, 5.0, 5.0]])
    w, trans, alpha = render_weights(t0, t1, sigma)
    assert torch.allclose(w, torch.tensor([[0.0, 1.0, 0.0, 0.0]]), atol=1e-6)
    assert torch.allclose(trans[0, :2], torch.tensor([1.0, 1.0]))
    out = composite(w, torch.tensor([[[0.0, 0, 0], [0.2, 0.4, 0.6], [1, 1, 1], [1, 1, 1]]]), 0.5 * (t0 + t1), 1.0)
    assert torch.allclose(out["rgb"], torch.tensor([[0.2, 0.4, 0.6]]), atol=1e-5)
    assert out["depth"].item() == pytest.approx(1.5) and out["opacity"].item() == pytest.approx(1.0)


def test_weights_of_two_half_transparent_samples():
    delta = 0.5
    t0 = torch.tensor([[0.0, delta]])
    sigma = torch.full((1, 2), math.log(2) / delta)  # alpha = 1 - exp(-ln 2) = 1/2 each
    w, trans, alpha = render_weights(t0, t0 + delta, sigma)
    assert torch.allclose(alpha, torch.tensor([[0.5, 0.5]]))
    assert torch.allclose(trans, torch.tensor([[1.0, 0.5]]))
    assert torch.allclose(w, torch.tensor([[0.5, 0.25]]))
    # Colours red then green on a blue background: 0.5 red + 0.25 green + 0.25 blue.
    out = composite(w, torch.tensor([[[1.0, 0, 0], [0, 1, 0]]]), t0 + delta / 2, torch.tensor([0.0, 0, 1]))
    assert torch.allclose(out["rgb"], torch.tensor([[0.5, 0.25, 0.25]]))
    assert out["opacity"].item() == pytest.approx(0.75)
    assert out["depth"].item() == pytest.approx((0.5 * 0.25 + 0.25 * 0.75) / 0.75)


def test_packed_rendering_equals_dense():
    g = torch.Generator().manual_seed(0)
    t = torch.sort(torch.rand(3, 5, generator=g) * 4, -1)[0]
    t0, t1 = intervals_from_points(t, torch.zeros(3), torch.full((3,), 4.0))
    sigma = torch.rand(3, 5, generator=g) * 3
    rgb = torch.rand(3, 5, 3, generator=g)
    w, trans, _ = render_weights(t0, t1, sigma)
    ri = torch.arange(3).repeat_interleave(5)
    wp, tp, _ = render_weights(t0.reshape(-1), t1.reshape(-1), sigma.reshape(-1), ri)
    assert torch.allclose(wp.reshape(3, 5), w, atol=1e-6) and torch.allclose(tp.reshape(3, 5), trans, atol=1e-6)
    assert torch.allclose(accumulate(wp, rgb.reshape(-1, 3), ri, 3), accumulate(w, rgb), atol=1e-6)
    # gradients flow through the packed path
    s = sigma.reshape(-1).clone().requires_grad_()
    render_weights(t0.reshape(-1), t1.reshape(-1), s, ri)[0].sum().backward()
    assert s.grad is not None and s.grad.abs().sum() > 0


def test_stratified_samples_fall_one_per_bin():
    near, far = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 6.0])
    t = stratified_samples(near, far, 4, torch.Generator().manual_seed(0))
    edges = near[:, None] + torch.arange(5) / 4 * (far - near)[:, None]
    assert ((t >= edges[:, :-1]) & (t <= edges[:, 1:])).all()
    mid = stratified_samples(near, far, 4, perturb=False)
    assert torch.allclose(mid[0], torch.tensor([1.25, 1.75, 2.25, 2.75]))


def test_importance_sampling_concentrates_where_the_weights_are():
    bins = torch.linspace(0, 8, 9).expand(2, 9)
    weights = torch.zeros(2, 8)
    weights[0, 3] = 1.0  # all mass in [3, 4]
    weights[1, 1], weights[1, 6] = 0.75, 0.25  # 3/4 in [1, 2], 1/4 in [6, 7]
    t = importance_samples(bins, weights, 64, torch.Generator().manual_seed(0))
    assert t.shape == (2, 64)
    assert ((t[0] >= 3) & (t[0] <= 4)).float().mean() > 0.95
    in_a = ((t[1] >= 1) & (t[1] <= 2)).float().mean()
    in_b = ((t[1] >= 6) & (t[1] <= 7)).float().mean()
    assert abs(in_a - 0.75) < 0.05 and abs(in_b - 0.25) < 0.05
    assert (t[:, 1:] >= t[:, :-1]).all()  # sorted


def test_occupancy_march_skips_empty_cells_and_stops_early():
    grid = OccupancyGrid(4)
    grid.mask[:] = False
    grid.mask[1, 1:3, 1:3] = True  # x in [-0.5, 0], y, z in [-0.5, 0.5]
    o = torch.tensor([[-2.0, 0.1, 0.1], [-2.0, 0.9, 0.9]])
    d = torch.tensor([[1.0, 0, 0], [1.0, 0, 0]])
    ri, t0, t1 = grid.march(o, d, step_size=0.05, perturb=False)
    assert (ri == 0).all() and ri.numel() > 0  # the second ray never meets an occupied cell
    x = -2.0 + 0.5 * (t0 + t1)
    assert ((x >= -0.5) & (x <= 0.0)).all()
    assert ri.numel() == 10  # 0.5 / 0.05 steps
    # A wall of huge density: early termination keeps only the first sample.
    ri2, _, _ = grid.march(o, d, 0.05, perturb=False, sigma_fn=lambda x, _d: torch.full(x.shape[:1], 1e5))
    assert ri2.numel() == 1


def test_occupancy_update_and_carving():
    grid = OccupancyGrid(8)
    # density: a ball of radius 0.5
    grid.update(lambda x: (x.norm(dim=-1) < 0.5).float() * 100, step_size=0.01, generator=torch.Generator().manual_seed(0))
    centres = grid.cell_centres()
    occ = grid.mask.reshape(-1)
    assert occ[centres.norm(dim=-1) < 0.3].all() and not occ[centres.norm(dim=-1) > 0.9].any()
    # Carving: one camera on +z looking at the origin sees a disc of radius 0.3 (box = world).
    g2 = OccupancyGrid(8)
    c2w = look_at(torch.tensor([0.0, 0, 4]), torch.zeros(3), torch.tensor([0.0, 1, 0]))[None]
    k = torch.tensor([[64.0, 64, 32, 32]])
    _, dirs = image_rays(c2w[0], k[0], 64, 64)
    o = torch.tensor([0.0, 0, 4])
    hit = (torch.linalg.cross(dirs, -o.expand_as(dirs), dim=-1).norm(dim=-1) < 0.3)  # ray passes within 0.3 of the z axis
    kept = g2.carve(c2w, k, hit[None], [0.0, 0, 0], 1.0)
    assert 0 < kept < 0.5
    radial = centres[:, :2].norm(dim=-1)
    assert g2.mask.reshape(-1)[radial < 0.2].all() and not g2.mask.reshape(-1)[radial > 0.8].any()


def test_render_chunked_matches_unchunked_and_camera_paths():
    o, d = torch.randn(10, 7, 3), torch.randn(10, 7, 3)
    fn = lambda oo, dd: {"rgb": oo + 2 * dd, "depth": dd.sum(-1)}  # noqa: E731
    out = render_chunked(fn, o, d, chunk_size=9)
    assert torch.allclose(out["rgb"], o + 2 * d) and out["depth"].shape == (10, 7)
    # cameras on a ring around the origin: the orbit stays at their radius and looks at the centre
    ring = torch.stack([look_at(torch.tensor([4 * math.cos(a), 4 * math.sin(a), 1.0]), torch.zeros(3),
                                torch.tensor([0.0, 0, 1])) for a in torch.linspace(0, 6, 8).tolist()])
    path = orbit_path(ring, 12)
    assert path.shape == (12, 4, 4)
    r = path[:, :3, 3].norm(dim=-1)
    assert torch.allclose(r, torch.full_like(r, math.sqrt(17)), atol=1e-3)
    fwd = -path[:, :3, 2]
    assert torch.allclose((fwd * -path[:, :3, 3]).sum(-1) / r, torch.ones(12), atol=1e-4)
    assert spiral_path(ring, 5).shape == (5, 4, 4)


def test_ray_aabb_takes_one_direction_shared_by_every_ray_and_matches_the_slab_formula():
    g = torch.Generator().manual_seed(0)
    o = torch.randn(50, 3, generator=g) * 2
    d = torch.nn.functional.normalize(torch.randn(3, generator=g), dim=0)
    near, far = ray_aabb(o, d)
    n2, f2 = ray_aabb(o, d.expand(50, 3))
    assert torch.equal(near, n2) and torch.equal(far, f2)
    # The oracle: march each ray finely and find where it is inside [-1, 1]³.
    t = torch.linspace(0, 10, 20001)
    inside = ((o[:, None] + t[None, :, None] * d).abs() <= 1).all(-1)  # (R, T)
    for i in range(50):
        ts = t[inside[i]]
        if len(ts) == 0:
            assert far[i] <= near[i] + 1e-3
        else:
            assert abs(near[i] - ts.min()) < 1e-3 and abs(far[i] - ts.max()) < 1e-3


def test_render_chunked_fills_one_output_per_key_in_any_chunking():
    o, d = torch.randn(5, 3), torch.randn(5, 3)
    calls = []

    def fn(oo, dd):
        calls.append(len(oo))
        return {"rgb": oo * dd, "hit": oo[:, 0] > 0, "n": torch.arange(len(oo))}

    out = render_chunked(fn, o, d, chunk_size=2)
    assert calls == [2, 2, 1]
    assert torch.equal(out["rgb"], o * d) and torch.equal(out["hit"], o[:, 0] > 0)
    assert out["hit"].dtype == torch.bool and out["n"].tolist() == [0, 1, 0, 1, 0]
    assert render_chunked(fn, torch.zeros(0, 3), torch.zeros(0, 3)) == {}


def test_occupancy_grid_is_a_module_of_buffers_sized_by_what_it_loads():
    grid = OccupancyGrid(4)
    grid.mask[1] = False
    grid.updates += 3
    assert sorted(dict(grid.named_buffers())) == ["_anchor", "carved", "density", "mask", "updates"]
    assert list(grid.parameters()) == [] and sorted(grid.state_dict()) == ["carved", "density", "mask", "updates"]
    empty = OccupancyGrid(0)
    assert empty.resolution == 0 and empty.state_dict() == {}
    empty.load_state_dict(grid.state_dict())  # takes the saved size
    assert empty.resolution == 4 and torch.equal(empty.mask, grid.mask) and int(empty.updates) == 3
    empty.load_state_dict({})  # a state without a grid (a checkpoint from before grids were saved): empty
    assert empty.resolution == 0
    # an empty grid skips nothing: the march is the one of an all-occupied grid
    o, d = torch.tensor([[-2.0, 0.1, 0.1]]), torch.tensor([[1.0, 0.0, 0.0]])
    for a, b in zip(empty.march(o, d, 0.1, perturb=False), OccupancyGrid(2).march(o, d, 0.1, perturb=False)):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="resolution"):
        OccupancyGrid(-1)


def test_examples_in_the_rendering_modules():
    import doctest

    import inrkit.nerf.occupancy
    import inrkit.nerf.render
    import inrkit.nerf.rendering
    import inrkit.nerf.sampling

    for module in (inrkit.nerf.occupancy, inrkit.nerf.render, inrkit.nerf.rendering, inrkit.nerf.sampling):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
