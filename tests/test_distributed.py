"""Data parallelism and the accelerated trainer, on the CPU: two gloo processes under torchrun train
the same run as one process (same global batch → same loss curve, within float tolerance)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from loopvalley.looped.compute import cost_ratio, flops_at_evals
from loopvalley.looped.models import ModelConfig, build_model, forward_flops
from loopvalley.scale.distributed import AcceleratedTrainer, DistInfo, resolve_amp
from loopvalley.train import RunRecord, TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[1]


def _benchmark(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
RUN = ["--model", "looped", "--scale", "ci", "--steps", "12", "--eval-every", "4", "--n-train", "256",
       "--n-test", "50", "--batch-size", "32", "--threads", "1", "--quiet"]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = str(ROOT / "lib") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_two_processes_equal_one(tmp_path):
    """torchrun --nproc_per_node 2 (gloo): each rank trains on half of the same global batch of 32,
    DDP averages the gradients, losses and metrics are all-reduced, rank 0 writes."""
    from loopvalley.__main__ import main

    torch.set_num_threads(1)
    assert main(["train", *RUN, "--out", str(tmp_path / "one")]) == 0
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "loopvalley", "train", *RUN, "--out", str(tmp_path / "two")]
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    one = RunRecord.load(tmp_path / "one" / "record.json")
    two = RunRecord.load(tmp_path / "two" / "record.json")
    assert two.meta["world_size"] == 2 and one.meta["world_size"] == 1
    assert len(two.train_loss) == 12 and two.eval_step == one.eval_step
    np.testing.assert_allclose(two.train_loss, one.train_loss, rtol=0, atol=1e-5)
    for split in ("simple", "complex"):  # 50 test sequences: uneven shards (25/25 here), sums reduced
        np.testing.assert_allclose(two.eval_loss[split], one.eval_loss[split], rtol=0, atol=1e-5)
        np.testing.assert_allclose(two.eval_acc[split], one.eval_acc[split], rtol=0, atol=1e-6)
    assert list(flops_at_evals(two)) == list(flops_at_evals(one))  # FLOPs of the global batch
    assert res.stdout.count("wrote") == 1  # only rank 0 prints and writes


def _tiny(seed=0):
    cfg = ModelConfig(vocab_size=3, max_len=12, d_model=8)
    x = torch.randint(3, (96, 12), generator=torch.Generator().manual_seed(seed))
    return cfg, x


def test_one_process_accelerated_trainer_is_the_plain_trainer():
    cfg, x = _tiny()
    tc = TrainConfig(batch_size=16, max_steps=10, eval_every=5, device="cpu")
    a = Trainer(build_model(cfg, torch.Generator().manual_seed(1)), x, {"t": x[:40]}, tc).run()
    t = AcceleratedTrainer(build_model(cfg, torch.Generator().manual_seed(1)), x, {"t": x[:40]}, tc, amp="off")
    b = t.run()
    assert b.train_loss == a.train_loss and b.eval_loss == a.eval_loss and b.eval_acc == a.eval_acc
    assert t.train_module is t.model and t.amp == "off" and not t.compiled


def test_sharding_splits_the_global_batch_evenly():
    from types import SimpleNamespace

    shares = [AcceleratedTrainer.shard(SimpleNamespace(world_size=2, rank=r), torch.arange(16)) for r in (0, 1)]
    assert torch.equal(torch.cat(shares), torch.arange(16)) and len(shares[0]) == 8
    uneven = [AcceleratedTrainer.shard(SimpleNamespace(world_size=2, rank=r), torch.arange(7)) for r in (0, 1)]
    assert torch.equal(torch.cat(uneven), torch.arange(7))  # evaluation splits may be uneven
    cfg, x = _tiny()
    with pytest.raises(ValueError, match="divisible"):
        AcceleratedTrainer(build_model(cfg), x, None, TrainConfig(batch_size=15, device="cpu"),
                           dist=DistInfo(rank=0, world_size=2))


def test_bf16_autocast_covers_the_training_forward_only():
    cfg, x = _tiny()
    tc = TrainConfig(batch_size=16, max_steps=6, eval_every=3, device="cpu")
    t = AcceleratedTrainer(build_model(cfg, torch.Generator().manual_seed(1)), x, {"t": x[:32]}, tc, amp="bf16")
    seen = {}

    def probe(trainer):
        seen[trainer.step] = torch.is_autocast_enabled("cpu")  # probes run outside autocast
        return None

    probe.name, probe.every = "p", 1
    t.probes.append(probe)
    r = t.run()
    assert t.amp == "bf16" and np.isfinite(r.train_loss).all() and not any(seen.values())
    assert all(p.dtype == torch.float32 for p in t.model.parameters())  # weights stay float32
    ref = Trainer(build_model(cfg, torch.Generator().manual_seed(1)), x, {"t": x[:32]}, tc).run()
    np.testing.assert_allclose(r.train_loss, ref.train_loss, atol=3e-2)  # bf16 ≈ float32
    assert resolve_amp("auto", torch.device("cpu")) == "off"


def test_compile_failure_falls_back_to_eager(monkeypatch):
    cfg, x = _tiny()

    class Broken(torch.nn.Module):
        def forward(self, *a, **k):
            raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", lambda m, **k: Broken())
    tc = TrainConfig(batch_size=16, max_steps=3, device="cpu")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = AcceleratedTrainer(build_model(cfg, torch.Generator().manual_seed(1)), x, None, tc, compile=True)
    assert not t.compiled and t.train_module is t.model
    assert any("training eagerly" in str(m.message) for m in w)
    assert all(p.grad is None for p in t.model.parameters())  # the warm-up left no gradient
    ref = Trainer(build_model(cfg, torch.Generator().manual_seed(1)), x, None, tc).run()
    assert t.run().train_loss == ref.train_loss


def test_peak_table_and_cost_ratio():
    peak_bf16_flops = _benchmark("throughput").peak_bf16_flops
    assert peak_bf16_flops("NVIDIA H200") == 989e12
    assert peak_bf16_flops("NVIDIA H100 PCIe") == 756e12  # the longest match wins
    assert peak_bf16_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert peak_bf16_flops("cpu") is None and peak_bf16_flops("anything", 100.0) == 100e12
    cfg = ModelConfig(vocab_size=3, max_len=32, d_model=32)
    cr = cost_ratio(cfg, 64, 32, 3)
    assert cr["ratio"] == pytest.approx(forward_flops(cfg, 3, 64, 32) / forward_flops(cfg, 1, 64, 32))
    assert cr["ratio"] == pytest.approx(3 - 2 * cr["readout_share"]) and cr["ratio"] < 3


def test_throughput_table_has_the_ratio_columns():
    rows = [dict(scale="ci", mode="eager", model=m, batch=64, seq_len=32, step_ms=ms, tokens_per_s=1e5,
                 flops_per_s=1e9, flops_per_step=f, mfu=None) for m, ms, f in (("single", 2.0, 1.0), ("looped", 5.0, 2.97))]
    text = _benchmark("throughput").throughput_table(rows)
    assert "2.50×" in text and "2.97×" in text


# -- Hessian-vector products under torchrun ------------------------------------------------------

HVP_DRIVER = """
import sys
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from loopvalley.hessian import operator as hs
from loopvalley.looped.models import ModelConfig, build_model
from loopvalley.train import next_token_loss

