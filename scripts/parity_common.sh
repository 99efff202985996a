# The pieces scripts/ci_colab_parity.sh and scripts/ci_binder_parity.sh share; sourced from the
# repository's root, after `set -euo pipefail`.

# parity_workdir NAME KEPT: a fresh work folder in $work. At exit it goes (on a failure only its venv,
# and $work/KEPT, the executed notebooks, stays), deleted in the background: a venv is 1.2 GB of small
# files, which took up to a minute to delete on a busy disk.
parity_workdir() {
  work=$(mktemp -d -t "$1.XXXXXX")
  PARITY_KEPT=$2
  trap 'if [ $? = 0 ]; then gone=$work; else gone=$work/venv; echo "executed notebooks kept in $work/$PARITY_KEPT"; fi
        (rm -rf "$gone" >/dev/null 2>&1 &)' EXIT
}

# pip_q CMD...: run a pip command, hiding the noise of this machine's partial local package indexes.
pip_q() { "$@" 2> >(grep -v "neither a file nor a directory" >&2); }

# copy_tracked DEST: the checkout as a clone has it (what git tracks, and untracked files it does not ignore).
copy_tracked() {
  mkdir "$1"
  git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - | tar -xf - -C "$1"
}

# same_code PY: fail unless the library PY imports (from outside the checkout) is lib/'s code, so the
# run cache's entries (keyed by the library's source) apply.
same_code() {
  local fingerprint='from loopvalley.parallel import _code_fingerprint as f; print(f().hex())'
  if [ "$(cd "$work" && "$1" -c "$fingerprint")" != "$(PYTHONPATH="$PWD/lib" "$1" -c "$fingerprint")" ]; then
    echo "FAILED: the installed library's code differs from lib/ (a module missing from the install?)"
    exit 1
  fi
}

# run_cache_note: make $LOOPVALLEY_RUN_CACHE absolute (the notebooks run elsewhere), or say that there is none.
run_cache_note() {
  if [ -n "${LOOPVALLEY_RUN_CACHE:-}" ]; then export LOOPVALLEY_RUN_CACHE=$(realpath "$LOOPVALLEY_RUN_CACHE")
  else echo "note: no \$LOOPVALLEY_RUN_CACHE: every training run is computed (several minutes more)"; fi
}
