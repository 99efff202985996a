"""The course website's sources (scripts/site_source.py) and its link check (scripts/site_check.py),
without building the site or starting a browser (CI builds and checks the real site)."""

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


links, site_source, site_check = _load("links"), _load("site_source"), _load("site_check")
WIDGET = site_source.WIDGET


def _write(folder: Path, files: dict):
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)


def _problems(out: Path) -> dict:
    site_check.parse.cache_clear()
    return {p.relative_to(out).as_posix(): site_check.broken_links(out, p) for p in site_check.pages(out)}


PAGE = '<html><head><link rel="stylesheet" href="{0}_static/s.css"></head><body><h1 id="top">A</h1>{1}</body></html>'


def test_the_link_check_fails_on_a_broken_link_and_passes_without_it(tmp_path):
    _write(tmp_path, {
        "_static/s.css": "", "img/x.png": "png",
        "index.html": PAGE.format("", '<a href="sub/b.html#sec">b</a> <a href="#top">top</a> <img src="img/x.png">'
                                  '<a href="https://example.org/x">web</a> <a href="mailto:a@b">mail</a> <a href="#">menu</a>'),
        "sub/b.html": PAGE.format("../", '<h2 id="sec">S</h2><a href="../index.html">back</a> <a href="./">dir</a>'),
        "sub/index.html": PAGE.format("../", ""),
    })
    assert _problems(tmp_path) == {"index.html": [], "sub/b.html": [], "sub/index.html": []}
    (tmp_path / "sub" / "c.html").write_text(PAGE.format(
        "../", '<a href="missing.html">gone</a> <a href="b.html#nowhere">bad anchor</a> <img src="../img/none.png">'
        '<a href="../../outside.html">outside</a>'))
    assert _problems(tmp_path)["sub/c.html"] == [
        "missing resource: ../img/none.png", "broken link: missing.html (no such file)",
        "broken link: b.html#nowhere (no #nowhere there)", "broken link: ../../outside.html (no such file)"]


def test_the_link_check_fails_on_a_remote_resource(tmp_path):
    _write(tmp_path, {"_static/s.css": "", "index.html": PAGE.format(
        "", '<script src="https://cdn.example.org/mathjax.js"></script><link rel="stylesheet" href="//fonts.example.org/f.css">'
        '<img src="data:image/png;base64,AAAA">')})
    assert _problems(tmp_path)["index.html"] == [
        "loads a resource from outside the site: https://cdn.example.org/mathjax.js",
        "loads a resource from outside the site: //fonts.example.org/f.css"]


def test_every_widget_becomes_a_note_beside_a_static_figure():
    """No widget output, widget state or 'VBox(children=...)' text reaches the site; each interactive
    widget is a note with its chapter's launch links, with a figure right above it or its own stored one."""
    notes = 0
    for path in site_source.chapters():
        original = json.loads(path.read_text())
        n_widgets = sum(WIDGET in o.get("data", {}) for c in original["cells"] for o in c.get("outputs", []))
        nb, counts = site_source.site_notebook(original, path.name)
        text = json.dumps(nb)
        assert WIDGET not in text and "widget-state" not in text and "VBox(children" not in text, path.name
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        for prev, cell in zip([None] + code, code):
            for k, o in enumerate(cell["outputs"]):
                html = "".join(o.get("data", {}).get("text/html", ""))
                if "lv-widget-note" not in html:
                    continue
                notes += 1
                assert f'href="{links.binder_url(path.name)}"' in html and f'href="{links.colab_url(path.name)}"' in html
                stored = [x for x in cell["outputs"][k + 1:] if "image/png" in x.get("data", {})]
                assert (prev is not None and site_source._has_figure(prev)) or stored, \
                    f"{path.name}: a widget with no static figure beside it"
        assert counts["widgets"] + counts["progress_bars"] == n_widgets
    assert notes >= 7


def test_the_sources_mirror_the_repository(tmp_path):
    log = site_source.stage(tmp_path)
    nbs = site_source.chapters()
    assert log["chapters"] == len(nbs) and nbs[0].name == "00_start_here.ipynb"
    toc = json.loads((tmp_path / "notebooks" / "00_start_here.ipynb").read_text())["cells"][-1]["source"]
    assert toc.index(nbs[1].stem) < toc.index(nbs[-1].stem) and "/results/small/REPORT" in toc
    report = (tmp_path / "results/small/REPORT.md").read_text()
    assert links.binder_url() in report and (tmp_path / "results/small/forest.png").exists()
    assert (tmp_path / "results/small/SCORECARD.md").exists() and (tmp_path / "docs/paper-notes.md").exists()


def test_links_to_files_off_the_site_point_at_github(tmp_path):
    md = ("[notes](../docs/paper-notes.md) [ch](01_river_valley.ipynb#Glossary) [lib](../lib/loopvalley/train.py) "
          "![fig](../results/small/forest.png) [web](https://example.org) [here](#Glossary)")
    on_site = {"docs/paper-notes.md", "notebooks/01_river_valley.ipynb"}
    out = site_source.fix_links(md, "notebooks/00_start_here.ipynb", on_site, tmp_path)
    lib = f"{links.home_url()}/blob/{links.REF}/lib/loopvalley/train.py"
    assert out == md.replace("../lib/loopvalley/train.py", lib)
    assert (tmp_path / "results/small/forest.png").exists()
