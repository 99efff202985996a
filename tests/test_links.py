"""The repository's address lives in one place (scripts/links.py): every badge, launch link and
Colab install line in the repository is exactly what its generator writes."""

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("links", ROOT / "scripts" / "links.py")
links = importlib.util.module_from_spec(_spec)
sys.modules["links"] = links
_spec.loader.exec_module(links)


def test_ref_is_a_fixed_tag_not_a_branch():
    assert re.fullmatch(r"v\d+\.\d+\.\d+", links.REF), f"REF must be a release tag like v0.2.0, got {links.REF!r}"
    assert re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", links.REPO)


def test_generated_strings():
    r, t = links.REPO, links.REF
    assert links.pip_line() == f'%pip install -q "loopvalley @ git+https://github.com/{r}@{t}"'
    assert links.colab_url("01_a.ipynb") == f"https://colab.research.google.com/github/{r}/blob/{t}/notebooks/01_a.ipynb"
    assert links.binder_url("01_a.ipynb") == f"https://mybinder.org/v2/gh/{r}/{t}?urlpath=lab/tree/notebooks/01_a.ipynb"


STALE = """\
[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/old/loopvalley/main?urlpath=lab/tree/notebooks/01_river_valley.ipynb)
[![Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/old/loopvalley/blob/main/notebooks/01_river_valley.ipynb)
    # %pip install -q "loopvalley @ git+https://github.com/old/loopvalley"
pip install git+https://github.com/old/loopvalley.git@main
see https://github.com/old/loopvalley/issues and https://github.com/old/loopvalley.
nbval: https://github.com/computationalmodelling/nbval, https://github.com/old/loopvalleys
"""


def test_rewrite_replaces_every_stale_address_and_nothing_else():
    new = links.rewrite(STALE)
    r, t = links.REPO, links.REF
    assert f"(https://mybinder.org/v2/gh/{r}/{t}?urlpath=lab/tree/notebooks/01_river_valley.ipynb)" in new
    assert f"(https://colab.research.google.com/github/{r}/blob/{t}/notebooks/01_river_valley.ipynb)" in new
    assert f'    # {links.pip_line()}\n' in new
    assert f"pip install git+https://github.com/{r}@{t}\n" in new
    assert f"see https://github.com/{r}/issues and https://github.com/{r}." in new
    # not ours: left alone, as are the badge images
    assert "https://github.com/computationalmodelling/nbval" in new and "https://github.com/old/loopvalleys" in new
    assert "https://mybinder.org/badge_logo.svg" in new and "colab-badge.svg" in new
    assert "old/" not in new.replace("old/loopvalleys", "")
    assert links.rewrite(new) == new  # idempotent


def test_rewrite_keeps_a_notebook_pair_in_sync(tmp_path):
    jupytext = pytest.importorskip("jupytext")
    py = tmp_path / "01_x.py"
    py.write_text('# %%\nimport sys\nif "google.colab" in sys.modules:\n'
                  '    # %pip install -q "loopvalley @ git+https://github.com/old/loopvalley"\n    pass\n')
    nb = tmp_path / "01_x.ipynb"
    jupytext.write(jupytext.read(py), nb)
    for p in (py, nb):
        p.write_text(links.rewrite(p.read_text(), p))
    json.loads(nb.read_text())  # still valid JSON
    a = jupytext.writes(jupytext.read(nb), fmt="py:percent")
    b = jupytext.writes(jupytext.read(py), fmt="py:percent")
    assert a == b
    assert links.pip_line() in jupytext.read(nb).cells[0].source


def test_pyproject_urls_block(tmp_path):
    toml = "[project]\nname = 'x'\n\n[project.optional-dependencies]\ndev = []\n"
    once = links.rewrite(toml, tmp_path / "pyproject.toml")
    assert links.urls_block() + "\n[project.optional-dependencies]" in once
    assert links.rewrite(once, tmp_path / "pyproject.toml") == once
    stale = once.replace(links.home_url(), "https://github.com/old/loopvalley").replace('Issues = ', 'Bugs = ')
    assert links.rewrite(stale, tmp_path / "pyproject.toml") == once


def _offenders():
    ok = links.allowed()
    out = []
    for p in links.text_files():
        text = p.read_text(encoding="utf-8", errors="replace")
        for kind, m in links.find(text):
            if m.group(0) not in ok:
                line = text.count("\n", 0, m.start()) + 1
                out.append(f"{p.relative_to(ROOT)}:{line}: {m.group(0)}")
    return out


def test_no_hard_coded_repository_address():
    """Any address of the repository outside scripts/links.py is exactly a generated string."""
    bad = _offenders()
    assert not bad, ("repository addresses not written by scripts/links.py (run `python scripts/links.py`):\n"
                     + "\n".join(bad[:40]))


def test_scan_sees_a_planted_address(tmp_path, monkeypatch):
    """The scan above can fail: a stale address in a new file is reported."""
    (tmp_path / "notes.md").write_text("clone https://github.com/old/loopvalley now\n")
    (tmp_path / "binder").mkdir()
    (tmp_path / "binder" / "start").write_text("# https://mybinder.org/v2/gh/old/loopvalley/main\n")
    monkeypatch.setattr(links, "ROOT", tmp_path)
    monkeypatch.setattr(links, "text_files", lambda root=tmp_path, f=links.text_files: f(root))
    found = [m.group(0) for p in links.text_files() for _, m in links.find(p.read_text())]
    assert found == ["https://mybinder.org/v2/gh/old/loopvalley/main", "https://github.com/old/loopvalley"]
    assert not set(found) & links.allowed(notebooks=[])


def test_every_colab_install_line_is_the_generated_one():
    for py in sorted((ROOT / "notebooks").glob("[0-9]*.py")):
        for line in py.read_text().splitlines():
            if "%pip install" in line and "loopvalley" in line:
                assert line.strip().lstrip("# ").strip() == links.pip_line(), f"{py.name}: {line.strip()}"


def test_check_mode_passes_on_the_repository():
    assert links.main(["--check"]) == 0
