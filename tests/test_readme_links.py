"""Every relative link in the README, the docs and the notebooks points at a file the repository ships
(and a notebook anchor at a heading that exists)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")  # [text](target "title")
HREF = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)  # http:, https:, mailto:, ...


def _markdown_of(path: Path) -> str:
    if path.suffix == ".py":  # a notebook's reviewed source: its markdown cells
        import jupytext

        return "\n\n".join(c.source for c in jupytext.read(path).cells if c.cell_type == "markdown")
    return path.read_text(encoding="utf-8")


def _strip_code(md: str) -> str:
    md = re.sub(r"```.*?```", "", md, flags=re.S)  # fenced code
    return re.sub(r"`[^`\n]*`", "", md)  # inline code


def links(md: str) -> list:
    text = _strip_code(md)
    return [m.group(1) for m in LINK.finditer(text)] + [m.group(1) for m in HREF.finditer(text)]


def _headings(path: Path) -> list:
    return [re.sub(r"^#+\s*", "", line).strip() for line in _markdown_of(path).splitlines() if re.match(r"^#{1,6}\s", line)]


def _github_slug(heading: str) -> str:
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def anchor_exists(target: Path, fragment: str) -> bool:
    """JupyterLab's notebook anchors are the heading text with spaces as '-'; GitHub's are slugs."""
    if target.suffix == ".ipynb":
        src = target.with_suffix(".py") if target.with_suffix(".py").exists() else target
        return any(h.replace(" ", "-") == fragment for h in _headings(src))
    if target.suffix == ".md":
        return any(_github_slug(h) == fragment for h in _headings(target))
    return True


def broken_links(path: Path) -> list:
    bad = []
    for raw in links(_markdown_of(path)):
        if EXTERNAL.match(raw):
            continue
        ref, _, fragment = raw.partition("#")
        ref = ref.split("?")[0]
        base = path.parent
        target = (base / ref).resolve() if ref else path.with_suffix(".ipynb") if path.suffix == ".py" else path
        if ref and not target.exists():
            bad.append(f"{path.relative_to(ROOT)}: {raw} (no such file)")
        elif fragment and target.exists() and not anchor_exists(target, fragment):
            bad.append(f"{path.relative_to(ROOT)}: {raw} (no heading for #{fragment})")
    return bad


DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md"] + sorted((ROOT / "docs").glob("*.md"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.py"))


@pytest.mark.parametrize("path", DOCS + NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    bad = broken_links(path)
    assert not bad, "broken links:\n" + "\n".join(bad)


def test_the_checker_sees_broken_links(tmp_path, monkeypatch):
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.md").write_text("# Here\n\n## A heading\n")
    md = tmp_path / "README.md"
    md.write_text("[ok](docs/here.md) [ok2](docs/here.md#a-heading) [web](https://example.org/x) `[code](nope.md)`\n"
                  "[gone](docs/missing.md) [bad anchor](docs/here.md#nowhere) <img src=\"img/none.png\">\n")
    bad = broken_links(md)
    assert [b.split(": ", 1)[1] for b in bad] == ["docs/missing.md (no such file)",
                                                   "docs/here.md#nowhere (no heading for #nowhere)",
                                                   "img/none.png (no such file)"]


def test_readme_points_students_to_the_syllabus():
    text = (ROOT / "README.md").read_text()
    assert "jupyter lab notebooks/00_start_here.ipynb" in text
    assert "(notebooks/00_start_here.ipynb)" in text
    assert (ROOT / "notebooks" / "00_start_here.ipynb").exists()
    for gone in ("research notes", "our notes", "DESIGN"):
        assert gone not in text, f"README mentions {gone!r}, which the repository does not ship"
