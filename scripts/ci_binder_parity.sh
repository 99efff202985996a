#!/usr/bin/env bash
# Binder parity: run every notebook the way Binder serves it. A fresh virtual environment from
# binder/requirements.txt, binder/postBuild run from the repository's root (it installs the library
# non-editable, as repo2docker does), and every notebook executed through binder/start (its
# environment: the ci scale, one thread) from the notebooks/ folder of a copy of the repository, the
# kernel starting in that folder as it does on Binder. Every cell must run; notebooks 04, 05 and 09
# run a second time at SCALE = "small", and their figures must come from the shipped records in
# results/small/ (not from a ci fallback). Called by .ci/run after pytest; about 2 minutes with the nbval pass's run cache.
#
# What it does NOT test: the training numbers. .ci/run's nbval pass fills the run cache
# ($LOOPVALLEY_RUN_CACHE, loopvalley.parallel: keyed by the job, the thread count and the library's
# source, which the install keeps), and this run redraws those cached training runs instead of
# retraining them; every other cell runs here, in Binder's environment. Nor is it Binder itself: the
# machine's Python 3.11 stands in for runtime.txt's, and binder/requirements.txt's
# --extra-index-url line (download.pytorch.org, unreachable here: pip would retry every package
# against it for minutes) is left out; the +cpu torch wheel it names is served locally.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=($(grep -E '^(nbclient|ipykernel|nbformat)==' requirements.txt))  # Binder's image has these; executes notebooks headless

source scripts/parity_common.sh
parity_workdir binder-parity repo/notebooks

echo "binder parity: binder/runtime.txt asks for $(cat binder/runtime.txt); this run uses Python $(python3 -c 'import platform; print(platform.python_version())'), without binder/requirements.txt's --extra-index-url"
start=$(date +%s)
# The repository as Binder clones it: what git tracks.
copy_tracked "$work/repo"
python3 -m venv "$work/venv"
export PATH="$work/venv/bin:$PATH"  # Binder's python3 and pip, for postBuild and binder/start
grep -v -- "--extra-index-url" binder/requirements.txt > "$work/requirements.txt"
pip_q pip install -q --no-compile -r "$work/requirements.txt" "${TOOLS[@]}"
(cd "$work/repo" && pip_q ./binder/postBuild >/dev/null)  # as repo2docker runs it: from the repository's root
same_code python3
env_s=$(( $(date +%s) - start ))
echo "environment built in ${env_s} s (installed library = lib/: the run cache applies)"

run_cache_note
start=$(date +%s)
status=0
# Only what binder/start sets: the caller's settings (CI's included) stay out; the run cache stays in.
(cd "$work/repo/notebooks" && env -u PYTHONPATH -u LOOPVALLEY_RESULTS -u LOOPVALLEY_SCALE -u CI -u MPLBACKEND \
  ../binder/start python3 ../scripts/run_notebooks.py . --results ../results \
  --small 04_single_vs_looped 05_hessian_dynamics 09_recursion_or_depth) || status=$?
nb_s=$(( $(date +%s) - start ))
if [ $status = 0 ]; then verdict=PASSED; else verdict=FAILED; fi
echo "binder parity: $verdict (environment ${env_s} s, notebooks ${nb_s} s)"
exit $status
