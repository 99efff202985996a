"""The README's verdict table is the shipped ledger's, never typed by hand."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_verdict_table_equals_the_shipped_ledger():
    ledger = ROOT / "results" / "small" / "claims.json"
    assert ledger.exists(), "results/small/claims.json is not shipped: run python -m loopvalley reproduce"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_table.py"), "--check"], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_table_lists_every_claim_of_the_ledger_with_its_verdict():
    from loopvalley.claims import load_ledger

    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- verdicts:start -->", 1)[1].split("<!-- verdicts:end -->", 1)[0]
    for c in load_ledger(ROOT / "results" / "small" / "claims.json"):
        row = next((line for line in table.splitlines() if line.startswith(f"| {c['id']} |")), None)
        assert row is not None, f"{c['id']} missing from the README's verdict table"
        assert c["verdict"] in row
