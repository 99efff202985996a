"""``python -m loopvalley train``: one Single-Attn, Looped-Attn or SHIFT run from a preset.

    python -m loopvalley train --model looped --scale ci --steps 200 --lr 3e-3 --out runs/demo
    python -m loopvalley train --model single --scale paper --ckpt-every 500 --out runs/p1
    python -m loopvalley train --model single --scale paper --resume auto --out runs/p1   # after an interruption
    torchrun --standalone --nproc_per_node 8 -m loopvalley train --model looped --scale paper --batch-size 512

Every field of the preset (:mod:`loopvalley.scale.presets`) is an option; ``--print-config`` shows the
resolved preset and exits. An unknown option or an out-of-range value exits with status 2 and a
message naming the option. The run writes ``<out>/record.json`` (the :class:`RunRecord`),
``<out>/config.json`` (the resolved preset) and ``<out>/checkpoint.pt`` (every ``--ckpt-every``
steps and at the end; ``--resume auto`` continues from it bit for bit).

Introduced in notebooks/06_full_gpu_training.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from loopvalley.checkpoint import load_checkpoint, load_trainer_state
from loopvalley.looped.compute import FlopCounter
from loopvalley.looped.models import build_model
from loopvalley.scale.distributed import AcceleratedTrainer, init_from_env, shutdown
from loopvalley.scale.presets import MODELS, FieldError, apply_overrides, describe, override_fields, preset
from loopvalley.scales import SCALES
from loopvalley.shift.controller import ShiftController

_SECTION_TITLES = {
    "model": "model (ModelConfig)",
    "markov": "language (MarkovConfig)",
    "data": "data sample (DataConfig)",
    "train": "training (TrainConfig)",
    "run": "loops",
    "shift": "SHIFT controller (ShiftConfig; --model shift only)",
    "runtime": "runtime (RuntimeConfig)",
}


def _none_or(conv):
    def parse(text: str):
        return None if text.lower() in ("none", "off") else conv(text)

    parse.__name__ = conv.__name__  # argparse names the type in "invalid int value"
    return parse


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand (one option per preset field) to ``subparsers``.

    Introduced in notebooks/06_full_gpu_training.
    """

    tp = subparsers.add_parser(
        "train", help="train one Single-Attn / Looped-Attn / SHIFT run from a preset",
        description=__doc__.split("\n\n")[0] + " Every preset field is an option (default: the preset's value).",
        allow_abbrev=False,
    )
    tp.add_argument("--model", choices=MODELS, required=True, help="the architecture")
    tp.add_argument("--scale", choices=SCALES, default=None,
                    help="preset size (default: $LOOPVALLEY_SCALE, else paper on a GPU, small on a CPU)")
    tp.add_argument("--print-config", action="store_true", help="print the resolved preset as JSON and exit")
    tp.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    groups: dict = {}
    for fld in override_fields().values():
        sec = fld.targets[0][0]
        grp = groups.get(sec) or groups.setdefault(sec, tp.add_argument_group(_SECTION_TITLES[sec]))
        kw = dict(dest=f"ov_{fld.name}", default=argparse.SUPPRESS, help=fld.help or fld.name)
        if fld.kind == "bool":
            grp.add_argument(fld.option, action=argparse.BooleanOptionalAction, **kw)
            continue
        if fld.kind == "pair":
            kw.update(nargs=2, type=float, metavar=("B1", "B2"))
        elif fld.kind in ("int", "float"):
            kw.update(type=int if fld.kind == "int" else float, metavar="N" if fld.kind == "int" else "X")
        elif fld.kind in ("int?", "float?"):
            kw.update(type=_none_or(int if fld.kind == "int?" else float),
                      metavar="N|none" if fld.kind == "int?" else "X|none")
        else:
            kw.update(type=str, metavar="TEXT")
            if fld.choices:
                kw.pop("metavar")
                kw.update(choices=fld.choices)
        grp.add_argument(fld.option, **kw)
    tp.set_defaults(func=_main_from_args, _train_parser=tp)
    return tp


def overrides_from_args(args) -> dict:
    """``{field: value}`` of the options given on the command line."""
    return {k[len("ov_"):]: v for k, v in vars(args).items() if k.startswith("ov_")}


def _main_from_args(args) -> int:

    parser = args._train_parser
    try:
        p = apply_overrides(preset(args.model, args.scale), overrides_from_args(args))
    except FieldError as e:
        parser.error(f"argument {e.option}: {e.message}")
    except ValueError as e:  # e.g. --model shift when loopvalley.shift.controller is missing
        parser.error(str(e))
    if args.print_config:
        print(describe(p))
        print(json.dumps(p.to_dict(), indent=2))
        return 0

    try:
        run_training(p, progress=not args.quiet)
    except ValueError as e:  # raised before any training step (e.g. device, resume, batch split): not
        parser.exit(2, f"{parser.prog}: error: {e}\n")  # a misspelt option, so one line without the usage
    finally:
        shutdown()  # leave the torchrun process group cleanly (no-op in one process)
    return 0


