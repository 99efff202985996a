#!/usr/bin/env python3
"""Execute a student release with every stub unfilled and check that it runs as a student finds it.

    python -m loopvalley student-release --out /tmp/release
    python scripts/check_student_release.py /tmp/release [NN_topic ...]

For every released notebook (all of them, or the named ones) the notebook runs top to bottom in a
fresh kernel, in the release folder, at the scale the environment sets (``LOOPVALLEY_SCALE``, default
``ci``); every exercise cell — a stub that raises ``NotImplementedError`` handed to its checker — must
report only the checker's notice ("… is not implemented yet", one line per checker) or raise
``NotImplementedError``, and every other cell must run without an error. It fails (exit 1) naming the
notebook, the cell and what it printed. Set ``LOOPVALLEY_RUN_CACHE`` to the folder of an earlier run
(e.g. CI's nbval pass) and the training runs are redrawn from it instead of retrained.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__" and (ROOT / "lib" / "loopvalley").is_dir():  # run from a source checkout: the kernel
    # imports this library (imported by scripts/run_notebooks.py, it leaves the installed library alone)
    sys.path.insert(0, str(ROOT / "lib"))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "lib"), os.environ.get("PYTHONPATH")]))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from loopvalley.checking import NOT_IMPLEMENTED  # noqa: E402

_STUB = re.compile(r"^def (\w+)\(.*\):\n(?:[ \t]+#.*\n)*[ \t]+raise NotImplementedError", re.M)
_CHECK = re.compile(r"^(\w+) = (check_\w+)\(\1\)", re.M)


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return data.get("text/plain", "") if isinstance(data.get("text/plain", ""), str) else "".join(data["text/plain"])


def exercise_cell(source: str) -> int:
    """How many checkers an exercise cell calls (0 for any other cell)."""
    return len(_CHECK.findall(source)) if _STUB.search(source) else 0


def check_cells(nb) -> list:
    """Problems in an executed notebook: ``[(cell index, message)]``."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        n_checks = exercise_cell(cell.source)
        if n_checks:
            if errors and all(o.get("ename") == "NotImplementedError" for o in errors):
                continue  # a stub that raises before its checker: allowed
            if errors:
                problems.append((i, f"the exercise cell raised {errors[0]['ename']}: {errors[0].get('evalue', '')}"))
                continue
            lines = [ln for o in outputs for ln in _text(o).splitlines() if ln.strip()]
            stray = [ln for ln in lines if NOT_IMPLEMENTED not in ln]
            if stray:
                problems.append((i, f"the exercise cell printed more than the notice: {stray[0][:160]!r}"))
            elif len(lines) != n_checks:
                problems.append((i, f"the exercise cell printed {len(lines)} notice(s) for {n_checks} checker(s)"))
        elif errors:
            problems.append((i, f"{errors[0]['ename']}: {errors[0].get('evalue', '')[:300]}"))
    return problems


def run(path: Path, timeout: int) -> tuple:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb, time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("release", help="the folder written by `python -m loopvalley student-release --out`")
    p.add_argument("only", nargs="*", help="only these notebooks (NN_topic, without .ipynb)")
    p.add_argument("--timeout", type=int, default=900, help="seconds per cell (default 900)")
    args = p.parse_args(argv)
    os.environ.setdefault("LOOPVALLEY_SCALE", "ci")
    os.environ.setdefault("MPLBACKEND", "Agg")
    folder = Path(args.release)
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        paths = [q for q in paths if q.stem in set(args.only)]
    if not paths:
        print(f"no released notebooks in {folder}")
        return 1
    failed, total = 0, time.perf_counter()
    for path in paths:
        nb, seconds = run(path, args.timeout)
        problems = check_cells(nb)
        n_ex = sum(exercise_cell(c.source) for c in nb.cells if c.cell_type == "code")
        status = "ok" if not problems else "FAILED"
        print(f"{path.stem:24s} {status:6s} {seconds:6.0f} s  {n_ex} checker(s)")
        for i, msg in problems:
            print(f"    cell {i}: {msg}")
        failed += bool(problems)
    print(f"student release: {len(paths) - failed} passed, {failed} failed in {time.perf_counter() - total:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
