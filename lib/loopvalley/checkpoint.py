"""Checkpoints: everything a :class:`loopvalley.train.Trainer` needs to resume bit for bit.

A checkpoint holds the model's weights, the optimizer's moments, the data order (epoch, position,
permutation, generator state), the step, the wall clock, the run record so far and every probe's
state (``probe.state_dict()``), as tensors and plain values only, so it loads with
``torch.load(..., weights_only=True)``. A resumed run equals the uninterrupted one (tested).

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Mapping

import torch

from loopvalley.jsonable import jsonable
from loopvalley.records import RunRecord

# what load_trainer_state reads (trainer_state writes them all)
CHECKPOINT_KEYS = ("model", "optimizer", "step", "total_steps", "stream", "wall", "done_at", "record", "probe_states")


def trainer_state(trainer) -> dict:
    """The trainer's full state (tensors and plain values only).

    Introduced in notebooks/04_single_vs_looped.
    """
    model = trainer.model
    return {
        "model": model.state_dict(),
        "model_attrs": {"n_loops": int(model.n_loops)} if hasattr(model, "n_loops") else {},
        "optimizer": trainer.optimizer.state_dict(),
        "train_cfg": trainer.cfg.to_dict(),
        "step": trainer.step,
        "total_steps": trainer.total_steps,
        "stream": trainer.stream.state_dict(),
        "wall": trainer.wall,
        "done_at": dict(trainer._done_at),
        "record": trainer.record.to_dict(),
        "probe_states": jsonable({p.name: p.state_dict() for p in trainer.probes if hasattr(p, "state_dict")},
                                 strict=False),
    }


def load_trainer_state(trainer, state: Mapping) -> None:
    """Restore :func:`trainer_state` into ``trainer`` (same model architecture, same data). Never
    aliases ``state``: training on afterwards leaves the caller's copy unchanged.

    Introduced in notebooks/04_single_vs_looped.
    """
    state = copy.deepcopy(dict(state))
    for k, v in state.get("model_attrs", {}).items():
        setattr(trainer.model, k, v)
    trainer.model.load_state_dict(state["model"])
    trainer.build_optimizer().load_state_dict(state["optimizer"])
    trainer.step, trainer.total_steps, trainer.wall = state["step"], state["total_steps"], state["wall"]
    trainer.stream.load_state_dict(state["stream"])
    trainer._done_at = dict(state["done_at"])
    trainer.record = RunRecord.from_dict(state["record"])
    for p in trainer.probes:
        if hasattr(p, "load_state_dict") and p.name in state["probe_states"]:
            p.load_state_dict(state["probe_states"][p.name])


def save_checkpoint(trainer, path) -> Path:
    """Save :func:`trainer_state` with ``torch.save``; returns the path.

    Introduced in notebooks/04_single_vs_looped.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(trainer_state(trainer), path)
    return path


def load_checkpoint(path) -> dict:
    """A checkpoint read onto the CPU with ``torch.load(..., weights_only=True)``. A file that is not
    one (another format, a truncated or damaged archive, a torch file of something else) raises a
    ``ValueError`` naming it.

    Introduced in notebooks/04_single_vs_looped.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"resume: no checkpoint at {path}")
    if not path.is_file() or path.stat().st_size == 0:
        raise ValueError(f"{path} is not a loopvalley checkpoint ({'a folder' if path.is_dir() else 'an empty file'})")
    with open(path, "rb") as f:
        zipped = f.read(4) == b"PK\x03\x04"  # torch.save writes a zip archive
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises UnpicklingError, RuntimeError, KeyError, EOFError, ... on such a file
        what = ("not a file written by torch.save" if not zipped
                else "it holds objects a checkpoint never holds" if isinstance(e, pickle.UnpicklingError)
                else "truncated or damaged: torch cannot read the archive")
        raise ValueError(f"{path} is not a loopvalley checkpoint ({what})") from None
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise ValueError(f"{path} is a torch file but not a loopvalley checkpoint (it lacks {', '.join(missing)})")
    return state
