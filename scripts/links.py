"""The one home of the repository's address: every launch link is generated from REPO and REF.

    python scripts/links.py                      # rewrite every link in the repository
    python scripts/links.py README.md notebooks/00_start_here.py notebooks/00_start_here.ipynb
    python scripts/links.py --check              # exit 1 when a file differs from what this writes
    python scripts/links.py --print              # show the generated strings

Generated strings (nothing else in the repository may spell the repository's address):

- the Colab install line of every notebook: ``%pip install -q "loopvalley @ git+https://github.com/<REPO>@<REF>"``
  (a fixed tag, never a moving branch: a notebook opened from the tag installs the library of the
  same tag; ``pyproject.toml`` keeps loose dependency ranges, so Colab keeps its own torch, numpy,
  matplotlib and its preinstalled ipywidgets 7);
- the Binder and Colab badges' URLs (``mybinder.org/v2/gh/<REPO>/<REF>?urlpath=lab/tree/notebooks/X.ipynb``,
  ``colab.research.google.com/github/<REPO>/blob/<REF>/notebooks/X.ipynb``);
- the repository's home page (``https://github.com/<REPO>``), e.g. in ``pyproject.toml``'s ``[project.urls]``.

The rewrite works on the raw text (so a ``.ipynb`` keeps its exact JSON layout and stays in sync with
its ``.py`` twin: both get the same line) and touches only these URLs. A fork changes REPO (and tags
its own REF), runs this script, and every badge and install line follows.
``tests/test_links.py`` fails on any repository address that is not exactly one of these strings.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = "loopvalley/loopvalley"  # owner/name on GitHub
REF = "v0.2.0"  # a tag (never a moving branch): what the badges open and what Colab installs

ROOT = Path(__file__).resolve().parents[1]
NAME = REPO.split("/")[1]

# -- what is generated ------------------------------------------------------------------------------


def home_url() -> str:
    return f"https://github.com/{REPO}"


def pip_spec() -> str:
    """The requirement the Colab cell installs: the library at the fixed tag."""
    return f"loopvalley @ git+https://github.com/{REPO}@{REF}"


def pip_line() -> str:
    return f'%pip install -q "{pip_spec()}"'


def colab_url(notebook: str) -> str:
    return f"https://colab.research.google.com/github/{REPO}/blob/{REF}/notebooks/{notebook}"


def binder_url(notebook: str | None = None) -> str:
    base = f"https://mybinder.org/v2/gh/{REPO}/{REF}"
    return base if notebook is None else f"{base}?urlpath=lab/tree/notebooks/{notebook}"


def urls_block() -> str:
    """``pyproject.toml``'s ``[project.urls]`` table."""
    return (
        "[project.urls]\n"
        f'Homepage = "{home_url()}"\n'
        f'Repository = "{home_url()}"\n'
        f'Issues = "{home_url()}/issues"\n'
    )


