"""The notebooks in a real browser: JupyterLab in headless Chromium, every cell run, every widget moved.

    python scripts/browser_check.py                          # every notebooks/NN_*.ipynb
    python scripts/browser_check.py notebooks/01_river_valley.ipynb notebooks/03_markov_language.ipynb
    python scripts/browser_check.py --report /tmp/browser.json --shots /tmp/shots

What it does, per run:
1. Installs what it needs when it is missing: Debian's ``chromium`` (``apt-get update && apt-get
   install -y chromium``, as root) and ``playwright`` from PyPI, driven with an explicit
   ``executable_path=/usr/bin/chromium`` (Playwright never downloads a browser here).
2. Starts JupyterLab on 127.0.0.1 with a random token, in a temporary HOME (its own settings:
   no autosave, every cell rendered, no news), serving a temporary copy of ``notebooks/`` with the
   outputs stripped (so whatever it finds was produced now, and the repository's files are never
   written); the rest of the repository is linked beside it.
3. For each notebook: opens it, runs all cells (the lab's ``notebook:run-all-cells`` command, i.e.
   Run → Run All Cells), waits for the kernel, and fails on
   - any error output, or a code cell that did not run;
   - any widget that did not render (JupyterLab's widget manager shows an error view, or nothing);
   - any slider- or dropdown-driven widget whose figure does not change after a control moves
     (every slider and dropdown of the widget is moved one step, one at a time: sliders with the
     keyboard, dropdowns to the next option); widgets with buttons have their buttons pressed, and
     must not raise.
4. Prints one line per notebook with its timings (open, run all, widgets) and exits 1 on any failure.
The kernel runs at ``LOOPVALLEY_SCALE=ci`` with one thread (``CI=1``), like nbval.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
PLAYWRIGHT = "playwright==1.65.2"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

LAB_SETTINGS = {  # user settings of the temporary JupyterLab
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


# -- installing -------------------------------------------------------------------------------------
def ensure_chromium() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if path:
        return path
    if os.geteuid() != 0:
        sys.exit("chromium is missing: run `apt-get update && apt-get install -y chromium` as root")
    print("installing Debian's chromium (apt-get) ...", flush=True)
    subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return CHROMIUM


def ensure_playwright():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        print(f"installing {PLAYWRIGHT} (pip; no browser download) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", PLAYWRIGHT], check=True)
    from playwright.sync_api import sync_playwright

    return sync_playwright


# -- the temporary JupyterLab ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stripped_copy(src: Path, dst: Path):
    """``src`` notebook without outputs, execution counts or widget state."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
            c.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, dst)


