"""The run record: everything a training run measured, as plain lists (JSON, no pickled objects).

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from loopvalley._validate import check_choice
from loopvalley.jsonable import jsonable, parse_json, read_json
from loopvalley.scales import SCALES

_REPO_RESULTS = Path(__file__).resolve().parents[2] / "results"  # the repository's results/ (editable install)
RESULTS_DIR = _REPO_RESULTS if _REPO_RESULTS.is_dir() else Path("results")  # else ./results (pip install)


@dataclass
class RunRecord:
    """What a run measured.

    Per training step: ``train_step``, ``train_loss``, ``lr``. Per evaluation point: ``eval_step``,
    ``eval_epoch``, ``wall`` (cumulative training seconds) and, per split, ``eval_loss[split]`` and
    ``eval_acc[split]``. ``probes[name]`` maps each key a probe returned to a list, always with
    ``"step"``. ``meta`` holds the configs, the parameter count and whatever the experiment adds.

    Introduced in notebooks/04_single_vs_looped.
    """

    meta: dict = field(default_factory=dict)
    train_step: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    eval_step: list = field(default_factory=list)
    eval_epoch: list = field(default_factory=list)
    wall: list = field(default_factory=list)
    eval_loss: dict = field(default_factory=dict)
    eval_acc: dict = field(default_factory=dict)
    probes: dict = field(default_factory=dict)

    @property
    def splits(self) -> list:
        return list(self.eval_acc)

    def curve(self, split: str, metric: str = "acc") -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of ``metric`` ("acc" or "loss") on ``split``."""
        check_choice("metric", metric, ("acc", "loss"))
        table = self.eval_acc if metric == "acc" else self.eval_loss
        check_choice("split", split, tuple(table))
        return np.asarray(self.eval_step), np.asarray(table[split], dtype=float)

    def probe(self, name: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` that probe ``name`` returned under ``key`` (values stacked if possible)."""
        check_choice("name", name, tuple(self.probes))
        rows = self.probes[name]
        check_choice("key", key, tuple(rows))
        try:
            vals = np.asarray(rows[key], dtype=float)
        except (ValueError, TypeError):  # ragged (e.g. spectra of varying length)
            vals = np.asarray(rows[key], dtype=object)
        return np.asarray(rows["step"]), vals

    def until(self, step: int) -> "RunRecord":
        """The record of the same run read only up to ``step``: every training step, evaluation point
        and probe row after it dropped (a shorter horizon read off the same run, for an analysis
        alternative; exact for a constant-lr run, which does not know its own length).

        Introduced in notebooks/04_single_vs_looped.
        """
        t = [i for i, k in enumerate(self.train_step) if k <= step]
        e = [i for i, k in enumerate(self.eval_step) if k <= step]

        def pick(xs, idx):  # the entries of a per-step (or per-evaluation) list; other lists as they are
            n = len(self.train_step) if idx is t else len(self.eval_step)
            return [xs[i] for i in idx] if len(xs) == n else list(xs)

        probes = {}
        for name, rows in self.probes.items():
            keep = [i for i, k in enumerate(rows.get("step", [])) if k <= step]
            probes[name] = {k: (pick(v, keep) if isinstance(v, list) and len(v) == len(rows["step"]) else v)
                            for k, v in rows.items()}
        return RunRecord(meta=dict(self.meta), train_step=pick(self.train_step, t), train_loss=pick(self.train_loss, t),
                         lr=pick(self.lr, t), eval_step=pick(self.eval_step, e), eval_epoch=pick(self.eval_epoch, e),
                         wall=pick(self.wall, e), eval_loss={k: pick(v, e) for k, v in self.eval_loss.items()},
                         eval_acc={k: pick(v, e) for k, v in self.eval_acc.items()}, probes=probes)

    def add_probe_row(self, name: str, step: int, row: Mapping) -> None:
        """Append one probe's returned ``row`` at ``step`` to ``probes[name]``."""
        rows = self.probes.setdefault(name, {"step": []})
        rows["step"].append(int(step))
        for k, v in row.items():
            rows.setdefault(k, []).append(jsonable(v, strict=False))

    # -- io ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return jsonable(asdict(self), strict=False)

    @classmethod
    def from_dict(cls, d: Mapping) -> "RunRecord":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def save(self, path) -> Path:
        """Write the record as JSON (``.json``) or as a NumPy archive of JSON text (``.npz``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict())
        if path.suffix == ".npz":
            np.savez_compressed(path, record=np.asarray(text))
        else:
            path.write_text(text)
        return path

    @classmethod
    def load(cls, path) -> "RunRecord":
        """Read a record written by :meth:`save`; a damaged or foreign file raises a ``ValueError``
        naming it and saying what is wrong."""
        path = Path(path)
        what = "a run record written by RunRecord.save"
        if path.suffix != ".npz":
            return _record(read_json(path, what), str(path))
        if not path.is_file():
            raise ValueError(f"{path} does not exist (expected {what})")
        try:
            with np.load(path, allow_pickle=False) as z:
                text = str(z["record"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            raise ValueError(f"{path} is truncated or not a run-record archive ({type(e).__name__}: {e}; "
                             f"expected {what})") from None
        return _record(parse_json(text, path, what), str(path))


def _record(d, where: str) -> RunRecord:
    """A :class:`RunRecord` from a dict read from a file (``where`` names it in the message); a
    ``ValueError`` when it is not a dict or lacks a field :meth:`RunRecord.save` always writes."""
    if not isinstance(d, dict):
        raise ValueError(f"{where} is JSON but not a run record (a {type(d).__name__}, not an object)")
    if "claims" in d and "meta" not in d:  # a ledger (claims.json), a common mix-up
        raise ValueError(f"{where} is JSON but not a run record: it is a ledger of claims (read it with "
                         "loopvalley.claims.load_ledger)")
    missing = [k for k in RunRecord.__dataclass_fields__ if k not in d]
    if missing:
        raise ValueError(f"{where} is not a complete run record: it lacks {', '.join(missing)}")
    return RunRecord.from_dict(d)


def _rounded(x, digits: int):
    """Floats rounded to ``digits`` significant digits, recursively (shipped files stay small)."""
    if isinstance(x, float):
        return float(f"{x:.{digits}g}") if x == x and abs(x) != float("inf") else x
    if isinstance(x, list):
        return [_rounded(v, digits) for v in x]
    if isinstance(x, dict):
        return {k: _rounded(v, digits) for k, v in x.items()}
    return x


def save_records(path, records: Mapping[str, "RunRecord"], digits: int = 6) -> Path:
    """Write ``{key: RunRecord}`` as one JSON file, floats rounded to ``digits`` significant digits
    (the shipped records under ``results/<scale>/records/`` that notebooks draw from).

    Introduced in notebooks/04_single_vs_looped.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: _rounded(r.to_dict(), digits) for k, r in records.items()}))
    return path


def load_records(path) -> dict:
    """``{key: RunRecord}`` from a file written by :func:`save_records`. A damaged or foreign file
    (missing, truncated, not JSON, not a ``{key: record}`` object, a record lacking a field) raises a
    ``ValueError`` naming the file and saying what is wrong.

    Introduced in notebooks/04_single_vs_looped.
    """
    data = read_json(path, "run records written by save_records")
    if not isinstance(data, dict):
        raise ValueError(f"{path} is JSON but not a run-records file (a {type(data).__name__}, not an object "
                         "{key: record} as save_records writes)")
    return {k: _record(v, f"{path}, record {k!r},") for k, v in data.items()}


def results_dir(scale: str = "paper", root=None) -> Path:
    """Where shipped results of ``scale`` live: ``root``, else ``$LOOPVALLEY_RESULTS``, else the
    repository's ``results/``; then ``<scale>/``."""
    check_choice("scale", scale, SCALES)
    base = Path(root) if root is not None else Path(os.environ.get("LOOPVALLEY_RESULTS") or RESULTS_DIR)
    return base / scale
