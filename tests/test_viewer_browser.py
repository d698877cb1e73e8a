"""inrkit view in a real headless Chromium: the page loads without console errors, draws the field, and a deep
zoom asks the server for the deepest tiles. Skips where Chromium, its driver or selenium is missing."""
from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="no Chromium and chromedriver here (Debian: apt-get install chromium "
                                       "chromium-driver); the browser tests need them")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from inrkit.cli import main
    from inrkit.viewer import make_app

    root = tmp_path_factory.mktemp("browser")
    assert main(["fit", "image", "sample:camera", "--size", "32x32", "--steps", "30", "--out", str(root / "camera"),
                 "--no-progress"]) == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(make_app(root, max_zoom=16), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=900,700"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def _wait(driver, script, timeout=30.0):
    end = time.time() + timeout
    while time.time() < end:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {script}")


def test_the_page_draws_the_field_and_zooms_into_it_without_console_errors(server, browser):
    browser.get(server + "/")
    _wait(browser, "return window.viewer && window.viewer.world.getItemCount() === 1 && "
                   "window.viewer.world.getItemAt(0).getFullyLoaded()")
    pixels = browser.execute_script(
        "const c = window.viewer.drawer.canvas;"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let lit = 0; for (let i = 0; i < d.length; i += 4) { if (d[i] + d[i+1] + d[i+2] > 30) lit++; } "
        "return [lit, c.width * c.height];")
    assert pixels[0] > 0.2 * pixels[1], pixels  # the camera image fills much of the view, not a blank canvas
    # zoom to one screen pixel per pixel of the deepest level (16x the training resolution)
    browser.execute_script("const v = window.viewer.viewport; v.zoomTo(v.imageToViewportZoom(1), null, true);")
    tiles = _wait(browser, "const t = performance.getEntriesByType('resource').map(e => e.name)"
                           ".filter(n => n.includes('/api/tile/9/')); return t.length ? t : null;")
    assert all("/camera" in t for t in tiles)
    zoom = float(browser.find_element("id", "zoom").text)
    assert zoom == pytest.approx(16, rel=0.05)
    _wait(browser, "return !document.getElementById('comparison-box').hidden")  # the fit's error map beside it
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_the_live_curve_gains_points_while_a_fit_runs(tmp_path, browser):
    """fit --view's page: the chart follows the run's evaluations as they come, and the picture appears."""
    from inrkit.cli import main
    from inrkit.viewer import serve_in_background

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = tmp_path / "live"
    run.mkdir()
    server, thread = serve_in_background(run, port=port)  # the run folder itself, as fit --view serves it
    fit = threading.Thread(target=main, args=(["fit", "image", "sample:camera", "--size", "64x64", "--steps", "600",
                                               "--eval-every", "20", "--checkpoint-every", "100", "--out",
                                               str(run), "--no-progress"],))
    try:
        browser.get(f"http://127.0.0.1:{port}/")
        fit.start()
        first = _wait(browser, "return window.liveHistoryLength >= 2 ? window.liveHistoryLength : 0", 60)
        _wait(browser, f"return window.liveHistoryLength > {first} + 2", 60)  # the curve grows as the fit runs
        step = _wait(browser, "return window.viewer && window.viewer.world.getItemCount() === 1 && "
                              "window.currentStep", 60)  # the picture of a first checkpoint
        _wait(browser, f"return window.currentStep > {step}", 60)  # and of a later one: the picture follows
        assert "step" in browser.find_element("id", "status").text
        fit.join()
        _wait(browser, "return document.getElementById('status').textContent.startsWith('done: step 600')", 15)
        _wait(browser, "return !document.getElementById('comparison-box').hidden", 15)  # the finished fit's error map
    finally:
        fit.join()
        server.should_exit = True
        thread.join(5)
