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


@pytest.fixture
def check_seed_determinism():
    """``check(make, x)``: ``make()`` after the same ``torch.manual_seed`` gives identical weights and
    outputs on ``x``; after another seed, different ones."""
    import torch

    def check(make, x):
        torch.manual_seed(123)
        a = make()
        torch.manual_seed(123)
        b = make()
        torch.manual_seed(124)
        c = make()
        sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
        assert sa.keys() == sb.keys() == sc.keys()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), k
        assert any(not torch.equal(sa[k], sc[k]) for k in sa)
        assert torch.equal(a(x), b(x))
        assert not torch.allclose(a(x), c(x))
        return a, b, c

    return check


@pytest.fixture
def one_thread():
    """One torch thread for the test, restored afterwards: the small tensors of the inverse-problem and NeRF tests
    run faster on one thread than on two contending with other jobs for the cores."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
