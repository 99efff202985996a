#!/usr/bin/env bash
# Regenerate the executed .ipynb twins from the reviewed py:percent sources, at the CI scale
# (the committed outputs are the ones nbval runs against), then re-sync the pair.
#   bash scripts/build_notebooks.sh                 # every notebook
#   bash scripts/build_notebooks.sh notebooks/02_u_vs_v_valleys.py
set -euo pipefail
cd "$(dirname "$0")/.."
export LOOPVALLEY_SCALE="${LOOPVALLEY_SCALE:-ci}" CI="${CI:-1}"
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(notebooks/[0-9]*.py)
for py in "${files[@]}"; do
  start=$(date +%s)
  (cd notebooks && jupytext --set-kernel python3 --to ipynb --execute "$(basename "$py")" >/dev/null 2>&1 \
     && jupytext --to py:percent "$(basename "${py%.py}").ipynb" >/dev/null 2>&1) || { echo "FAILED: $py"; exit 1; }
  echo "$py -> ${py%.py}.ipynb ($(( $(date +%s) - start )) s)"
done
