"""The same verdicts on every machine: a stochastic experiment at ci gives identical verdict strings
under torch thread counts 1 and 2 (floating-point reduction order differs between them)."""

import json
import subprocess
import sys

SCRIPT = """
import json, sys, torch
torch.set_num_threads(int(sys.argv[1]))
from loopvalley.valley.experiment import config, river_valley_claims, run_river_valley
from loopvalley.seeds import teaching
seeds = teaching(config("ci").n_seeds)
claims = river_valley_claims(run_river_valley("ci", seeds), "ci", seeds)
print(json.dumps({c.id: [c.verdict, c.margin] for c in claims}))
"""


def _verdicts(threads: int) -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(threads)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_river_valley_verdicts_do_not_depend_on_the_thread_count():
    one, two = _verdicts(1), _verdicts(2)
    assert set(one) == {"T1", "T2", "T3", "T4", "T5", "T6a", "T6b"}
    assert {k: v[0] for k, v in one.items()} == {k: v[0] for k, v in two.items()}