class Lab:
    """JupyterLab on 127.0.0.1 with a token, in a temporary HOME, serving a copy of the notebooks."""

    def __init__(self, notebooks, log_to=None):
        self.tmp = Path(tempfile.mkdtemp(prefix="lv-browser-"))
        self.home, self.root = self.tmp / "home", self.tmp / "root"
        (self.root / "notebooks").mkdir(parents=True)
        for p in ROOT.iterdir():  # the repository beside the copied notebooks (results/, lib/, docs/ ...)
            if p.name not in {"notebooks", ".git", "jupytext.toml"}:  # no pairing: the copies stay unpaired
                (self.root / p.name).symlink_to(p)
        for p in (ROOT / "notebooks").iterdir():
            if p.suffix not in {".ipynb", ".py"} and p.is_file():  # data beside the notebooks (run_times.json)
                shutil.copy2(p, self.root / "notebooks" / p.name)
        for nb in notebooks:
            stripped_copy(nb, self.root / "notebooks" / nb.name)
        settings = self.home / "settings"
        for rel, value in LAB_SETTINGS.items():
            f = settings / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(value))
        self.port, self.token = _free_port(), secrets.token_hex(16)
        env = {k: v for k, v in os.environ.items() if k not in {"MPLBACKEND", "JPY_SESSION_NAME"}}
        env.update(HOME=str(self.home), JUPYTER_CONFIG_DIR=str(self.home / ".jupyter"),
                   JUPYTER_RUNTIME_DIR=str(self.home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.home / "workspaces"), IPYTHONDIR=str(self.home / ".ipython"),
                   LOOPVALLEY_SCALE="ci", CI="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        self.log = open(log_to or self.tmp / "lab.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
             "--LabApp.expose_app_in_browser=True", *(["--allow-root"] if os.geteuid() == 0 else []), "--LabApp.news_url=", "--ServerApp.open_browser=False",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            env=env, cwd=self.root, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.log.flush()
                    text = (self.tmp / "lab.log").read_text()[-3000:]
                    self.close()
                    raise RuntimeError(f"JupyterLab did not start; its log ends:\n{text}")
                time.sleep(0.3)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- one notebook -----------------------------------------------------------------------------------
JS_OPEN = """async (path) => {
  const app = window.jupyterapp;
  const w = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await w.context.ready; await w.sessionContext.ready;
  window.__bc = {w, done: false, ok: null, error: null, busy: 0};
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  if (k) k.statusChanged.connect((_, s) => { if (s === 'busy') window.__bc.busy++; });  // kernel activity
  return w.sessionContext.session ? w.sessionContext.session.kernel.name : null;
}"""
JS_RUN = """() => {
  const s = window.__bc; s.done = false;
  window.jupyterapp.commands.execute('notebook:run-all-cells')
    .then(ok => { s.ok = ok; s.done = true; }, e => { s.error = String(e); s.done = true; });
}"""
JS_IDLE = """() => { const k = window.__bc.w.sessionContext.session?.kernel; return !!k && k.status === 'idle'; }"""
JS_CELLS = """() => {
  const cells = window.__bc.w.content.widgets;
  return cells.map((c, i) => {
    c.node.dataset.bcCell = String(i);
    if (c.model.type !== 'code') return {i, type: c.model.type};
    const kids = c.outputArea ? Array.from(c.outputArea.node.children) : [];
    kids.forEach((k, j) => { k.dataset.bcOut = i + '-' + j; });
    const outs = [];
    for (let j = 0; j < c.model.outputs.length; j++) {
      const o = c.model.outputs.get(j).toJSON();
      outs.push({j, type: o.output_type, mimes: Object.keys(o.data || {}), ename: o.ename || null,
                 evalue: o.evalue || null, name: o.name || null});
    }
    return {i, type: 'code', count: c.model.executionCount, source: c.model.sharedModel.getSource().slice(0, 80), outs};
  });
}"""
JS_CLOSE = """async () => {
  const w = window.__bc.w;
  try { await w.sessionContext.shutdown(); } catch (e) {}
  w.context.model.dirty = false; w.dispose();
}"""


def _images(out) -> list:
    return out.locator("img").evaluate_all("els => els.map(e => e.src)")


def _busy(page) -> int:
    return page.evaluate("() => window.__bc.busy")


def _wait_settled(page, out, before, busy0: int, timeout: float) -> str:
    """After a control moved: wait until the kernel is idle and the widget's images differ from
    ``before`` and have stopped changing ("changed"). On a loaded machine the value can reach the
    kernel seconds after the key press, so "unchanged" needs ≥ 15 s since the move with the kernel
    idle for the last 5 s and the images as before; "kernel never ran" means it stayed idle 20 s."""
    start, idle_since = time.time(), None
    while time.time() - start < timeout:
        idle = page.evaluate(JS_IDLE)
        now = _images(out)
        if idle and now and now != before:
            _wait_stable(page, out, now)  # the page may still be rendering the rest of the output
            return "changed"
        idle_since = (idle_since or time.time()) if idle else None
        waited = time.time() - start
        if idle and _busy(page) > busy0 and out.locator('[data-mime-type="application/vnd.jupyter.stderr"]').count():
            return "raised"  # the redraw raised: the traceback is in the widget's output
        if idle and _busy(page) <= busy0 and waited > 20.0:
            return "kernel never ran"
        if idle and waited > 15.0 and time.time() - idle_since > 5.0:
            return "unchanged"
        time.sleep(0.2)
    return "unchanged"


def _wait_stable(page, out, now, quiet: float = 2.0, limit: float = 60.0):
    """Wait until the widget's images have not changed, with the kernel idle, for ``quiet`` seconds
    (the front end renders outputs after the kernel is idle): the next control's "before" must be
    the finished figure."""
    start = last_change = time.time()
    while time.time() - last_change < quiet and time.time() - start < limit:
        time.sleep(0.25)
        cur = _images(out)
        if cur != now or not page.evaluate(JS_IDLE):
            now, last_change = cur, time.time()


def _move_slider(page, handle) -> bool:
    """One keyboard step (right, or left at the maximum); True when the slider's value moved."""
    value = lambda: handle.get_attribute("aria-valuenow")
    old = value()
    at_max = handle.evaluate("e => Number(e.getAttribute('aria-valuenow')) >= Number(e.getAttribute('aria-valuemax'))")
    for _ in range(2):  # a second try if the first key press found no focus
        handle.scroll_into_view_if_needed()
        handle.focus()
        page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
        for _ in range(20):
            if value() != old:
                return True
            time.sleep(0.1)
    return False


def _widget_errors(out) -> list:
    errs = []
    if out.locator(".jupyter-widgets-error-widget").count() or "Error displaying widget" in out.inner_text():
        errs.append("did not render (JupyterLab shows 'Error displaying widget')")
    elif out.locator(".jupyter-widgets").count() == 0:
        errs.append("did not render (no widget in the output)")
    tb = out.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
    if tb.count() and "Traceback" in tb.first.inner_text() + "".join(tb.all_inner_texts()):
        errs.append("raised: " + " | ".join(t.strip().splitlines()[-1][:200] for t in tb.all_inner_texts() if t.strip()))
    return errs


def _control_label(el, fallback: str) -> str:
    return el.evaluate("e => { const w = e.closest('.widget-inline-hbox, .widget-slider, .widget-dropdown');"
                       " const l = w && w.querySelector('.widget-label'); return l ? l.textContent.trim() : ''; }") or fallback


def exercise_widget(page, out, label: str, timeout: float, controls: str = "all") -> tuple[list, list, int]:
    """Move the sliders and dropdowns of the widget in ``out`` one at a time, each by one step (all of
    them, or only the first with ``controls="first"``), and press its buttons; returns
    (failures, notes, number of controls moved)."""
    fails, notes, moved = [], [], 0
    out.scroll_into_view_if_needed()
    _wait_stable(page, out, _images(out))
    handles, selects = out.locator(".noUi-handle"), out.locator(".widget-dropdown select")
    buttons = out.locator("button.jupyter-button, .widget-button")
    moves = [("slider", handles.nth(k)) for k in range(handles.count())]
    moves += [("dropdown", selects.nth(k)) for k in range(selects.count())]
    if controls == "first":
        moves = moves[:1]
    for kind, el in moves:
        desc = _control_label(el, kind)
        before, busy0 = _images(out), _busy(page)
        if kind == "slider":
            if not _move_slider(page, el):
                fails.append(f"{label}: could not move '{desc}' with the keyboard")
                continue
        else:
            n, i = el.evaluate("e => [e.options.length, e.selectedIndex]")
            if n < 2:
                continue
            el.select_option(index=(i + 1) % n)
        moved += 1
        state = _wait_settled(page, out, before, busy0, timeout)
        fails += [f"{label}, after moving '{desc}': {e}" for e in _widget_errors(out)]
        if not before:
            notes.append(f"{label}: '{desc}' moved; the widget shows no figure")
        elif state != "changed":
            fails.append(f"{label}: the figure did not change after moving '{desc}' ({state})")
    for k in range(buttons.count()):
        b = buttons.nth(k)
        desc = (b.inner_text() or b.get_attribute("title") or f"button {k + 1}").strip()
        before, busy0 = _images(out), _busy(page)
        b.click()
        state = _wait_settled(page, out, before, busy0, timeout)
        fails += [f"{label}, after pressing '{desc}': {e}" for e in _widget_errors(out)]
        if before and state != "changed" and not moves:
            fails.append(f"{label}: the figure did not change after pressing '{desc}' ({state})")
    return fails, notes, moved


def check_notebook(page, name: str, timeout: float, widget_timeout: float, shots: Path | None,
                   controls: str = "all") -> dict:
    res = {"notebook": name, "failures": [], "notes": [], "widgets": 0, "controls_moved": 0}
    t0 = time.time()
    kernel = page.evaluate(JS_OPEN, f"notebooks/{name}")
    page.wait_for_function(JS_IDLE, timeout=120_000)
    res["open_s"] = round(time.time() - t0, 1)
    t1 = time.time()
    page.evaluate(JS_RUN)
    try:
        page.wait_for_function("() => window.__bc.done", timeout=timeout * 1000, polling=500)
        page.wait_for_function(JS_IDLE, timeout=60_000, polling=250)
    except Exception:  # playwright's TimeoutError
        res["failures"].append(f"Run All did not finish within {timeout:.0f} s")
    res["run_s"] = round(time.time() - t1, 1)
    time.sleep(1.0)  # let the widget manager render the last outputs
    cells = page.evaluate(JS_CELLS)
    code = [c for c in cells if c["type"] == "code" and c["source"].strip()]
    for c in code:
        for o in c["outs"]:
            if o["type"] == "error":
                res["failures"].append(f"cell {c['i']} raised {o['ename']}: {str(o['evalue'])[:300]}")
    if not any("raised" in f for f in res["failures"]):
        res["failures"] += [f"cell {c['i']} did not run ({c['source'][:50]!r})" for c in code if c["count"] is None]
    t2 = time.time()
    for c in code:
        for o in c["outs"]:
            if WIDGET_MIME not in o["mimes"]:
                continue
            res["widgets"] += 1
            label = f"cell {c['i']} widget {o['j']}"
            out = page.locator(f'[data-bc-out="{c["i"]}-{o["j"]}"]')
            if out.count() == 0:
                res["failures"].append(f"{label}: no output element on the page")
                continue
            errs = _widget_errors(out)
            if errs:
                res["failures"] += [f"{label}: {e}" for e in errs]
                continue
            f, n, moved = exercise_widget(page, out, label, widget_timeout, controls)
            res["failures"] += f
            res["notes"] += n
            res["controls_moved"] += moved
    res["widgets_s"] = round(time.time() - t2, 1)
    res["kernel"] = kernel
    if shots is not None and res["failures"]:
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"{Path(name).stem}.png"), full_page=True)
    page.evaluate(JS_CLOSE)
    res["total_s"] = round(time.time() - t0, 1)
    return res


