from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (real images, audio, meshes); tests that need it skip without it."""
    if not DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return DATA


@pytest.fixture
def fast():
    """A FitConfig factory for short, quiet CPU runs."""
    import inrkit

    def make(**kw):
        kw.setdefault("progress", False)
        kw.setdefault("compile", "off")
        kw.setdefault("device", "cpu")
        return inrkit.FitConfig(**kw)

    return make
