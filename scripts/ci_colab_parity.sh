#!/usr/bin/env bash
# Colab parity: run every notebook the way a Colab student gets it. A fresh virtual environment with
# Colab's numpy, matplotlib, scipy and ipywidgets 7; the library installed from a built wheel (not
# editable, as Colab's `%pip install "loopvalley @ git+..."` installs it), which must leave those
# versions alone; the notebooks copied to a folder with no results/ anywhere above it (Colab opens a
# notebook alone), as the student release. Every cell must run, every exercise cell must print only its
# checker's notice, and every notebook that draws from shipped records must say that it fell back
# (the README promises it). Called by .ci/run after pytest; about 2 minutes with the nbval pass's run cache.
#
# What it does NOT test: the training numbers under Colab's packages. .ci/run's nbval pass fills the
# run cache ($LOOPVALLEY_RUN_CACHE, loopvalley.parallel: keyed by the job, the thread count and the
# library's source, which the wheel keeps), and this run redraws those cached training runs instead
# of retraining them. So the training itself ran on requirements.txt's numpy and matplotlib; here
# every other cell (closed forms, simulations, exercises, claims checks, figures, widgets) runs on
# Colab's versions. Nor is it Colab itself: Colab runs Python 3.13 and torch 2.11, this runs the
# machine's Python 3.11 and torch 2.13.0, the closest CPU build the package indexes serve here.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COLAB=(numpy==2.1.3 matplotlib==3.10.0 scipy==1.16.3 ipywidgets==7.7.1)  # Colab's versions
TORCH=torch==2.13.0  # Colab: 2.11 (not served here as a CPU build)
TOOLS=($(grep -E '^(nbclient|ipykernel|nbformat|tqdm)==' requirements.txt))  # what executes notebooks headless

source scripts/parity_common.sh
parity_workdir colab-parity notebooks

echo "colab parity: Colab runs Python 3.13 and torch 2.11; this run uses Python $(python3 -c 'import platform; print(platform.python_version())') and $TORCH (the closest CPU build served here); ${COLAB[*]} as on Colab"
start=$(date +%s)
python3 -m venv "$work/venv"
py=$work/venv/bin/python
pip_q "$py" -m pip install -q --no-compile "${COLAB[@]}" "$TORCH" "${TOOLS[@]}"

# The library from a wheel built from a copy of the checkout (what git tracks, as a clone has it).
copy_tracked "$work/src"
pip_q "$py" -m pip wheel -q --no-deps -w "$work/wheel" "$work/src"
"$py" -m pip freeze --exclude loopvalley > "$work/before.txt"
pip_q "$py" -m pip install -q --no-compile "$work"/wheel/*.whl
if ! "$py" -m pip freeze --exclude loopvalley | diff "$work/before.txt" -; then
  echo "FAILED: installing the wheel changed the packages above (<: Colab's, >: after): widen pyproject.toml's dependency ranges"
  exit 1
fi
same_code "$py"
env_s=$(( $(date +%s) - start ))
echo "environment built in ${env_s} s (installed library = lib/: the run cache applies)"

# The notebooks alone, as Colab opens them: no results/ above them, no $LOOPVALLEY_RESULTS. They are the
# student release (what a course hands out, and opens on Colab), written by the installed library from
# the notebooks' .ipynb twins: its code cells are the instructor copy's less any cell tagged `solution`,
# so this one pass also checks the release (every exercise cell prints only its checker's notice).
pip_q "$py" -m loopvalley student-release --out "$work/notebooks" --notebooks "$ROOT/notebooks" >/dev/null
run_cache_note
start=$(date +%s)
status=0
(cd "$work/notebooks" && env -u PYTHONPATH -u LOOPVALLEY_RESULTS LOOPVALLEY_SCALE=ci CI=1 MPLBACKEND=Agg \
  "$py" "$ROOT/scripts/run_notebooks.py" . --results none --release) || status=$?
nb_s=$(( $(date +%s) - start ))
if [ $status = 0 ]; then verdict=PASSED; else verdict=FAILED; fi
echo "colab parity: $verdict (environment ${env_s} s, notebooks ${nb_s} s)"
exit $status