# -- self-test: planted notebooks the check must pass and fail ---------------------------------------
_DRAW = """import matplotlib.pyplot as plt
import ipywidgets as W
def draw(a):
    fig, ax = plt.subplots(figsize=(3, 2)); ax.plot([0, 1], [0, a]); ax.set_ylim(-1, 11); plt.show()
"""
SELF_TEST = {
    "bc_selftest_good.ipynb": (
        [_DRAW,
         "s = W.FloatSlider(value=1.0, min=0, max=10, step=0.5, description='a', continuous_update=False)\n"
         "d = W.Dropdown(options=[1, 2, 3], value=1, description='times')\n"
         "W.VBox([W.HBox([s, d]), W.interactive_output(lambda a, k: draw(a * k), {'a': s, 'k': d})])",
         "out = W.Output(); b = W.Button(description='Draw')\n"
         "n = [0]\n"
         "def click(_):\n    n[0] += 1\n    with out:\n        out.clear_output(wait=True); draw(n[0])\n"
         "b.on_click(click)\nW.VBox([b, out])"],
        []),
    "bc_selftest_bad.ipynb": (
        [_DRAW,
         "s = W.IntSlider(value=1, min=0, max=10, description='frozen', continuous_update=False)\n"
         "d = W.Dropdown(options=['x', 'y'], value='x', description='stuck')\n"
         "W.VBox([W.HBox([s, d]), W.interactive_output(lambda a, k: draw(3), {'a': s, 'k': d})])",
         "from IPython.display import display\n"
         "display({'application/vnd.jupyter.widget-view+json': {'model_id': 'no-such-model', 'version_major': 2,"
         " 'version_minor': 0}, 'text/plain': 'a widget'}, raw=True)",
         "def boom(a):\n    if a != 1: raise ValueError('widget callback failed')\n    draw(a)\n"
         "s2 = W.IntSlider(value=1, min=0, max=10, description='boom', continuous_update=False)\n"
         "W.VBox([s2, W.interactive_output(boom, {'a': s2})])",
         "raise ValueError('planted error')"],
        ["the figure did not change after moving 'frozen'", "the figure did not change after moving 'stuck'", "did not render", "widget callback failed",
         "the figure did not change after moving 'boom'", "raised ValueError: planted error"]),
}


