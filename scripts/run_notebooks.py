"""Execute notebooks headless in this Python's kernel; check that no cell raises and that every
notebook which draws from shipped records says where its figures came from.

    python scripts/run_notebooks.py DIR --results none          # Colab: no results/ anywhere
    python scripts/run_notebooks.py DIR --results ../results    # Binder: the repository's results/
    python scripts/run_notebooks.py DIR --results ../results --small 04_single_vs_looped 05_hessian_dynamics
    python scripts/run_notebooks.py DIR --results none --release  # DIR: a student release (Colab parity)

DIR is a scratch copy of the notebooks (the executed notebooks are written back into it). Used by
``scripts/ci_colab_parity.sh`` and ``scripts/ci_binder_parity.sh``; run it with the Python whose
packages you want to test (the kernel is that Python: it checks so first).

What it does:
1. Executes every ``DIR/NN_*.ipynb`` with nbclient at its own ``SCALE`` (``"ci"``), and once more at
   ``SCALE = "small"`` for each notebook named with ``--small``, two notebooks at a time (``--jobs``);
   the kernel starts in the notebook's folder, as Jupyter starts it; 600 s per cell, like nbval
   (waiting for the kernel's messages in slices of 5 s: :class:`ShortWaits`). A cell that raises
   fails its notebook.
2. For the notebooks that draw from shipped records (:func:`record_lines`) it looks for the line
   each prints about them: the shipped line when the records are in ``--results``, the fallback line
   when they are not (``--results none``: nothing is shipped, every such figure must say it fell back).
3. Prints one line per notebook (for a slow one, where its seconds went), how many training jobs
   were not in the run cache ($LOOPVALLEY_RUN_CACHE) and had to be computed, and a summary line;
   exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets import Type, default

QUIET = ["--IPKernelApp.log_level=ERROR"]  # ipykernel 7 warns at every start that it talks over local TCP
LATE = []  # (message type, seconds) of each kernel message picked up more than 4 s after the kernel sent it


class ShortWaits(AsyncZMQSocketChannel):
    """A kernel channel that waits for a message in slices of at most 5 s.

    While these scripts were written, a cell's reply sometimes reached nbclient only when its wait
    timed out: nbclient waits for a reply with the whole cell timeout (600 s), so in 3 runs of about
    20 one notebook went on 10 minutes late, without an error (a wake-up lost between zmq and
    asyncio, it seems). Waiting in slices picks such a message up within 5 s; a message picked up
    late is counted (LATE) and reported on the notebook's line."""

    async def get_msg(self, timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 5.0 if end is None else min(5.0, max(0.0, end - time.monotonic()))
            try:
                msg = await super().get_msg(timeout=left)
            except Empty:
                if end is not None and time.monotonic() >= end:
                    raise
                continue
            sent = msg.get("header", {}).get("date")  # a datetime: when the kernel sent it
            if hasattr(sent, "timestamp") and time.time() - sent.timestamp() > 4:
                LATE.append((msg.get("msg_type", "?"), time.time() - sent.timestamp()))
            return msg


class ShortWaitsClient(AsyncKernelClient):
    shell_channel_class = Type(ShortWaits)
    iopub_channel_class = Type(ShortWaits)


class ShortWaitsManager(AsyncKernelManager):
    @default("client_factory")
    def _short_waits(self):
        return ShortWaitsClient


def record_lines(name: str, scale: str) -> list:
    """What notebook ``name`` run at ``SCALE = scale`` reads from ``results/``: a list of
    ``(files under results/, line it prints when found, line it prints when not)``; a line is matched
    at the start of an output line. At ``ci`` the training chapters train live and read nothing, except
    05, which always draws its figures from the small records; 06 always looks for the paper-scale records."""
    if name == "06_full_gpu_training":
        return [("paper/train_*/record.json", "records in ", "No paper-scale records in ")]
    if name == "05_hessian_dynamics":  # at every scale: the live ci runs, then figures from the shipped small records
        return [("small/records/hessian-dynamics.json", "figures below: the shipped small records",
                 "figures below: no shipped small records here")]
    if scale == "ci":
        return []
    live = f"no shipped {scale} records yet: the {{}} below are the live ci runs"
    if name == "04_single_vs_looped":
        return [(f"{scale}/records/sample-dynamics.json", f"curves and verdicts: the shipped {scale} records",
                 live.format("curves and verdicts"))]
    if name == "09_recursion_or_depth":  # without records it trains at `scale` (no fallback): run it only with records
        return [(f"{scale}/records/recursion-or-depth.json", f"loaded the shipped {scale} records", None)]
    return []


def set_scale(nb, scale: str) -> None:
    """Set ``SCALE = "<scale>"`` in the setup cell (tests/test_notebook_pairs.py keeps the template)."""
    cell = next(c for c in nb.cells if c.cell_type == "code")
    assert 'SCALE = "ci"' in cell.source, "the setup cell has no SCALE = \"ci\""
    cell.source = cell.source.replace('SCALE = "ci"', f'SCALE = "{scale}"', 1)


def output_lines(nb) -> list:
    """Every line the notebook printed or displayed as text."""
    lines = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            lines += "".join(text).splitlines()
    return lines


def execute(job) -> dict:
    """Run one notebook (``(path, scale, release)``); returns its result row. For a student release
    (``release``) the row also lists what ``scripts/check_student_release.py`` finds wrong in the
    executed notebook (an exercise cell that printed more than the checker's notice)."""
    path, scale, release = job
    LATE.clear()
    nb = nbformat.read(path, as_version=4)
    if scale != "ci":
        set_scale(nb, scale)
    started, error = time.perf_counter(), None
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                       extra_arguments=QUIET, kernel_manager_class=ShortWaitsManager).execute()
    except CellExecutionError as e:
        error = f"{e.ename}: {e.evalue}"
    except Exception as e:  # noqa: BLE001 - a dead kernel, a timeout: the notebook fails, the others still run
        error = f"{type(e).__name__}: {e}"
    out = path if scale == "ci" else path.with_name(f"{path.stem}.{scale}.ipynb")
    nbformat.write(nb, out)
    problems = []
    if release:
        from check_student_release import check_cells  # scripts/: this script's folder

        problems = [f"cell {i}: {msg}" for i, msg in check_cells(nb)]
    return {"name": path.stem, "scale": scale, "seconds": time.perf_counter() - started, "error": error,
            "lines": output_lines(nb), "cells": cell_seconds(nb), "late": list(LATE), "release": problems}


