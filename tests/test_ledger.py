"""The shipped ledger answers to the rules table and to the machine: its rules hash is the current
table's (a rule change forces a new confirmatory run), every claim has a kind and its robustness, and
the numbers do not depend on the CPU's vector width (pinned kernels)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from loopvalley import rules as R
from loopvalley.claims import load_ledger, load_ledger_meta

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "results" / "small" / "claims.json"


def test_the_shipped_ledger_was_run_under_the_current_rules():
    """Change a rule and this fails until the confirmatory run is redone (the commit changing a rule
    lands before the commit that ships its ledger)."""
    meta = load_ledger_meta(SHIPPED)
    assert meta.get("rules_hash") == R.table_hash(), (
        "results/small/claims.json was written under another rules table: rerun `python -m loopvalley reproduce`")
    for c in load_ledger(SHIPPED):
        assert c["rule_hash"] == R.rule(c["id"]).hash, f"{c['id']}: its rule changed since the shipped run"


def test_every_shipped_claim_has_a_kind_a_rule_and_its_robustness():
    ledger = load_ledger(SHIPPED)
    assert {c["id"] for c in ledger} == set(R.table()), "every rule is measured, every measured claim has a rule"
    for c in ledger:
        assert c["kind"] in R.KINDS and c["chapter"]
        assert c["confirmatory"] or c["deterministic"], f"{c['id']} was not decided on confirmatory seeds"
        if c["kind"] == "empirical":
            assert c["alternatives"] and c["robust"] in (True, False), c["id"]
            assert c["status"] in ("holds", "fails", "inconclusive", "fragile")
        else:
            assert c["why"], c["id"]
    kinds = {c["id"]: c["kind"] for c in ledger}
    assert all(kinds[i] == "identity" for i in ("T2", "T4", "T5", "S3"))


def test_the_ledger_records_the_pinned_kernels():
    meta = load_ledger_meta(SHIPPED)
    assert meta["cpu_kernels"] == {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def _run(env_extra: dict, out: Path) -> list:
    """A 40-step Looped-Attn run of the ci Markov language (``train``, a teaching seed) in a fresh
    process: its training losses and evaluation accuracies, every float as it came out."""
    import json

    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "ONEDNN_MAX_CPU_ISA",
                                                           "LOOPVALLEY_CPU_KERNELS")}
    env.update(env_extra, PYTHONPATH=str(ROOT / "lib"))
    subprocess.run([sys.executable, "-m", "loopvalley", "train", "--model", "looped", "--scale", "ci", "--steps", "40",
                    "--eval-every", "20", "--seed", "500", "--threads", "1", "--out", str(out), "--quiet"],
                   check=True, env=env, capture_output=True)
    rec = json.loads((out / "record.json").read_text())
    return [rec["train_loss"], rec["eval_acc"], rec["eval_loss"]]


def _has(flag: str) -> bool:
    try:
        return f" {flag}" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not _has("avx2"), reason="needs an x86-64 CPU with AVX2")
def test_one_experiment_gives_the_same_numbers_under_two_vector_widths(tmp_path):
    """A training run at ci as on this machine (the library pins its kernels) and as an AVX2-only machine
    would run it (the capability set from outside): identical numbers, to the last bit. The control —
    the kernels left to an AVX-512 CPU — differs, so the pinning is what makes them equal."""
    pinned = _run({}, tmp_path / "pinned")
    avx2_machine = _run({"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}, tmp_path / "avx2")
    assert pinned == avx2_machine
    if _has("avx512f"):
        native = _run({"LOOPVALLEY_CPU_KERNELS": "native"}, tmp_path / "native")
        assert native != pinned, "with AVX-512 kernels the numbers should differ (else this test proves nothing)"