def run_training(p, progress: bool = False, log=print):
    """Train the preset ``p`` (a :class:`loopvalley.scale.presets.Preset`) and return its :class:`RunRecord`.

    Joins the ``torchrun`` process group when there is one; the language sample and the initial
    weights come from the same seeds as the sample-dynamics experiment. Rank 0 writes
    ``record.json``, ``config.json`` and ``checkpoint.pt`` into ``p.out_dir``.

    Introduced in notebooks/06_full_gpu_training.
    """
    import torch


    info = init_from_env(p.train.device)
    say = log if info.is_main else (lambda *a, **k: None)
    rt = p.runtime
    if rt.threads:
        torch.set_num_threads(rt.threads)
    seed = int(p.train.seed)
    torch.manual_seed(seed + info.rank)  # per-rank seed for anything unseeded (nothing in this model)
    data = p.data.sample(seed)  # the language sample of this seed (loopvalley.seeds.data_generator)
    model = build_model(p.model, torch.Generator().manual_seed(seed))  # the same weights on every rank
    probes = [ShiftController(p.shift)] if p.model_name == "shift" else []
    probes.append(FlopCounter())  # last: it prices each step at the loops the controller set
    cfg = replace(p.train, progress=bool(progress and info.is_main))
    trainer = AcceleratedTrainer(model, data.train, data.eval_sets, cfg, probes=probes,
                                 amp=rt.amp, compile=rt.compile, dist=info)
    trainer.record.meta.update(
        name=p.model_name, seed=seed, scale=p.scale, references=data.references,
        thresholds=list(data.thresholds), markov_cfg=p.data.markov.to_dict(), preset=p.to_dict(),
    )
    out = p.out_dir
    ckpt = out / "checkpoint.pt"
    resume = rt.resume
    if resume == "auto":
        resume = str(ckpt) if ckpt.exists() else ""
    if resume:
        state = load_checkpoint(resume)
        _check_same_run(state, trainer)
        load_trainer_state(trainer, state)
        say(f"resumed from {resume} at step {trainer.step}/{trainer.total_steps}")
    say(f"train {_summary_line(p, trainer)}")
    every = rt.ckpt_every or trainer.total_steps
    while not trainer.done:
        trainer.run(steps=every)
        trainer.save_checkpoint(ckpt)
    record = trainer.record
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        record.save(out / "record.json")
        (out / "config.json").write_text(json.dumps(p.to_dict(), indent=2) + "\n")
        say(_final_line(trainer, out))
    return record


def _check_same_run(state: dict, trainer) -> None:
    """A checkpoint resumes only the run it came from: same model and training settings."""
    want = trainer.cfg.to_dict()
    got = dict(state.get("train_cfg") or {})
    diff = [k for k in want if k not in ("progress", "device") and k in got and got[k] != want[k]]
    mc, saved = getattr(trainer.model, "cfg", None), state.get("record", {}).get("meta", {}).get("model_cfg")
    if mc is not None and saved not in (None, mc.to_dict()):
        diff += [f"model.{k}" for k, v in mc.to_dict().items() if saved.get(k) != v]
    if diff:
        raise ValueError(f"resume: the checkpoint was written with different settings ({', '.join(diff)}); "
                         "resume with the options of the interrupted run")


def _summary_line(p, trainer) -> str:
    world = f", {trainer.world_size} processes" if trainer.world_size > 1 else ""
    return (f"{p.model_name} @ {p.scale}: {trainer.total_steps} steps × batch {trainer.batch_size} × T "
            f"{p.data.markov.seq_len}, d_model {p.model.d_model}, loops {p.model.n_loops}"
            f"{' → ' + str(p.shift.loops_after_switch) if p.model_name == 'shift' else ''}; device {trainer.device}, "
            f"amp {trainer.amp}, {'compiled' if trainer.compiled else 'eager'}{world}")


def _final_line(trainer, out: Path) -> str:
    r = trainer.record
    parts = [f"{sp} acc {r.eval_acc[sp][-1]:.3f} loss {r.eval_loss[sp][-1]:.3f}" for sp in r.eval_acc]
    tps = len(r.train_step) * trainer.batch_size * trainer.train_tokens.shape[1] / max(r.wall[-1], 1e-9) \
        if r.wall else float("nan")
    s = r.meta.get("switch_step")
    switch = "" if s is None else f"; switched to {trainer.model.n_loops} loops at step {s}"
    return (f"step {trainer.step}: train loss {r.train_loss[-1]:.3f}; {'; '.join(parts)}{switch}; "
            f"{tps:,.0f} tokens/s; wrote {out}/record.json")
