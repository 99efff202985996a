#!/usr/bin/env bash
# Regenerate the executed .ipynb twins from the reviewed py:percent sources, at the CI scale
# (the committed outputs are the ones nbval runs against), re-sync the pair, and record each
# notebook's measured run time at ci in notebooks/run_times.json (what `loopvalley.notebook.setup`
# prints and notebooks/00_start_here tabulates).
#   bash scripts/build_notebooks.sh                 # every notebook
#   bash scripts/build_notebooks.sh notebooks/02_u_vs_v_valleys.py
#   bash scripts/build_notebooks.sh --time small notebooks/01_river_valley.py
#        # run a copy with SCALE = "small" and record its time; writes no .ipynb
#   bash scripts/build_notebooks.sh --record        # record the ci times of the committed .ipynb
#        # (from their cells' execution timestamps), executing nothing
# A time is the span from the first cell's start to the last cell's reply (kernel start-up excluded),
# i.e. what "Run All" costs a reader on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export LOOPVALLEY_SCALE="${LOOPVALLEY_SCALE:-ci}" CI="${CI:-1}"

times() {  # times record|time SCALE FILE...
  python3 - "$@" <<'PY'
import json, os, re, sys, time
from datetime import date, datetime
from pathlib import Path

mode, args = sys.argv[1], sys.argv[2:]
table_path = Path("notebooks/run_times.json")
ABOUT = ("Measured run times of every notebook (seconds, 'Run All' without kernel start-up). ci: written by "
         "scripts/build_notebooks.sh from each executed notebook; small/paper: `bash scripts/build_notebooks.sh "
         "--time small notebooks/NN_x.py` (a copy with SCALE = 'small'); null = not measured.")
rows = []  # (name, scale, seconds, how), written at the end under a lock


def span(nb) -> float | None:
    stamps = [c.get("metadata", {}).get("execution", {}) for c in nb["cells"] if c["cell_type"] == "code"]
    stamps = [s for s in stamps if s.get("iopub.execute_input") and s.get("shell.execute_reply")]
    if not stamps:
        return None
    t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
    return round((t(stamps[-1]["shell.execute_reply"]) - t(stamps[0]["iopub.execute_input"])).total_seconds(), 1)


def put(name, scale, seconds, how):
    rows.append((name, scale, seconds, how))


if mode == "record":
    for f in args:
        nb = json.loads(Path(f).with_suffix(".ipynb").read_text())
        sec = span(nb)
        first = next((c["metadata"]["execution"]["iopub.execute_input"][:10] for c in nb["cells"]
                      if c.get("metadata", {}).get("execution")), str(date.today()))
        put(Path(f).stem, "ci", sec, f"measured: scripts/build_notebooks.sh, {first}, {os.cpu_count()} CPU cores")
        print(f"{Path(f).stem}: ci {sec} s")
elif mode == "time":
    import jupytext
    from nbclient import NotebookClient

    scale, files = args[0], args[1:]
    for f in files:
        nb = jupytext.read(f)
        hit = False
        for c in nb.cells:
            if c.cell_type == "code" and re.search(r'^SCALE = "ci"', c.source, flags=re.M):
                c.source = re.sub(r'^SCALE = "ci"', f'SCALE = "{scale}"', c.source, count=1, flags=re.M)
                hit = True
                break
        if not hit:  # an older setup cell, setup(seed=0): it reads $LOOPVALLEY_SCALE
            print(f"{f}: no line `SCALE = \"ci\"`; timing it with LOOPVALLEY_SCALE={scale} only")
        os.environ["LOOPVALLEY_SCALE"] = scale
        start = time.time()
        NotebookClient(nb, timeout=None, kernel_name="python3",
                       resources={"metadata": {"path": str(Path(f).parent)}}).execute()
        sec = span(nb) or round(time.time() - start, 1)
        load = os.getloadavg()[0]
        put(Path(f).stem, scale, sec, f"measured: build_notebooks.sh --time {scale}, {date.today()}, {os.cpu_count()} CPU cores, "
                                      f"load average {load:.1f} at the end")
        print(f"{Path(f).stem}: {scale} {sec} s")
import fcntl, tempfile

with open(Path(tempfile.gettempdir()) / "loopvalley_run_times.lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)  # builds running side by side must not lose each other's rows
    table = json.loads(table_path.read_text()) if table_path.exists() else {}
    table["_about"] = ABOUT
    table.setdefault("machine", f"a {os.cpu_count()}-core CPU (1 torch thread)")
    nbs = table.setdefault("notebooks", {})
    for name, scale, seconds, how in rows:
        entry = nbs.setdefault(name, {})
        for s in ("ci", "small", "paper"):
            entry.setdefault(s, {"seconds": None, "how": "not measured"})
        entry[scale] = {"seconds": seconds, "how": how}
    table["notebooks"] = dict(sorted(nbs.items()))
    table_path.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n")
PY
}

case "${1:-}" in
  --time)
    [ $# -ge 3 ] || { echo "usage: $0 --time ci|small|paper notebooks/NN_x.py ..."; exit 2; }
    scale="$2"; shift 2; times time "$scale" "$@"; exit 0 ;;
  --record)
    shift; files=("$@"); [ ${#files[@]} -gt 0 ] || files=(notebooks/[0-9]*.py)
    have=(); for py in "${files[@]}"; do [ -f "${py%.py}.ipynb" ] && have+=("$py"); done
    times record "${have[@]}"; exit 0 ;;
esac

files=("$@")
[ ${#files[@]} -gt 0 ] || files=(notebooks/[0-9]*.py)
for py in "${files[@]}"; do
  start=$(date +%s)
  (cd notebooks && jupytext --set-kernel python3 --to ipynb --execute "$(basename "$py")" >/dev/null 2>&1 \
     && jupytext --to py:percent "$(basename "${py%.py}").ipynb" >/dev/null 2>&1) || { echo "FAILED: $py"; exit 1; }
  echo "$py -> ${py%.py}.ipynb ($(( $(date +%s) - start )) s)"
  times record "$py" >/dev/null
  # the setup cell printed the run time measured before this build: print the one just measured
  # (what the cell prints now; tests/test_notebook_pairs.py checks it equals the table)
  python3 - "${py%.py}.ipynb" <<'PY'
import json, sys
from pathlib import Path
from loopvalley.notebook import run_time_message

path = Path(sys.argv[1])
nb = json.loads(path.read_text())
cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and "from loopvalley.notebook import setup" in "".join(c["source"]))
for out in cell.get("outputs", []):
    if out.get("name") == "stdout":
        lines = "".join(out["text"]).splitlines(keepends=True)
        lines = [run_time_message(path.stem, "ci") + "\n" if l.startswith("Expected run time") else l for l in lines]
        out["text"] = lines
path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
PY
done