def cell_seconds(nb) -> list:
    """``(index, seconds)`` of every executed code cell, from nbclient's timestamps."""
    from datetime import datetime

    out = []
    for i, cell in enumerate(nb.cells):
        t = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in t and "shell.execute_reply" in t:
            start, end = (datetime.fromisoformat(t[k].replace("Z", "+00:00")) for k in ("iopub.execute_input", "shell.execute_reply"))
            out.append((i, (end - start).total_seconds()))
    return out


def timing(row: dict) -> str:
    """The notebook's seconds; for a slow one, where they went (its slowest cell, the kernel's start and stop)."""
    text = f"{row['seconds']:5.0f} s"
    if row["late"]:
        kinds = ", ".join(sorted({kind for kind, _ in row["late"]}))
        text += f" ({len(row['late'])} kernel messages picked up late, up to {max(t for _, t in row['late']):.0f} s: {kinds})"
    if row["seconds"] > 120 and row["cells"]:
        i, slowest = max(row["cells"], key=lambda c: c[1])
        text += f" (slowest cell #{i}: {slowest:.0f} s; outside cells: {row['seconds'] - sum(c[1] for c in row['cells']):.0f} s)"
    return text


def check_records(row: dict, results: Path | None) -> list:
    """``(ok, message)`` for each shipped-records line this notebook should have printed."""
    checks = []
    for files, found_line, fallback_line in record_lines(row["name"], row["scale"]):
        shipped = results is not None and any(results.glob(files))
        want = found_line if shipped else fallback_line
        if want is None:
            checks.append((False, f"nothing shipped in results/{files}: it would train at {row['scale']}, not fall back"))
            continue
        ok = any(line.startswith(want) for line in row["lines"])
        said = "used the shipped records" if shipped else "said it fell back"
        checks.append((ok, said if ok else f"did not print {want!r} (results/{files} {'is' if shipped else 'is not'} there)"))
    return checks