torch.set_num_threads(1)
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
model = build_model(ModelConfig(vocab_size=3, max_len=8, d_model=6, init_std=0.5), torch.Generator().manual_seed(0))
batch = torch.randint(0, 3, (13, 8), generator=torch.Generator().manual_seed(1))  # 13 sequences: shards of 7 and 6
shard = batch.tensor_split(world)[rank]
V = torch.randn(3, 144, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
out = {}
for method in ("reverse", "forward"):
    H = hs.Hessian(DistributedDataParallel(model), next_token_loss, shard, "attention", method=method,
                   group=dist.group.WORLD)  # the wrapper is unwrapped: products on the model itself
    out[method] = {"hv": H.hvp(V[0]), "HV": H.hvp(V), "grad": H.gradient(), "loss": H.loss()}
top = hs.lanczos(H, 5, tol=1e-12, return_vectors=True)
out.update(eig=top.eigenvalues, vec=top.eigenvectors, res=top.residuals, dense=H.dense())
torch.save(out, f"{sys.argv[1]}/rank{rank}.pt")
dist.destroy_process_group()
"""


def _torchrun(*args, timeout=240):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *map(str, args)]
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    return res


def test_hessian_products_and_spectrum_on_two_processes_equal_one_on_the_whole_batch(tmp_path):
    """Two gloo ranks, each with its shard (7 and 6 of 13 sequences) on the model inside a DDP wrapper:
    the all-reduced products (both methods), gradient, loss, dense matrix and top-5 equal one process's on
    the concatenated batch to 1e-10 (float64), and the two ranks agree bit for bit."""
    from loopvalley.hessian import operator as hs
    from loopvalley.looped.models import ModelConfig, build_model
    from loopvalley.train import next_token_loss

    torch.set_num_threads(1)
    (tmp_path / "driver.py").write_text(HVP_DRIVER)
    _torchrun(tmp_path / "driver.py", tmp_path)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    model = build_model(ModelConfig(vocab_size=3, max_len=8, d_model=6, init_std=0.5), torch.Generator().manual_seed(0))
    batch = torch.randint(0, 3, (13, 8), generator=torch.Generator().manual_seed(1))
    V = torch.randn(3, 144, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for method in ("reverse", "forward"):
        H = hs.Hessian(model, next_token_loss, batch, "attention", method=method)
        one = {"hv": H.hvp(V[0]), "HV": H.hvp(V), "grad": H.gradient(), "loss": torch.tensor(H.loss())}
        for key, want in one.items():
            got = torch.as_tensor(ranks[0][method][key])
            assert float((got - want).abs().max()) <= 1e-10 * max(1.0, float(want.abs().max())), (method, key)
            assert torch.equal(got, torch.as_tensor(ranks[1][method][key]))  # every rank holds the same numbers
    top = hs.lanczos(H, 5, tol=1e-12, return_vectors=True)  # the same start: the same Krylov space
    assert float((ranks[0]["eig"] - top.eigenvalues).abs().max()) <= 1e-10
    assert float((ranks[0]["vec"] - top.eigenvectors).abs().max()) <= 1e-8
    assert float((ranks[0]["dense"] - H.dense()).abs().max()) <= 1e-10
    assert torch.allclose(ranks[0]["eig"], torch.linalg.eigvalsh(H.dense()).flip(0)[:5], rtol=1e-10)
    assert all(torch.equal(ranks[0][k], ranks[1][k]) for k in ("eig", "vec", "res", "dense"))


SPECTRUM = ["--scale", "ci", "--arm", "looped", "--k", "4", "--steps", "30", "--probe-batch", "16"]
SPECTRUM_DRIVER = """
import argparse, sys
from loopvalley.hessian.cli import add_spectrum_parser

parser = argparse.ArgumentParser()
add_spectrum_parser(parser.add_subparsers(dest="command", required=True))
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args))
"""


def test_spectrum_command_on_two_processes_equals_one(tmp_path, capsys):
    """`spectrum` through its parser, in this process and under torchrun --nproc_per_node 2 (each rank half
    of the 16 probe sequences): the same eigenvalues, printed once, by rank 0."""
    import argparse
    import json

    from loopvalley.hessian.cli import add_spectrum_parser

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    add_spectrum_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["spectrum", *SPECTRUM, "--out", str(tmp_path / "one.json")])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "top-4 by Lanczos" in printed and "1 process: 16" in printed
    (tmp_path / "driver.py").write_text(SPECTRUM_DRIVER)
    res = _torchrun(tmp_path / "driver.py", "spectrum", *SPECTRUM, "--out", tmp_path / "two.json")
    one, two = (json.loads((tmp_path / f).read_text()) for f in ("one.json", "two.json"))
    assert two["processes"] == 2 and one["processes"] == 1 and two["converged"]
    np.testing.assert_allclose(two["eigenvalues"], one["eigenvalues"], rtol=1e-10)
    assert res.stdout.count("top-4 by Lanczos") == 1 and "2 processes: 8 + 8" in res.stdout
    bad = parser.parse_args(["spectrum", *SPECTRUM, "--probe-batch", "0"])
    with pytest.raises(SystemExit):  # a bad option exits with a message naming it
        bad.func(bad)
    assert "probe_batch must be an integer" in capsys.readouterr().err