def allowed(notebooks=None) -> set:
    """Every repository address the generator writes (the test accepts exactly these)."""
    nbs = notebooks if notebooks is not None else [p.name for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    out = {home_url(), f"{home_url()}/issues", f"git+https://github.com/{REPO}@{REF}", binder_url()}
    for nb in nbs:
        out |= {colab_url(nb), binder_url(nb)}
    return out


# -- finding addresses --------------------------------------------------------------------------------
_SEG = r"[A-Za-z0-9_.-]+"
_REF = r"[A-Za-z0-9_.\-/]+?"
_NB = r"[A-Za-z0-9_.\-]+\.ipynb"
_END = r"(?![A-Za-z0-9_\-]|\.[A-Za-z0-9])"  # the address ends here (a sentence's full stop is not part of it)
_TAG = r"[A-Za-z0-9_.\-]*[A-Za-z0-9_\-]"  # a ref: branch, tag or commit (not ending in a full stop)
PATTERNS = {
    # the pip requirement: ``loopvalley @ git+https://github.com/<any owner/name>[@<any ref>]``, or
    # any git URL of a repository with this name
    "pip": re.compile(rf"(?:(?<=loopvalley @ )git\+https://github\.com/{_SEG}/[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*?|"
                      rf"git\+https://github\.com/{_SEG}/{re.escape(NAME)})(?:\.git)?(?:@[A-Za-z0-9_.\-/]*[A-Za-z0-9_\-])?{_END}"),
    # launch links to a notebook of this layout, whichever owner, name or ref they name
    "colab": re.compile(rf"https://colab\.research\.google\.com/github/{_SEG}/{_SEG}/blob/{_REF}/notebooks/(?P<nb>{_NB})"),
    "binder": re.compile(rf"https://mybinder\.org/v2/gh/{_SEG}/{_SEG}/{_TAG}\?urlpath=(?:lab/tree/)?notebooks/(?P<nb>{_NB})|"
                         rf"https://mybinder\.org/v2/gh/{_SEG}/{re.escape(NAME)}/{_TAG}(?![?A-Za-z0-9_\-]|\.[A-Za-z0-9])"),
    # the home page of this repository (or of any repository with its name: a stale owner)
    "home": re.compile(rf"https://github\.com/{_SEG}/{re.escape(NAME)}{_END}(?P<tail>/issues)?"),
}


def find(text: str):
    """``(kind, match)`` for every repository address in ``text`` (pip specs before home pages)."""
    taken = []
    for kind, pat in PATTERNS.items():
        for m in pat.finditer(text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            yield kind, m


def _generated(kind: str, m: re.Match) -> str:
    if kind == "pip":
        return f"git+https://github.com/{REPO}@{REF}"
    if kind == "colab":
        return colab_url(m["nb"])
    if kind == "binder":
        return binder_url(m["nb"])
    return home_url() + (m["tail"] or "")


def rewrite(text: str, path=None) -> str:
    """``text`` with every repository address replaced by the generated one (and, for a
    ``pyproject.toml``, its ``[project.urls]`` table written)."""
    spans = sorted(((m.start(), m.end(), _generated(k, m)) for k, m in find(text)), reverse=True)
    for a, b, new in spans:
        text = text[:a] + new + text[b:]
    if path is not None and Path(path).name == "pyproject.toml":
        text = _with_urls_block(text)
    return text


def _with_urls_block(toml: str) -> str:
    """Write the ``[project.urls]`` table (in place, or before ``[project.optional-dependencies]``)."""
    m = re.search(r"^\[project\.urls\]\n(?:(?!\[).*\n)*", toml, flags=re.M)
    if m is None:
        m = re.search(r"^\[project\.(?:optional-dependencies|scripts)\]", toml, flags=re.M)
        if m is None:
            return toml
        return toml[: m.start()] + urls_block() + "\n" + toml[m.start():]
    end = "\n" if m.end() < len(toml) else ""
    return toml[: m.start()] + urls_block() + end + toml[m.end():]


# -- which files -----------------------------------------------------------------------------------------
TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".toml", ".txt", ".cfg", ".sh", ".yml", ".yaml", ".json", ".ini", ".rst"}
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".ipynb_checkpoints", "build", "dist",
             "runs", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
EXTENSIONLESS_DIRS = {"binder", ".ci"}  # postBuild, start, run


HOME_FILES = ("scripts/links.py", "tests/test_links.py")  # the home, and its test's planted stale addresses


def text_files(root: Path = ROOT):
    """The repository's text files that may hold an address (the home and its test excluded)."""
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts[:-1]) or not p.is_file():
            continue
        if rel.as_posix() in HOME_FILES:
            continue
        if p.suffix in TEXT_SUFFIXES or (p.suffix == "" and rel.parts[0] in EXTENSIONLESS_DIRS):
            if p.stat().st_size <= 20_000_000:
                yield p


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", help="files to rewrite (default: every text file of the repository)")
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when a file differs")
    ap.add_argument("--print", dest="show", action="store_true", help="print the generated strings and exit")
    args = ap.parse_args(argv)
    if args.show:
        print(f"REPO = {REPO}\nREF  = {REF}\n{pip_line()}\n{binder_url('00_start_here.ipynb')}\n"
              f"{colab_url('00_start_here.ipynb')}\n{urls_block()}", end="")
        return 0
    paths = [Path(p) if Path(p).is_absolute() else Path.cwd() / p for p in args.paths] or list(text_files())
    stale = []
    for p in paths:
        old = p.read_text(encoding="utf-8")
        new = rewrite(old, p)
        if new != old:
            stale.append(p)
            if not args.check:
                p.write_text(new, encoding="utf-8")
    for p in stale:
        rel = p.resolve().relative_to(ROOT) if p.resolve().is_relative_to(ROOT) else p
        print(f"{'stale' if args.check else 'rewrote'}: {rel}")
    if args.check and stale:
        print("run: python scripts/links.py " + " ".join(str(p.resolve().relative_to(ROOT)) for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
