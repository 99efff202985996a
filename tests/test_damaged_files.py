"""Damaged or foreign files give a clear error naming the file (``ValueError``; exit 2 on the command
line) or, for shipped records, the live fallback — never a traceback from deep inside json or torch.

Every test plants its own damage in a copy of a real file the library wrote (a record saved with
``save_records``, a ledger from ``write_ledger``, a checkpoint from ``python -m loopvalley train``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from loopvalley.__main__ import main
from loopvalley.checkpoint import load_checkpoint
from loopvalley.claims import claim_from_margins, load_ledger, write_ledger
from loopvalley.jsonable import read_json
from loopvalley.looped.recursion_depth import RECORDS_NAME, shipped_runs
from loopvalley.records import RunRecord, load_records, save_records
from loopvalley.registry import shipped_records

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--scale", "ci", "--n-train", "256", "--n-test", "64", "--batch-size", "32", "--eval-every", "10",
        "--threads", "1", "--quiet"]


def _truncated(src: Path, dst: Path, frac: float = 0.5) -> Path:
    """A copy of ``src`` cut off at ``frac`` of its bytes."""
    data = src.read_bytes()
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data[: int(len(data) * frac)])
    return dst


def _records(path: Path, seeds=(1000, 1001), arms=("single", "looped")) -> Path:
    """A records file as ``reproduce`` ships it (``{"<seed>/<arm>": RunRecord}``, save_records)."""
    recs = {f"{s}/{a}": RunRecord(eval_step=[0, 10], eval_acc={"complex": [0.3, 0.5]}, eval_loss={"complex": [1.1, 0.9]},
                                  train_step=[1, 2], train_loss=[1.2, 1.1], lr=[1e-3, 1e-3], wall=[0.1, 0.2],
                                  meta={"arm": a}) for s in seeds for a in arms}
    return save_records(path, recs)


def _without(path: Path, dst: Path, field: str) -> Path:
    """A copy of the records file ``path`` whose first record lacks ``field``."""
    data = json.loads(path.read_text())
    del data[next(iter(data))][field]
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(json.dumps(data))
    return dst


@pytest.fixture(scope="module")
def train_run(tmp_path_factory):
    """``record.json`` and ``checkpoint.pt`` of a two-step ``train`` run (real files the library wrote)."""
    old = torch.get_num_threads()
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--model", "looped", *TINY, "--steps", "2", "--out", str(out)]) == 0
    torch.set_num_threads(old)
    return out


# ---------------------------------------------------------------------------------------------
# 1. run records: load_records and RunRecord.load


def test_every_cut_of_a_record_file_is_reported_truncated(tmp_path):
    good = _records(tmp_path / "good.json")
    n = len(good.read_bytes())
    for i in range(1, n, max(1, n // 150)):
        bad = _truncated(good, tmp_path / "cut.json", i / n)
        with pytest.raises(ValueError, match="cut.json is truncated"):
            load_records(bad)
    assert set(load_records(good)) == {"1000/single", "1000/looped", "1001/single", "1001/looped"}


@pytest.mark.parametrize("text, says", [
    ("", "is empty"),
    ("records:\n  - 1\n", "is not JSON"),
    ("[1, 2, 3]", "not a run-records file"),
    ('{"0/single": [1, 2]}', "not a run record"),
])
def test_load_records_of_a_foreign_file_names_it(tmp_path, text, says):
    bad = tmp_path / "foreign.json"
    bad.write_text(text)
    with pytest.raises(ValueError, match=says) as e:
        load_records(bad)
    assert str(bad) in str(e.value)


def test_load_records_of_a_record_lacking_a_field_names_file_record_and_field(tmp_path):
    bad = _without(_records(tmp_path / "good.json"), tmp_path / "lacking.json", "eval_step")
    with pytest.raises(ValueError, match="not a complete run record: it lacks eval_step") as e:
        load_records(bad)
    assert str(bad) in str(e.value) and "'1000/single'" in str(e.value)


def test_load_records_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_records(tmp_path / "nowhere.json")


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_run_record_load_of_a_truncated_file_names_it(train_run, tmp_path, suffix):
    good = RunRecord.load(train_run / "record.json").save(tmp_path / f"good{suffix}")
    bad = _truncated(good, tmp_path / f"cut{suffix}")
    with pytest.raises(ValueError, match="truncated") as e:
        RunRecord.load(bad)
    assert str(bad) in str(e.value)
    assert len(RunRecord.load(good).train_step) == 2


def test_run_record_load_of_a_ledger_is_not_a_run_record(tmp_path):
    ledger = tmp_path / "claims.json"
    shutil.copyfile(ROOT / "results" / "small" / "claims.json", ledger)
    with pytest.raises(ValueError, match="claims.json is JSON but not a run record"):
        RunRecord.load(ledger)


# ---------------------------------------------------------------------------------------------
# 2. shipped records: one printed line, then the caller's live fallback (None)


@pytest.mark.parametrize("damage", ["truncated", "lacking"])
def test_damaged_shipped_records_fall_back_with_one_line(tmp_path, monkeypatch, capsys, damage):
    monkeypatch.setenv("LOOPVALLEY_RESULTS", str(tmp_path / "results"))
    good = _records(tmp_path / "good.json")
    path = tmp_path / "results" / "small" / "records" / "sample-dynamics.json"
    if damage == "truncated":
        _truncated(good, path)
    else:
        _without(good, path, "eval_acc")
    assert shipped_records("small", "sample-dynamics") is None
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines
    assert str(path) in lines[0] and lines[0].endswith("falling back to the live ci runs")
    assert ("is truncated" if damage == "truncated" else "lacks eval_acc") in lines[0]
    # nothing shipped at all: None without a word; an intact file: the records
    assert shipped_records("paper", "sample-dynamics") is None and capsys.readouterr().out == ""
    shutil.copyfile(good, path)
    assert len(shipped_records("small", "sample-dynamics")) == 4


def test_damaged_shipped_records_of_recursion_depth_fall_back(tmp_path, capsys):
    good = _records(tmp_path / "good.json", arms=("single", "looped", "untied2"))
    _truncated(good, tmp_path / "results" / "small" / "records" / f"{RECORDS_NAME}.json", 0.7)
    assert shipped_runs("small", root=tmp_path / "results") is None
    assert "falling back to the live ci runs" in capsys.readouterr().out


def test_figures_with_damaged_shipped_records_take_the_fallback(tmp_path, capsys):
    """`figures` reads no claims.json; a damaged records file sends the chapter to its live fallback
    (here skipped: no time budget) instead of a traceback."""
    results = tmp_path / "results"
    _truncated(_records(tmp_path / "good.json"), results / "small" / "records" / "sample-dynamics.json")
    _truncated(ROOT / "results" / "small" / "claims.json", results / "small" / "claims.json")
    from loopvalley.figures import write_figures

    figs = write_figures(tmp_path / "out", scale="small", chapters=["04_single_vs_looped"], results=results, budget=0)
    assert [f.source for f in figs] == ["none"] and "no figure" in figs[0].caption
    assert "sample-dynamics.json is truncated" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# 3–4. checkpoints: load_checkpoint, and `train --resume` exits 2 with one line


def test_load_checkpoint_of_damaged_or_foreign_files_names_them(train_run, tmp_path):
    good = train_run / "checkpoint.pt"
    assert load_checkpoint(good)["step"] == 2
    cases = {
        _truncated(good, tmp_path / "cut.pt"): "truncated or damaged",
        train_run / "record.json": "not a file written by torch.save",
        _truncated(good, tmp_path / "empty.pt", 0.0): "an empty file",
        tmp_path: "a folder",
    }
    torch.save({"weights": torch.ones(2)}, tmp_path / "other.pt")
    cases[tmp_path / "other.pt"] = "a torch file but not a loopvalley checkpoint"
    for path, says in cases.items():
        with pytest.raises(ValueError, match=says) as e:
            load_checkpoint(path)
        assert str(path) in str(e.value) and "not a loopvalley checkpoint" in str(e.value)


@pytest.mark.parametrize("which", ["record", "truncated"])
def test_train_resume_from_a_non_checkpoint_exits_2_with_one_line(train_run, tmp_path, capsys, which):
    resume = train_run / "record.json" if which == "record" else _truncated(train_run / "checkpoint.pt", tmp_path / "cut.pt")
    with pytest.raises(SystemExit) as e:
        main(["train", "--model", "looped", *TINY, "--steps", "2", "--out", str(tmp_path / "out"), "--resume", str(resume)])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2
    assert err == [f"python -m loopvalley train: error: {resume} is not a loopvalley checkpoint "
                   + ("(not a file written by torch.save)" if which == "record"
                      else "(truncated or damaged: torch cannot read the archive)")]


# ---------------------------------------------------------------------------------------------
# 5. `figures --out` a file


@pytest.mark.parametrize("sub", ["", "inside"])
def test_figures_out_a_file_exits_2_naming_it(tmp_path, capsys, sub):
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    out = path / sub if sub else path
    with pytest.raises(SystemExit) as e:
        main(["figures", "--out", str(out), "--only", "02_u_vs_v_valleys"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert (f"out: {out} is a file, not a folder" if not sub else f"out: cannot create the folder {out}") in err
    assert path.read_text() == "not a folder"


# ---------------------------------------------------------------------------------------------
# 6–7. the ledger: load_ledger and scripts/readme_table.py


def _ledger(tmp_path) -> Path:
    c = claim_from_margins("T1", "a statement", "the paper", {"margin": [1.0, 1.2, 0.9]}, rule="m > 0",
                           rule_version="1", scale="ci", seeds=[1000, 1001, 1002], exploratory_seeds=[0])
    js, _ = write_ledger([c], tmp_path / "ledger")
    return js


def test_load_ledger_of_damaged_files_names_them(tmp_path):
    good = _ledger(tmp_path)
    assert [c["id"] for c in load_ledger(good)] == ["T1"]
    bad = _truncated(good, tmp_path / "cut" / "claims.json", 0.6)
    with pytest.raises(ValueError, match="is truncated") as e:
        load_ledger(bad)
    assert str(bad) in str(e.value)
    rows = json.loads(good.read_text())["claims"]
    del rows[0]["verdict"]
    lacking = tmp_path / "lacking.json"
    lacking.write_text(json.dumps(rows))
    with pytest.raises(ValueError, match="claim T1 lacks verdict"):
        load_ledger(lacking)
    with pytest.raises(ValueError, match="not a claims ledger"):
        load_ledger(_records(tmp_path / "records.json"))


def test_readme_table_with_a_truncated_ledger_exits_2_naming_it(tmp_path):
    ledger = _truncated(ROOT / "results" / "small" / "claims.json", tmp_path / "claims.json")
    readme = tmp_path / "README.md"
    shutil.copyfile(ROOT / "README.md", readme)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_table.py"), "--ledger", str(ledger),
                        "--readme", str(readme)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2, r.stderr
    assert f"error: {ledger} is truncated" in r.stderr and "Traceback" not in r.stderr
    assert readme.read_text() == (ROOT / "README.md").read_text()  # left as it was


def test_read_json_says_what_was_expected(tmp_path):
    p = tmp_path / "x.json"
    p.write_bytes(b"\x80\x81 binary")
    with pytest.raises(ValueError, match=r"x.json is not a text file, so not JSON \(expected a thing\)"):
        read_json(p, "a thing")
    with pytest.raises(ValueError, match="cannot read"):
        read_json(tmp_path, "a thing")
