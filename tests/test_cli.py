"""The command line: `train` from presets with overrides, `reproduce --max-steps`, resume, bad arguments."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from loopvalley.__main__ import main
from loopvalley.claims import load_ledger
from loopvalley.looped.arms import build_arm
from loopvalley.looped.runs import markov_run
from loopvalley.scale.presets import FieldError, apply_overrides, load_shipped_records, override_fields, preset
from loopvalley.train import RunRecord, Trainer

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--scale", "ci", "--n-train", "256", "--n-test", "64", "--batch-size", "32", "--eval-every", "10",
        "--threads", "1", "--quiet"]


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _exit_code_and_err(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code, capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Bad arguments: exit status 2, a message naming the option


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--no-such-field", "3"], "--no-such-field"),  # unknown field
        (["--lr", "-1"], "--lr"),  # out of range
        (["--d-model", "0"], "--d-model"),
        (["--n-heads", "5"], "--n-heads"),  # d_model 32 not divisible by 5
        (["--steps", "0"], "--steps"),
        (["--batch-size", "many"], "--batch-size"),  # not an integer
        (["--looped-depth", "1"], "--looped-depth"),  # Looped-Attn needs >= 2 loops
        (["--n-loops", "1"], "--n-loops"),  # its former name, kept as an alias
        (["--simple-quantile", "0.95"], "--simple-quantile"),  # above complex_quantile
        (["--amp", "fp8"], "--amp"),
        (["--patience", "2"], "--patience"),  # a SHIFT field on --model looped
        (["--ckpt-every", "-5"], "--ckpt-every"),
        (["--st", "20"], "--st"),  # no abbreviations
    ],
)
def test_train_bad_arguments_exit_2_naming_the_option(extra, named, capsys):
    code, err = _exit_code_and_err(["train", "--model", "looped", "--scale", "ci", *extra, "--print-config"], capsys)
    assert code == 2
    assert named in err, err


def test_train_needs_a_model_and_reproduce_checks_max_steps(capsys):
    code, err = _exit_code_and_err(["train", "--scale", "ci"], capsys)
    assert code == 2 and "--model" in err
    code, err = _exit_code_and_err(["reproduce", "--max-steps", "0"], capsys)
    assert code == 2 and "--max-steps" in err


def test_apply_overrides_routes_coupled_fields():
    p = apply_overrides(preset("looped", "ci"), {"seq_len": 16, "vocab_size": 4, "looped_depth": 5, "steps": 7})
    assert p.data.markov.seq_len == 16 and p.model.max_len == 16
    assert p.data.markov.vocab_size == 4 and p.model.vocab_size == 4
    assert p.model.n_loops == 5 and p.looped_depth == 5 and p.train.max_steps == 7
    assert apply_overrides(preset("looped", "ci"), {"n_loops": 4}).model.n_loops == 4  # the former name
    s = apply_overrides(preset("single", "ci"), {"d_model": 16})
    assert s.model.n_loops == 1 and s.model.d_model == 16
    # SHIFT starts single and switches to the looped depth: both derived from it
    sh = apply_overrides(preset("shift", "ci"), {"looped_depth": 4, "patience": 2})
    assert sh.model.n_loops == 1 and sh.shift.loops_after_switch == 4 and sh.shift.patience == 2
    for name in ("looped_depth", "n_loops"):
        with pytest.raises(FieldError) as e:
            apply_overrides(preset("single", "ci"), {name: 3})
        assert e.value.option == "--" + name.replace("_", "-")
    assert "loops_after_switch" not in override_fields()  # derived, not an option
    # every field of every config is an option
    names = set(override_fields())
    assert {"lr", "d_model", "batch_size", "alpha", "n_train", "amp", "compile", "ckpt_every", "resume"} <= names


def test_presets_are_the_markov_run():
    for scale in ("ci", "small", "paper"):
        run, p = markov_run(scale), preset("looped", scale)
        assert p.train == run.train and p.data == run.data and p.model.d_model == run.model.d_model
        assert p.model.n_loops == run.looped_depth and preset("single", scale).model.n_loops == 1
        assert preset("shift", scale).shift.loops_after_switch == run.looped_depth


def test_cli_help_comes_from_field_metadata(capsys):
    fields = override_fields()
    assert fields["delta1"].help.startswith("δ1") and fields["amp"].choices == ("auto", "bf16", "off")
    assert fields["lr"].help == "peak learning rate η" and fields["schedule"].choices[-1] == "wsd"
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "peak learning rate" in capsys.readouterr().out


def test_print_config_is_json(capsys):
    assert main(["train", "--model", "shift", "--scale", "paper", "--lr", "1e-3", "--print-config"]) == 0
    out = capsys.readouterr().out
    cfg = json.loads(out[out.index("{"):])
    assert cfg["train"]["lr"] == 1e-3 and cfg["scale"] == "paper" and cfg["shift"]["loops_after_switch"] == 3 and cfg["looped_depth"] == 3


# ---------------------------------------------------------------------------------------------
# Runs


def test_train_runs_on_cpu_and_writes_record(tmp_path, capsys):
    out = tmp_path / "looped"
    assert main(["train", "--model", "looped", *TINY, "--steps", "20", "--out", str(out)]) == 0
    r = RunRecord.load(out / "record.json")
    assert len(r.train_step) == 20 and np.isfinite(r.train_loss).all()
    assert r.eval_step == [0, 10, 20] and set(r.eval_acc) == {"simple", "complex"}
    assert r.meta["name"] == "looped" and r.meta["model_cfg"]["n_loops"] == 3 and r.meta["world_size"] == 1
    assert (out / "checkpoint.pt").exists() and json.loads((out / "config.json").read_text())["model_name"] == "looped"
    state = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert state["step"] == 20
    assert "wrote" in capsys.readouterr().out


def test_train_same_seed_same_run_as_the_experiment(tmp_path):
    """`train --model single --seed 0` is the sample-dynamics experiment's Single-Attn run of seed 0."""
    main(["train", "--model", "single", *TINY, "--steps", "8", "--out", str(tmp_path)])
    got = RunRecord.load(tmp_path / "record.json")
    p = apply_overrides(preset("single", "ci"), {"n_train": 256, "n_test": 64, "batch_size": 32, "eval_every": 10,
                                                 "steps": 8})
    data = p.data.sample(0)
    want = Trainer(build_arm("single", p.run, 0), data.train, data.eval_sets, p.train).run()
    np.testing.assert_allclose(got.train_loss, want.train_loss, rtol=0, atol=1e-6)


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, monkeypatch):
    from loopvalley.scale import distributed

    argv = ["train", "--model", "shift", *TINY, "--steps", "30", "--check-every", "5", "--patience", "1",
            "--delta1", "0.5", "--delta2", "inf"]
    main([*argv, "--out", str(tmp_path / "full")])
    full = RunRecord.load(tmp_path / "full" / "record.json")

    real_save = distributed.AcceleratedTrainer.save_checkpoint

    def save_then_crash(self, path):
        real_save(self, path)
        raise KeyboardInterrupt  # the machine goes away right after the first checkpoint

    monkeypatch.setattr(distributed.AcceleratedTrainer, "save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        main([*argv, "--out", str(tmp_path / "cut"), "--ckpt-every", "12"])
    monkeypatch.setattr(distributed.AcceleratedTrainer, "save_checkpoint", real_save)
    assert not (tmp_path / "cut" / "record.json").exists()
    main([*argv, "--out", str(tmp_path / "cut"), "--ckpt-every", "12", "--resume", "auto"])
    cut = RunRecord.load(tmp_path / "cut" / "record.json")
    assert cut.train_loss == full.train_loss and cut.eval_loss == full.eval_loss
    assert cut.meta["switch_step"] == full.meta["switch_step"] is not None  # SHIFT switched, at the same step
    assert cut.probes["flops"] == full.probes["flops"]
    # a checkpoint does not resume a different run
    with pytest.raises(SystemExit):
        main([*argv, "--out", str(tmp_path / "cut"), "--lr", "1e-4", "--resume", str(tmp_path / "cut" / "checkpoint.pt")])


def test_reproduce_paper_scale_on_cpu_with_max_steps(tmp_path):
    """`reproduce --scale paper` runs on a CPU as a smoke test with --max-steps."""
    out = tmp_path / "paper"
    code = main(["reproduce", "--scale", "paper", "--only", "sample-dynamics", "--seeds", "2", "--max-steps", "2",
                 "--workers", "1", "--out", str(out), "--quiet"])
    assert code == 0
    claims = load_ledger(out / "claims.json")
    assert {c["id"] for c in claims} == {"S1", "S2", "S3"} and all(c["scale"] == "paper" for c in claims)
    assert "capped at 2 steps" in (out / "REPORT.md").read_text()


# ---------------------------------------------------------------------------------------------
# Shipped results and the GPU script


def test_load_shipped_records(tmp_path):
    assert load_shipped_records("paper", root=tmp_path) is None
    d = tmp_path / "paper" / "train_looped"
    d.mkdir(parents=True)
    RunRecord(train_step=[0], train_loss=[1.0]).save(d / "record.json")
    (tmp_path / "paper" / "throughput.json").write_text("[]")
    got = load_shipped_records("paper", root=tmp_path)
    assert list(got["records"]) == ["looped"] and got["records"]["looped"].train_loss == [1.0]
    assert got["throughput"] == [] and got["claims"] is None


def test_gpu_check_script_parses_and_is_executable():
    script = ROOT / "scripts" / "gpu_check.sh"
    assert script.stat().st_mode & 0o111, "scripts/gpu_check.sh must be executable"
    subprocess.run(["bash", "-n", str(script)], check=True)


@pytest.mark.parametrize("name, loops", [("single", "1 loop"), ("looped", "3 loops"), ("shift", "1 loop → 3 (SHIFT)")])
def test_describe_names_each_models_loops(name, loops):
    """`train --print-config`'s first paragraph, for every model (a preset without SHIFT has no shift config)."""
    from loopvalley.scale.presets import describe, preset

    assert describe(preset(name, "ci")).startswith(f"{name} @ ci: {loops}, d_model ")
