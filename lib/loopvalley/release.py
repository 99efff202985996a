"""The student release: the notebooks to hand out, without solutions, worked answers or answers.

    python -m loopvalley student-release --out DIR [--notebooks notebooks/]

The repository's notebooks are the instructor copy: under every exercise a collapsed *Solution*,
under every derivation a collapsed *Worked answer*, under every prediction a collapsed *Answer*. The
release writes each chapter as an ``.ipynb`` (from the reviewed ``notebooks/NN_topic.py`` when
jupytext is installed, else from its ``.ipynb`` twin) with

- every ``<details><summary>Solution|Worked answer|Answer|Answers</summary> … </details>`` block
  removed from the markdown (the *Hint* blocks and "What to look for" stay), and a markdown cell that
  held nothing else dropped;
- every cell tagged ``solution`` dropped, and every output cleared;
- the stubs and their checkers as they are: a checker falls back to the library's version with a
  notice ("… is not implemented yet"), so the released notebook still runs top to bottom, and it
  prints no reference code. A code cell that mentions a ``*_reference`` function is refused
  (:class:`ReleaseError`): the reference may live in the library, never in a handed-out notebook.

``scripts/check_student_release.py DIR`` executes a release and checks that every exercise cell
reports only the notice and every other cell runs. The command line's entry point is
:func:`add_release_parser` (wired into ``python -m loopvalley``).

Introduced in notebooks/00_start_here.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
from pathlib import Path

from loopvalley.notebook import _REPO_NOTEBOOKS, RUN_TIMES_FILE

# the collapsed blocks a student must not see (summaries as the notebooks write them)
HIDDEN_SUMMARIES = ("Solution", "Worked answer", "Answer", "Answers")
_HIDDEN = re.compile(r"<details><summary>(?:" + "|".join(re.escape(s) for s in HIDDEN_SUMMARIES)
                     + r")</summary>.*?</details>[ \t]*\n?", re.S)
_REFERENCE = re.compile(r"\b\w+_reference\b")
SOLUTION_TAG = "solution"  # a code or markdown cell with this tag is left out of the release


class ReleaseError(ValueError):
    """A notebook cannot be released as it is (e.g. a code cell shows a reference implementation)."""


def strip_markdown(text: str) -> str:
    """``text`` without its Solution / Worked answer / Answer blocks, blank runs squeezed to one line.

    Introduced in notebooks/00_start_here.
    """
    out = _HIDDEN.sub("", text)
    out = re.sub(r"\n{3,}", "\n\n", out)  # a removed block leaves no hole
    return out.strip("\n")


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def release_notebook(nb: dict, name: str = "notebook") -> dict:
    """A student copy of the notebook ``nb`` (nbformat 4 as a dict; not modified): hidden blocks and
    ``solution`` cells removed, outputs cleared. Raises :class:`ReleaseError` when a code cell
    mentions a ``*_reference`` function.

    Introduced in notebooks/00_start_here.
    """
    out = copy.deepcopy(nb)
    cells = []
    for cell in out["cells"]:
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        src = _source(cell)
        if cell["cell_type"] == "markdown":
            had_text = bool(src.strip())
            src = strip_markdown(src)
            if had_text and not src.strip():
                continue  # the cell held only hidden blocks
            cell["source"] = src
        elif cell["cell_type"] == "code":
            hit = _REFERENCE.search(src)
            if hit:
                raise ReleaseError(f"{name}: a code cell uses {hit.group(0)}; a released notebook must not show a "
                                   "reference implementation (call the checker instead)")
            cell["outputs"], cell["execution_count"] = [], None
            cell["source"] = src
        cells.append(cell)
    out["cells"] = cells
    out.get("metadata", {}).pop("jupytext", None)
    return out


def read_notebook(path) -> dict:
    """The notebook at ``path`` as an nbformat-4 dict: a py:percent source through jupytext, or an
    ``.ipynb`` file as it is.

    Introduced in notebooks/00_start_here.
    """
    path = Path(path)
    if path.suffix == ".py":
        try:
            import jupytext  # optional (the dev extra): the reviewed source
        except ImportError as e:  # pragma: no cover - exercised only without the dev extra
            raise ReleaseError(f"{path.name}: reading a py:percent notebook needs jupytext "
                               "(pip install jupytext), or release from the .ipynb twins") from e
        return json.loads(jupytext.writes(jupytext.read(path), fmt="ipynb"))
    return json.loads(path.read_text())


def _sources(notebooks: Path) -> list:
    """One source per chapter: ``NN_topic.py`` when jupytext is importable, else ``NN_topic.ipynb``."""
    try:
        import jupytext  # noqa: F401
        ext = ".py"
    except ImportError:  # pragma: no cover
        ext = ".ipynb"
    found = sorted(p for p in notebooks.glob(f"[0-9][0-9]_*{ext}"))
    if ext == ".py":  # fall back per chapter to the twin where a source is missing
        have = {p.stem for p in found}
        found += sorted(p for p in notebooks.glob("[0-9][0-9]_*.ipynb") if p.stem not in have)
    return sorted(found, key=lambda p: p.stem)


def student_release(out, notebooks=None) -> list:
    """Write the student copy of every chapter in ``notebooks`` (default: the repository's
    ``notebooks/``) into ``out`` as ``NN_topic.ipynb``, plus the run-time table when there is one;
    returns the written notebook paths.

    Introduced in notebooks/00_start_here.
    """
    src_dir = Path(notebooks) if notebooks is not None else _REPO_NOTEBOOKS
    sources = _sources(src_dir)
    if not sources:
        raise ReleaseError(f"no notebooks NN_topic.py / .ipynb found in {src_dir}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sources:
        nb = release_notebook(read_notebook(path), path.name)
        target = out / f"{path.stem}.ipynb"
        target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        written.append(target)
    if (src_dir / RUN_TIMES_FILE).is_file():
        shutil.copyfile(src_dir / RUN_TIMES_FILE, out / RUN_TIMES_FILE)
    return written


def _student_release(args) -> int:
    written = student_release(args.out, args.notebooks)
    for p in written:
        print(p.name)
    print(f"{len(written)} notebooks without solutions, worked answers or answers written to {args.out}; "
          f"check them with: python scripts/check_student_release.py {args.out}")
    return 0


def add_release_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``student-release`` command to the command line's ``subparsers`` (its handler is the
    parser's ``func`` default, called with the parsed arguments; it returns the exit status).

    Introduced in notebooks/00_start_here.
    """
    p = subparsers.add_parser("student-release", help="write the notebooks without solutions, worked answers or "
                              "answers, for students (hints and checkers stay)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--notebooks", default=None,
                   help="folder of the instructor notebooks (default: the repository's notebooks/)")
    p.set_defaults(func=_student_release)
    return p
