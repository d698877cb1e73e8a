"""inrkit view: tiles are the field's own rendering, the server keeps to its folder and refuses absurd requests."""
from __future__ import annotations

import io
import os

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

import inrkit  # noqa: E402
from inrkit.cli import main  # noqa: E402
from inrkit.viewer import TILE, find_fields, make_app, tile_region  # noqa: E402


def _png(content: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(content)))


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A folder with one fitted image (32x32), one .inrz, a text file and a link that leads out of it."""
    from inrkit.codec import CompressConfig, compress

    base = tmp_path_factory.mktemp("view")
    root = base / "runs"
    root.mkdir()
    assert main(["fit", "image", "sample:camera", "--size", "32x32", "--steps", "20", "--preset", "ngp",
                 "--out", str(root / "camera"), "--no-progress"]) == 0
    image = inrkit.render(inrkit.load(root / "camera"), progress=False).astype(np.float32) / 255
    (root / "photo.inrz").write_bytes(compress(np.repeat(image, 3, -1) if image.shape[-1] == 1 else image,
                                               CompressConfig(quality=50, steps=10)).data)
    (root / "notes.txt").write_text("not a field")
    outside = base / "secret"
    outside.mkdir()
    (outside / "field.json").write_text("{}")
    (outside / "progress.json").write_text('{"kind": "image", "shape": [8, 8, 3], "secret": true}')
    os.symlink(outside, root / "link")
    sneaky = root / "sneaky"  # a real folder whose progress.json leads out of the served one
    sneaky.mkdir()
    os.symlink(outside / "progress.json", sneaky / "progress.json")
    data = (root / "photo.inrz").read_bytes()
    (root / "broken.inrz").write_bytes(data[:-8] + data[-4:])  # the signature, then a bad checksum
    (root / "fake.inrz").write_bytes(b"not a compressed image")
    return root


@pytest.fixture(scope="module")
def client(root):
    return TestClient(make_app(root, max_zoom=16), base_url="http://127.0.0.1")


def test_tiles_cover_each_level_exactly():
    for w, h, zoom in [(32, 32, 16), (100, 60, 3.5), (7, 300, 1)]:
        vw, vh = w * zoom, h * zoom
        top = int(np.ceil(np.log2(max(vw, vh))))
        for level in (top, top - 1, 0):
            lw = vw * 0.5 ** (top - level)
            xs = [tile_region(w, h, zoom, level, x, 0) for x in range(int(np.ceil(lw / TILE)))]
            assert all(t is not None for t in xs) and tile_region(w, h, zoom, level, len(xs), 0) is None
            assert xs[0][0][0][0] == -1 and xs[-1][0][1][0] == pytest.approx(1)
            for a, b in zip(xs, xs[1:]):  # tiles meet edge to edge
                assert a[0][1][0] == pytest.approx(b[0][0][0])
    assert tile_region(32, 32, 16, 10, 0, 0) is None and tile_region(32, 32, 16, -1, 0, 0) is None


def test_the_listing_finds_the_fields_and_nothing_outside(client):
    r = client.get("/api/fields")
    assert r.status_code == 200
    ids = {f["id"]: f for f in r.json()["fields"]}
    assert set(ids) == {"camera", "photo.inrz", "broken.inrz"}  # not fake.inrz, nothing through a link out
    assert (ids["camera"]["width"], ids["camera"]["height"]) == (32, 32)


def test_a_deep_tile_is_the_fields_rendering_of_that_rectangle(client, root):
    info = client.get("/api/info/camera").json()
    assert info["max_level"] == 9 and info["virtual_width"] == 512  # 32 x 16
    field = inrkit.load(root / "camera")
    r = client.get("/api/tile/9/1/0/camera")  # the top-right quarter at 16x the training resolution
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    tile = _png(r.content)
    assert tile.shape[:2] == (256, 256)
    own = inrkit.render(field, size=(256, 256), region=((0, -1), (1, 0)), progress=False)
    assert np.array_equal(tile, own[..., 0] if own.shape[-1] == 1 else own)
    whole = inrkit.render(field, size=(512, 512), progress=False)[..., 0]  # the same pixels, cut from the whole
    assert np.abs(tile.astype(int) - whole[:256, 256:].astype(int)).max() <= 1
    small = _png(client.get("/api/tile/5/0/0/camera").content)  # the whole image at 32x32
    assert small.shape[:2] == (32, 32)


def test_a_compressed_image_is_viewed_through_its_decoder(client, root):
    from inrkit.codec import decode, read_stream

    tile = _png(client.get("/api/tile/5/0/0/photo.inrz").content)
    assert np.array_equal(tile, decode(read_stream((root / "photo.inrz").read_bytes())))


def test_the_export_renders_any_region_at_any_size(client, root):
    r = client.get("/api/export/camera", params={"x0": -0.5, "y0": -0.5, "x1": 0.5, "y1": 0.5, "w": 300, "h": 200})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    own = inrkit.render(inrkit.load(root / "camera"), size=(300, 200), region="-0.5,-0.5,0.5,0.5", progress=False)
    assert np.array_equal(_png(r.content), own[..., 0])


def test_a_finished_run_shows_its_target_reconstruction_and_error_map(client, root):
    r = client.get("/api/comparison/camera")
    assert r.status_code == 200 and r.content == (root / "camera" / "comparison.png").read_bytes()
    assert client.get("/api/info/camera").json()["comparison"] is True
    assert client.get("/api/info/photo.inrz").json()["comparison"] is False
    assert client.get("/api/comparison/photo.inrz").status_code == 404  # a file has none
    assert client.get("/api/comparison/link").status_code == 404


def test_a_field_that_cannot_be_read_is_a_sentence_not_a_server_error(client):
    r = client.get("/api/info/broken.inrz")
    assert r.status_code == 422 and "checksum" in r.text
    assert client.get("/api/tile/0/0/0/broken.inrz").status_code == 422


def test_another_host_name_is_refused(root):
    """A page that rebinds its own name to 127.0.0.1 sends that name as Host: the viewer does not answer it."""
    assert TestClient(make_app(root), base_url="http://evil.example").get("/api/fields").status_code == 400
    assert TestClient(make_app(root), base_url="http://localhost:8000").get("/api/fields").status_code == 200
    assert TestClient(make_app(root, hosts=("*",)), base_url="http://evil.example").get("/").status_code == 200


@pytest.mark.parametrize("path", ["/api/info/..%2Fsecret", "/api/info/%2E%2E/secret", "/api/info/link",
                                  "/api/progress/sneaky", "/api/progress/link",
                                  "/api/info//etc", "/api/info/notes.txt", "/api/info/nothing",
                                  "/api/tile/0/0/0/link", "/api/export/..%2F..%2Fetc?w=1&h=1",
                                  "/static/..%2Fapp.py", "/static/%2E%2E/app.py"])
def test_nothing_outside_the_folder_is_served(client, path):
    r = client.get(path)
    assert r.status_code in (403, 404), (path, r.status_code, r.text[:200])


@pytest.mark.parametrize("path", ["/api/tile/99/0/0/camera", "/api/tile/9/1000000/0/camera", "/api/tile/9/0/-1/camera",
                                  "/api/export/camera?w=100000&h=100000", "/api/export/camera?w=10",
                                  "/api/export/camera?w=10&h=10&x0=-2", "/api/export/camera?w=10&h=10&x0=nan",
                                  "/api/export/camera?w=10&h=10&x0=0.5&x1=0.5"])
def test_absurd_requests_get_an_error_not_a_crash(client, path):
    r = client.get(path)
    assert r.status_code == 400 or path.endswith("/-1/camera") and r.status_code == 404, (path, r.status_code)
    assert client.get("/api/tile/5/0/0/camera").status_code == 200  # the server carries on


def test_the_page_and_its_scripts_ship_with_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and "openseadragon.min.js" in page.text and "viewer.js" in page.text
    for asset in ("/static/openseadragon/openseadragon.min.js", "/static/viewer.js", "/static/viewer.css",
                  "/static/openseadragon/images/zoomin_rest.png"):
        assert client.get(asset).status_code == 200, asset
    assert "http://" not in page.text and "https://" not in page.text  # no CDN: works offline


def test_find_fields_of_a_checkpoint_folder_itself(root):
    assert [f["id"] for f in find_fields(root / "camera")] == ["."]


def test_view_refuses_bad_options_in_one_sentence(tmp_path, capsys):
    assert main(["view", str(tmp_path / "none")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["view", str(tmp_path), "--max-zoom", "0"]) == 2
    assert "max-zoom" in capsys.readouterr().err
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["view", str(tmp_path), "--port", str(port)]) == 2
        assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


def test_a_fit_reports_its_progress_for_the_viewer(tmp_path):
    """progress.json: the history at every evaluation, done at the end; served at /api/progress."""
    import json

    assert main(["fit", "image", "sample:camera", "--size", "32x32", "--steps", "30", "--eval-every", "10",
                 "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    progress = json.loads((tmp_path / "run" / "progress.json").read_text())
    assert progress["done"] and progress["step"] == 30 and [h["step"] for h in progress["history"]] == [10, 20, 30]
    assert progress["kind"] == "image" and progress["shape"][:2] == [32, 32] and progress["metric"] == "psnr"
    client = TestClient(make_app(tmp_path), base_url="http://127.0.0.1")
    assert client.get("/api/progress/run").json() == progress
    assert client.get("/api/info/run").json()["step"] == 30
    assert client.get("/api/progress/nothing").status_code == 404


def test_a_run_without_a_checkpoint_yet_is_listed_as_training(tmp_path):
    import json

    (tmp_path / "starting").mkdir()
    (tmp_path / "starting" / "progress.json").write_text(json.dumps(
        {"kind": "image", "shape": [40, 50, 3], "step": 10, "steps": 100, "seconds": 1.0, "metric": "psnr",
         "history": [{"step": 10, "seconds": 1.0, "psnr": 20.0, "loss": 0.01}], "done": False}))
    client = TestClient(make_app(tmp_path), base_url="http://127.0.0.1")
    (entry,) = client.get("/api/fields").json()["fields"]
    assert entry == {"id": "starting", "kind": "image", "height": 40, "width": 50, "training": True,
                     "checkpoint": False}
    assert client.get("/api/info/starting").status_code == 404  # no picture until the first checkpoint
    assert client.get("/api/progress/starting").json()["step"] == 10


def test_fit_view_refuses_a_taken_port_before_fitting(tmp_path, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["fit", "image", "sample:camera", "--size", "16x16", "--steps", "5", "--view", "--view-port",
                     str(port), "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_missing_viewer_packages_are_one_sentence(monkeypatch, tmp_path, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if it were not installed
    assert main(["view", str(tmp_path)]) == 2
    assert "inrkit view needs the viewer's packages (uvicorn is missing)" in capsys.readouterr().err
    assert main(["fit", "image", "sample:camera", "--size", "16x16", "--steps", "5", "--view",
                 "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    assert "--view needs the viewer's packages" in capsys.readouterr().err and not (tmp_path / "run").exists()
