"""The README's Python snippets run: every ```python block, in a scratch folder, at smaller sizes.

Runs the snippets read (``runs/lego``, ``runs/torus``) are fitted first, briefly, from built-in samples;
the sizes and step counts that would take minutes are swapped for small ones (SMALLER). A snippet that
raises fails its test; so does a swap that no longer finds its text (the README changed: update SMALLER).
"""
import re
from pathlib import Path

import pytest

from inrkit.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"

# (text in a snippet, what the test runs instead): the same calls, seconds instead of minutes.
SMALLER = [
    ('size=(256, 256)', 'size=(32, 32)'),
    ('FitConfig(steps=500)', 'FitConfig(steps=10, progress=False)'),
    ('sample_grid((2048, 2048))', 'sample_grid((40, 40))'),
    ('scale=4)', 'scale=0.5)'),
    ('size=(512, 512), region=', 'size=(16, 16), region='),
    ('frames=8, size=(100, 100)', 'frames=2, size=(12, 12)'),
    ('resolution=128, level=25', 'resolution=16, level=1e-9'),  # a barely fitted field's density is low
    ('inrkit.mesh(field, resolution=128)', 'inrkit.mesh(field, resolution=16)'),
    ('size=(400, 300), azimuth=45', 'size=(40, 30), azimuth=45'),
]

# Runs a snippet reads without making it: a brief fit of a built-in sample into that folder.
FITS = {
    "runs/lego": ["fit", "nerf", "sample:spheres", "--steps", "20", "--downscale", "4", "--batch-size", "256",
                  "--eval-every", "100"],
    "runs/torus": ["fit", "sdf", "sample:torus", "--steps", "20", "--detail", "32", "--n-train", "4000",
                   "--mesh-resolution", "24", "--batch-size", "1024", "--eval-every", "100"],
}


def python_blocks() -> list[tuple[int, str]]:
    """``(line, code)`` of every ```python block of the README."""
    text = README.read_text()
    return [(text.count("\n", 0, m.start()) + 2, m.group(1))
            for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M)]


BLOCKS = python_blocks()


def test_the_readme_has_its_snippets_and_every_swap_applies():
    assert len(BLOCKS) >= 4, "the README's ```python blocks were not found"
    code = "\n".join(c for _, c in BLOCKS)
    stale = [old for old, _ in SMALLER if old not in code]
    assert not stale, f"README snippets changed; update SMALLER in tests/test_readme.py for: {stale}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A scratch folder holding the runs the snippets read."""
    root = tmp_path_factory.mktemp("readme")
    code = "\n".join(c for _, c in BLOCKS)
    for folder, args in FITS.items():
        if f'"{folder}"' in code:
            assert main([*args, "--out", str(root / folder), "--no-progress", "--device", "cpu"]) == 0, folder
    return root


@pytest.mark.parametrize("line,code", BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS])
def test_snippet_runs(line, code, workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    for old, new in SMALLER:
        code = code.replace(old, new)
    exec(compile(code, f"README.md, the python block at line {line}", "exec"), {"__name__": "readme"})


def readme_commands() -> list[tuple[int, list[str]]]:
    """``(line, argv)`` of every ``inrkit ...`` command in the README's ```bash blocks (comments dropped,
    continued lines joined)."""
    import shlex

    text = README.read_text()
    commands = []
    for m in re.finditer(r"^```bash\n(.*?)^```", text, flags=re.S | re.M):
        start = text.count("\n", 0, m.start()) + 2
        lines = m.group(1).replace("\\\n", " ").splitlines()
        for i, line in enumerate(lines):
            words = shlex.split(line, comments=True)
            if words[:1] == ["inrkit"]:
                commands.append((start + i, words[1:]))
            elif "inrkit.cli" in words:  # torchrun ... -m inrkit.cli ARGS
                commands.append((start + i, words[words.index("inrkit.cli") + 1:]))
    return commands


COMMANDS = readme_commands()


def test_the_readme_shows_every_command():
    from inrkit.cli import COMMANDS as NAMED
    from inrkit.signals import KINDS

    shown = {argv[0] if argv[0] not in ("fit", "bench") else " ".join(argv[:2]) for _, argv in COMMANDS if argv}
    missing = ({*NAMED} | {f"fit {k}" for k in KINDS if k in BUILT_IN}) - shown
    assert not missing, f"the README shows no example of: {sorted(missing)}"


BUILT_IN = ("image", "audio", "video", "volume", "ct", "mri", "poisson", "sdf", "occupancy", "nerf")


@pytest.mark.parametrize("line,argv", COMMANDS, ids=[f"README.md:{line}" for line, _ in COMMANDS])
def test_readme_command_parses(line, argv, capsys):
    """Every flag the README shows exists, with a value of the right type (parsing only: nothing runs)."""
    from inrkit.cli import _parse

    if argv in (["--version"],):
        with pytest.raises(SystemExit) as e:
            _parse(argv)
        assert e.value.code == 0
        return
    command = _parse(argv)
    assert hasattr(command, "run"), argv
