"""Scene loaders: Blender, nerfstudio / instant-ngp transforms.json, LLFF, the built-in scene; malformed files."""
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from inrkit.errors import InrkitError
from inrkit.nerf.datasets import builtin_scene, load_blender, load_llff, load_scene, load_transforms, write_blender


@pytest.fixture(scope="module")
def tiny():
    return builtin_scene("spheres", "train", size=16, n_views=4)


def test_builtin_scene_round_trips_through_blender_format(tmp_path, tiny):
    assert tiny.images.shape == (4, 16, 16, 4) and tiny.images.dtype == torch.uint8
    alpha = tiny.images[..., 3]
    assert 0 < (alpha > 0).float().mean() < 1  # object and empty background
    write_blender(tiny, tmp_path, "train")
    write_blender(tiny, tmp_path, "test")
    back = load_blender(tmp_path, "train")
    assert torch.equal(back.images, tiny.images)
    assert torch.allclose(back.c2w, tiny.c2w, atol=1e-6)
    assert torch.allclose(back.intrinsics, tiny.intrinsics, atol=1e-4)
    half = load_scene(tmp_path, "test", downscale=2)  # dispatch by folder contents, area downscale
    assert half.images.shape == (4, 8, 8, 4)
    assert torch.allclose(half.intrinsics[0], tiny.intrinsics[0] / 2, atol=1e-4)
    want = tiny.images[0, :2, :2].float().mean((0, 1))
    assert torch.allclose(half.images[0, 0, 0].float(), want, atol=1.0)
    with pytest.raises(InrkitError, match="downscale 32 is larger than image"):
        load_scene(tmp_path, "test", downscale=32)


def _blender(tmp_path, tiny, frames):
    write_blender(tiny, tmp_path, "train")
    (tmp_path / "transforms_train.json").write_text(json.dumps(frames))
    return tmp_path


@pytest.mark.parametrize(
    "content, message",
    [
        ({"camera_angle_x": 0.7}, "no frames"),
        ({"camera_angle_x": 0.7, "frames": []}, "no frames"),
        ({"frames": [{"file_path": "./train/r_0", "transform_matrix": np.eye(4).tolist()}]}, "camera_angle_x"),
        ({"camera_angle_x": 0.7, "frames": [{"file_path": "./train/r_0", "transform_matrix": [[1, 0], [0, 1]]}]},
         "4x4"),
        ({"camera_angle_x": 0.7, "frames": [{"file_path": "./train/nope", "transform_matrix": np.eye(4).tolist()}]},
         "does not exist"),
        ({"camera_angle_x": 0.7, "frames": [{"transform_matrix": np.eye(4).tolist()}]}, "file_path"),
    ],
)
def test_malformed_blender_files_give_one_clear_error(tmp_path, tiny, content, message):
    root = _blender(tmp_path, tiny, content)
    with pytest.raises(InrkitError, match=message):
        load_blender(root, "train")


def test_unreadable_json_and_image(tmp_path, tiny):
    write_blender(tiny, tmp_path, "train")
    (tmp_path / "train" / "r_1.png").write_bytes(b"not a png")
    with pytest.raises(InrkitError, match="cannot be read"):
        load_blender(tmp_path, "train")
    (tmp_path / "transforms_train.json").write_text("{oops")
    with pytest.raises(InrkitError, match="not valid JSON"):
        load_blender(tmp_path, "train")
    with pytest.raises(InrkitError, match="holds no"):
        load_scene(tmp_path / "train")
    with pytest.raises(InrkitError, match="does not exist"):
        load_scene(tmp_path / "missing")