def kernel_check() -> str:
    """Run a one-cell notebook; fail unless its kernel is this Python. Returns what the kernel runs."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import sys, platform, importlib.metadata as md\n"
        "def version(p):\n"
        "    try:\n"
        "        return f'{p} {md.version(p)}'\n"
        "    except md.PackageNotFoundError:\n"
        "        return f'no {p}'\n"
        "print(sys.executable)\n"
        "print(f'Python {platform.python_version()}, ' + ', '.join(map(version, "
        "('torch', 'numpy', 'scipy', 'matplotlib', 'ipywidgets', 'loopvalley'))))")])
    NotebookClient(nb, timeout=120, kernel_name="python3", extra_arguments=QUIET, kernel_manager_class=ShortWaitsManager).execute()
    exe, versions = output_lines(nb)[:2]
    if Path(exe).resolve() != Path(sys.executable).resolve():
        sys.exit(f"the notebooks' kernel runs {exe}, not this Python ({sys.executable}): a Jupyter kernelspec "
                 "named python3 points elsewhere")
    return f"{exe} ({versions})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="a scratch copy of the notebooks")
    ap.add_argument("--results", required=True,
                    help="the results/ folder the notebooks should find shipped records in, or 'none'")
    ap.add_argument("--small", nargs="*", default=[], metavar="NAME", help="also run these at SCALE = \"small\"")
    ap.add_argument("--jobs", type=int, default=2, help="notebooks executed at a time (default 2)")
    ap.add_argument("--release", action="store_true",
                    help="the folder is a student release: also check every exercise cell printed only the "
                         "checker's notice (scripts/check_student_release.py)")
    args = ap.parse_args(argv)
    folder = args.folder.resolve()
    results = None if args.results == "none" else Path(args.results).resolve()
    if results is None:  # a Colab-like run: make sure nothing could find shipped records
        above = [p / "results" for p in (folder, *folder.parents) if (p / "results").exists()]
        if above or os.environ.get("LOOPVALLEY_RESULTS"):
            sys.exit(f"--results none, but shipped results could be found: {above or '$LOOPVALLEY_RESULTS is set'}")
    elif not results.is_dir():
        sys.exit(f"no results folder at {results}")

    print(f"kernel: {kernel_check()}", flush=True)
    cache = Path(os.environ["LOOPVALLEY_RUN_CACHE"]) if os.environ.get("LOOPVALLEY_RUN_CACHE") else None
    cached = set(cache.glob("*.pkl")) if cache and cache.is_dir() else set()
    notebooks = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    jobs = [(p, "ci", args.release) for p in notebooks] + [(folder / f"{n}.ipynb", "small", args.release) for n in args.small]
    failed = []
    # spawned, not forked: a forked worker would share this process's event loop (its epoll) with its siblings
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        for row in pool.map(execute, jobs):
            checks = [(row["error"] is None, f"FAILED: {row['error']}" if row["error"] else "ran")]
            checks += check_records(row, results)
            checks += [(False, f"student release: {p}") for p in row["release"]]
            ok = all(c[0] for c in checks)
            print(f"{'ok  ' if ok else 'FAIL'} {row['name']} (SCALE = {row['scale']}) {timing(row)}: "
                  + "; ".join(msg for _, msg in checks), flush=True)
            if not ok:
                failed.append(f"{row['name']}@{row['scale']}")
    if cache is not None:  # 05's Assumption-1 job is always new: its key holds tensors, whose pickles differ between runs
        print(f"run cache {cache}: {len(set(cache.glob('*.pkl')) - cached)} training jobs computed now, the others redrawn")
    print(f"notebooks: {len(jobs) - len(failed)} passed, {len(failed)} failed" + (f" ({', '.join(failed)})" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