def write_self_test(folder: Path) -> list:
    import nbformat

    paths = []
    for name, (cells, _) in SELF_TEST.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        paths.append(folder / name)
        nbformat.write(nb, paths[-1])
    return paths


def judge_self_test(results: list) -> list:
    """What the check got wrong on the planted notebooks (empty: it caught exactly the planted faults)."""
    wrong = []
    for r in results:
        want = SELF_TEST[r["notebook"]][1]
        got = " | ".join(r["failures"])
        wrong += [f"{r['notebook']}: missed '{w}'" for w in want if w not in got]
        if not want and r["failures"]:
            wrong.append(f"{r['notebook']}: false alarm: {got}")
        if len(r["failures"]) != len(want):
            wrong.append(f"{r['notebook']}: expected {len(want)} failures, got {len(r['failures'])}: {got}")
    return wrong


def _print_result(r: dict):
    status = "ok" if not r["failures"] else f"FAILED ({len(r['failures'])})"
    print(f"{r['notebook']}: {status} — open {r.get('open_s', '?')} s, run all {r.get('run_s', '?')} s, "
          f"widgets {r.get('widgets_s', '?')} s ({r['widgets']} widgets, {r['controls_moved']} controls moved), "
          f"total {r.get('total_s', '?')} s", flush=True)
    for f in r["failures"]:
        print(f"    - {f}", flush=True)
    for n in r["notes"]:
        print(f"    · {n}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="notebooks to check (default: notebooks/[0-9]*.ipynb)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds for one notebook's Run All (default 600)")
    ap.add_argument("--widget-timeout", type=float, default=120, help="seconds for one widget to redraw (default 120)")
    ap.add_argument("--controls", choices=("all", "first"), default="all",
                    help="move every slider/dropdown of a widget (default) or only its first control")
    ap.add_argument("--self-test", action="store_true",
                    help="first check two planted notebooks (one sound, one with every fault the check looks for)")
    ap.add_argument("--self-test-only", action="store_true", help="only the planted notebooks")
    ap.add_argument("--report", help="write the results as JSON here")
    ap.add_argument("--shots", help="write a full-page screenshot of every failing notebook into this folder")
    args = ap.parse_args(argv)
    nbs = [] if args.self_test_only else ([Path(p).resolve() for p in args.notebooks]
                                          or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")))
    missing = [str(p) for p in nbs if not p.exists()]
    if missing:
        sys.exit(f"no such notebook: {missing}")
    planted_dir = Path(tempfile.mkdtemp(prefix="lv-selftest-"))
    planted = write_self_test(planted_dir) if (args.self_test or args.self_test_only) else []
    chromium = ensure_chromium()
    sync_playwright = ensure_playwright()
    t_start = time.time()
    lab = Lab(planted + nbs)
    results, self_results = [], []
    shots = Path(args.shots) if args.shots else None
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)

            def new_page():
                pg = browser.new_page(viewport={"width": 1400, "height": 1000})
                pg.on("pageerror", lambda e: print(f"  [page error] {e}", file=sys.stderr))
                pg.goto(f"{lab.url}/lab?token={lab.token}")
                pg.wait_for_function("() => window.jupyterapp && window.jupyterapp.started !== undefined", timeout=120_000)
                pg.evaluate("() => window.jupyterapp.started")
                pg.wait_for_selector(".jp-LabShell", timeout=60_000)
                return pg

            page = new_page()
            print(f"JupyterLab and Chromium up in {time.time() - t_start:.1f} s", flush=True)
            for nb in planted + nbs:
                try:
                    r = check_notebook(page, nb.name, args.timeout, args.widget_timeout,
                                       shots if nb not in planted else None, args.controls)
                except Exception as e:  # a crash of the check itself is a failure of this notebook
                    r = {"notebook": nb.name, "failures": [f"the check crashed: {type(e).__name__}: {e}"[:500]],
                         "notes": [], "widgets": 0, "controls_moved": 0}
                    page.close()
                    page = new_page()
                (self_results if nb in planted else results).append(r)
                _print_result(r)
            browser.close()
    finally:
        lab.close()
        shutil.rmtree(planted_dir, ignore_errors=True)
    total = round(time.time() - t_start, 1)
    wrong = judge_self_test(self_results) if planted else []
    if planted:
        print("self-test: " + ("the check caught exactly the planted faults" if not wrong else "WRONG: " + "; ".join(wrong)))
    n_bad = sum(bool(r["failures"]) for r in results) + (1 if wrong else 0)
    n_all = len(results) + (1 if planted else 0)
    print(f"browser check took {total} s ({len(results)} notebooks" + (", self-test" if planted else "") + ")")
    print(f"browser: {n_all - n_bad} passed, {n_bad} failed")  # the closing line CI reads
    if args.report:
        Path(args.report).write_text(json.dumps({"total_s": total, "results": results, "self_test": self_results,
                                                 "self_test_wrong": wrong}, indent=1, ensure_ascii=False))
    return 1 if (n_bad or wrong) else 0


if __name__ == "__main__":
    sys.exit(main())