def test_nerfstudio_transforms_with_intrinsics_distortion_and_held_out_split(tmp_path, tiny):
    (tmp_path / "images").mkdir()
    frames = []
    for i in range(10):
        Image.fromarray(tiny.images[i % 4, ..., :3].numpy()).save(tmp_path / "images" / f"f{i}.jpg")
        frames.append({"file_path": f"images/f{i}.jpg", "transform_matrix": tiny.c2w[i % 4].tolist()})
    frames[3]["fl_x"] = 30.0  # per-frame intrinsics override the shared ones
    d = {"fl_x": 20.0, "fl_y": 22.0, "cx": 7.5, "cy": 8.5, "w": 16, "h": 16, "k1": 0.01, "k2": 0.0, "p1": 0.0,
         "p2": 0.0, "frames": frames}
    (tmp_path / "transforms.json").write_text(json.dumps(d))
    train, test = load_transforms(tmp_path, "train"), load_scene(tmp_path, "test")
    assert len(test) == 2 and len(train) == 8  # frames 0 and 8 are held out
    assert train.names[0] == "f1.jpg" and test.names == ["f0.jpg", "f8.jpg"]
    assert torch.allclose(train.intrinsics[0], torch.tensor([20.0, 22.0, 7.5, 8.5]))
    assert train.intrinsics[2, 0] == 30.0  # frame 3
    assert train.distortion is not None and train.distortion[0, 0] == pytest.approx(0.01)
    # the box is centred where the cameras look (the origin) and smaller than their distance
    assert np.allclose(train.center, 0, atol=1e-3) and 0 < train.half_size < 4
    half = load_transforms(tmp_path, "train", downscale=2)
    assert half.images.shape[1:3] == (8, 8) and half.intrinsics[0, 0] == pytest.approx(10.0)
    del d["fl_x"]
    (tmp_path / "transforms.json").write_text(json.dumps(d))
    with pytest.raises(InrkitError, match="focal"):
        load_transforms(tmp_path, "train")
    d["frames"][2]["transform_matrix"] = [[1, 2, 3]]
    d["fl_x"] = 20.0
    (tmp_path / "transforms.json").write_text(json.dumps(d))
    with pytest.raises(InrkitError, match="frame 2.*4x4"):
        load_transforms(tmp_path, "train")


def _llff(tmp_path, n_images, n_poses, shape=17):
    (tmp_path / "images").mkdir(exist_ok=True)
    for i in range(n_images):
        Image.fromarray(np.full((12, 16, 3), 20 * i, np.uint8)).save(tmp_path / "images" / f"{i:03d}.png")
    rows = []
    for i in range(n_poses):
        # LLFF columns: down, right, back, position, (h, w, f); cameras on a small line, looking down -z
        pose = np.zeros((3, 5))
        pose[:, 0], pose[:, 1], pose[:, 2] = [0, -1, 0], [1, 0, 0], [0, 0, 1]
        pose[:, 3] = [0.1 * i, 0, 0]
        pose[:, 4] = [12, 16, 20]
        rows.append(np.concatenate([pose.reshape(-1), [2.0, 10.0]])[:shape])
    np.save(tmp_path / "poses_bounds.npy", np.array(rows))


def test_llff_poses_become_opengl_and_rays_use_ndc(tmp_path):
    _llff(tmp_path, 9, 9)
    train, test = load_llff(tmp_path, "train"), load_scene(tmp_path, "test")
    assert len(train) == 7 and len(test) == 2
    assert train.ndc is not None and train.ndc["width"] == 16
    # LLFF [down, right, back] -> OpenGL [right, up, back]: the camera looks down -z
    assert torch.allclose(train.c2w[:, :3, 2], torch.tensor([0.0, 0, 1]).expand(7, 3), atol=1e-5)
    assert torch.allclose(train.c2w[:, :3, 0], torch.tensor([1.0, 0, 0]).expand(7, 3), atol=1e-5)
    assert torch.allclose(train.intrinsics[0], torch.tensor([20.0, 20, 8, 6]))
    # positions are scaled so the nearest bound is 1/0.75 and recentred on their mean
    assert train.c2w[:, :3, 3].mean(0).abs().max() < 0.1
    steps = train.c2w[1:, 0, 3] - train.c2w[:-1, 0, 3]
    assert torch.allclose(steps[steps.abs() < 0.1], torch.full_like(steps[steps.abs() < 0.1], 0.1 / 1.5), atol=1e-5)


def test_llff_mismatched_or_malformed_poses(tmp_path):
    _llff(tmp_path, 5, 6)
    with pytest.raises(InrkitError, match="5 images but .* 6 poses"):
        load_llff(tmp_path)
    _llff(tmp_path, 6, 6, shape=15)
    with pytest.raises(InrkitError, match="N x 17"):
        load_llff(tmp_path)
    (tmp_path / "poses_bounds.npy").write_bytes(b"garbage")
    with pytest.raises(InrkitError, match="cannot be read"):
        load_llff(tmp_path)


def test_lego_loads_with_blender_intrinsics(shared_data):
    root = shared_data / "nerf" / "lego"
    test = load_blender(root, "test", downscale=4)
    assert test.images.shape == (10, 200, 200, 4)
    angle = json.loads((root / "transforms_test.json").read_text())["camera_angle_x"]
    assert test.intrinsics[0, 0].item() == pytest.approx(400 / math.tan(angle / 2) / 4, rel=1e-5)
    assert torch.allclose(test.c2w[:, 3], torch.tensor([0.0, 0, 0, 1]).expand(10, 4))
