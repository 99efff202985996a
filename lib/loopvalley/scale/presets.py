"""The ``train`` command line's presets: the Markov-language run of every chapter
(:func:`loopvalley.looped.runs.markov_run`) with every field of its dataclasses as one option, and the
shipped ``train`` records of a scale.

``python -m loopvalley train --model looped --seed S`` trains exactly the Looped-Attn run of seed S
that the chapters train.

Introduced in notebooks/06_full_gpu_training.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from loopvalley._validate import check_choice, check_int
from loopvalley.jsonable import read_json
from loopvalley.language.markov import MarkovConfig
from loopvalley.looped.compute import cost_ratio
from loopvalley.looped.models import ModelConfig, forward_flops
from loopvalley.looped.runs import DataConfig, MarkovRun, markov_run
from loopvalley.records import RunRecord, results_dir
from loopvalley.scale.distributed import AMP_MODES
from loopvalley.scales import SCALES, current_scale
from loopvalley.shift.controller import ShiftConfig
from loopvalley.train import TrainConfig

MODELS = ("single", "looped", "shift")


# ----------------------------------------------------------------------------------------------
# The `train` command line's presets


@dataclass
class RuntimeConfig:
    """How to run: precision, compilation, checkpoints, output (never changes the maths)."""

    amp: str = field(default="auto", metadata={"help": "bf16 autocast of the training forward: auto (on a bf16 CUDA GPU), bf16 or off",
                                               "choices": AMP_MODES})
    compile: bool = field(default=False, metadata={"help": "torch.compile the training forward (eager if compiling fails)"})
    ckpt_every: int = field(default=0, metadata={"help": "write <out>/checkpoint.pt every this many steps (0: only at the end)"})
    out: str = field(default="", metadata={"help": "output folder ('': runs/train/<model>-<scale>-seed<seed>)"})
    resume: str = field(default="", metadata={"help": "checkpoint to resume from ('auto': <out>/checkpoint.pt if it exists)"})
    threads: int = field(default=0, metadata={"help": "CPU threads for torch (0: torch's default)"})

    def __post_init__(self):
        check_choice("amp", self.amp, AMP_MODES)
        check_int("ckpt_every", self.ckpt_every, 0)
        check_int("threads", self.threads, 0)


@dataclass
class Preset:
    """Everything one ``train`` run needs. The depths derive from ``run.looped_depth`` (here, once):
    ``model.n_loops``, the loops the run starts with, is that depth for Looped-Attn and 1 for
    Single-Attn and SHIFT, and SHIFT switches to ``shift.loops_after_switch`` = that depth."""

    model_name: str  # "single", "looped" or "shift"
    scale: str  # ci | small | paper
    run: MarkovRun  # data, model, training
    shift: ShiftConfig | None = None  # for model_name == "shift", else None
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def __post_init__(self):
        check_choice("model", self.model_name, MODELS)
        depth = check_int("looped_depth", self.run.looped_depth, 2)
        self.run = replace(self.run, model=replace(self.run.model, n_loops=depth if self.model_name == "looped" else 1))
        if self.shift is not None:
            self.shift = replace(self.shift, loops_after_switch=depth)

    @property
    def model(self) -> ModelConfig:
        return self.run.model

    @property
    def data(self) -> DataConfig:
        return self.run.data

    @property
    def train(self) -> TrainConfig:
        return self.run.train

    @property
    def looped_depth(self) -> int:
        return self.run.looped_depth

    def to_dict(self) -> dict:
        d = {"model_name": self.model_name, "scale": self.scale, "model": self.model.to_dict(),
             "data": {**asdict(self.data), "markov": self.data.markov.to_dict()}, "train": self.train.to_dict(),
             "looped_depth": self.looped_depth, "shift": None if self.shift is None else asdict(self.shift),
             "runtime": asdict(self.runtime)}
        return json.loads(json.dumps(d, default=str))

    @property
    def out_dir(self) -> Path:
        """``runtime.out``, else ``runs/train/<model>-<scale>-seed<seed>``."""
        if self.runtime.out:
            return Path(self.runtime.out)
        return Path("runs") / "train" / f"{self.model_name}-{self.scale}-seed{self.train.seed}"


def preset(model: str = "looped", scale: str | None = None) -> Preset:
    """The ``train`` preset of ``model`` ("single", "looped", "shift") at ``scale``: the Markov run of
    :func:`markov_run`, with 1 loop for Single-Attn and SHIFT (which starts single).

    Introduced in notebooks/06_full_gpu_training.
    """
    check_choice("model", model, MODELS)
    s = current_scale(scale)
    return Preset(model, s, markov_run(s), shift=ShiftConfig() if model == "shift" else None)


# ----------------------------------------------------------------------------------------------
# Overridable fields: every dataclass field is one option; its help is the field's metadata


@dataclass(frozen=True)
class Field:
    """One overridable field: the option ``--name`` and where it writes."""

    name: str  # the field name (option --name with "_" → "-")
    targets: tuple  # ((section, attribute), ...): sections model, markov, data, train, run, shift, runtime
    kind: str  # "int", "float", "str", "bool", "int?", "float?" (None allowed), "pair" (two floats)
    choices: tuple = ()  # allowed values of a "str" field
    help: str = ""  # from the dataclass field's metadata
    only_for: tuple = ()  # the models it applies to (empty: all)

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


_SKIP = {"model": {"vocab_size", "max_len", "n_loops"}, "markov": {"vocab_size", "seq_len"}, "data": {"markov"},
         "train": {"max_steps"}, "shift": {"loops_after_switch"}, "runtime": set()}  # derived or coupled


def _kind(f) -> str:
    t = str(f.type).replace(" ", "")
    if t == "bool":
        return "bool"
    if t.startswith("tuple"):
        return "pair"
    for base in ("int", "float", "str"):
        if t == base:
            return base
        if t in (f"{base}|None", f"Optional[{base}]", f"None|{base}"):
            return base + "?"
    return "str"


def override_fields() -> dict:
    """``{name: Field}`` for every overridable field of every config, plus four aliases that keep
    coupled fields together: ``--steps`` (``TrainConfig.max_steps``), ``--vocab-size`` and
    ``--seq-len`` (the language's and the model's) and ``--looped-depth`` (``MarkovRun.looped_depth``:
    Looped-Attn's loops, SHIFT's loops after the switch; ``--n-loops`` is its former name).

    Introduced in notebooks/06_full_gpu_training.
    """
    sections = {"model": ModelConfig, "markov": MarkovConfig, "data": DataConfig, "train": TrainConfig,
                "shift": ShiftConfig, "runtime": RuntimeConfig}
    out: dict = {
        "steps": Field("steps", (("train", "max_steps"),), "int?", help="training steps (overrides epochs)"),
        "vocab_size": Field("vocab_size", (("markov", "vocab_size"), ("model", "vocab_size")), "int",
                            help="V: token types of the language and the model"),
        "seq_len": Field("seq_len", (("markov", "seq_len"), ("model", "max_len")), "int",
                         help="T: tokens per sequence (also the model's max_len)"),
        "looped_depth": Field("looped_depth", (("run", "looped_depth"),), "int", only_for=("looped", "shift"),
                              help="Looped-Attn's loops (SHIFT: loops after the switch); paper: 3"),
    }
    out["n_loops"] = replace(out["looped_depth"], name="n_loops", help="the former name of --looped-depth")
    for sec, cls in sections.items():
        for f in fields(cls):
            if f.name in _SKIP.get(sec, ()) or f.name in out:
                continue
            out[f.name] = Field(f.name, ((sec, f.name),), _kind(f), tuple(f.metadata.get("choices", ())),
                                f.metadata.get("help", ""), ("shift",) if sec == "shift" else ())
    return out


class FieldError(ValueError):
    """A bad override: ``option`` is the command-line option that caused it (e.g. ``--lr``)."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option, self.message = option, message


def apply_overrides(p: Preset, overrides: dict) -> Preset:
    """A new :class:`Preset` with ``overrides`` (``{field name: value}``) applied and validated.

    Unknown names and fields that do not apply to the model raise :class:`FieldError`; values are
    checked by the configs' own ``__post_init__`` and the error names the option.

    Introduced in notebooks/06_full_gpu_training.
    """
    table = override_fields()
    per = {s: {} for s in ("model", "markov", "data", "train", "run", "shift", "runtime")}
    for name, value in overrides.items():
        fld = table.get(name)
        if fld is None:
            close = [n for n in table if n.startswith(name[:3])][:5]
            hint = f"; similar: {', '.join('--' + c.replace('_', '-') for c in close)}" if close else ""
            raise FieldError("--" + name.replace("_", "-"), f"unknown field {name!r}{hint}")
        if fld.only_for and p.model_name not in fld.only_for:
            raise FieldError(fld.option, f"applies only to --model {' / '.join(fld.only_for)}, not {p.model_name}")
        for sec, attr in fld.targets:
            per[sec][attr] = tuple(value) if fld.kind == "pair" else value

    def rebuilt(section, obj, extra=None):
        changes = {**per[section], **(extra or {})}
        if not changes:
            return obj
        try:
            return replace(obj, **changes)
        except (ValueError, TypeError) as e:
            names = [n for n in per[section] if str(e).startswith(n)] or list(per[section]) or [section]
            opt = next((f.option for f in table.values() if (section, names[0]) in f.targets), "--" + names[0])
            raise FieldError(opt, str(e)) from e

    depth = per["run"].get("looped_depth", p.looped_depth)
    try:
        check_int("looped_depth", depth, 2)
    except ValueError as e:
        raise FieldError(table["n_loops" if "n_loops" in overrides else "looped_depth"].option, str(e)) from e
    model = rebuilt("model", p.model)
    data = rebuilt("data", replace(p.data, markov=rebuilt("markov", p.data.markov)))
    run = replace(p.run, model=model, data=data, train=rebuilt("train", p.train), looped_depth=depth)
    shift = rebuilt("shift", p.shift) if p.model_name == "shift" else p.shift
    return replace(p, run=run, shift=shift, runtime=rebuilt("runtime", p.runtime))  # Preset derives the depths


def describe(p: Preset) -> str:
    """A one-paragraph summary of a preset (what ``train --print-config`` prints first)."""
    m, d, t = p.model, p.data, p.train
    steps = t.max_steps if t.max_steps is not None else f"{t.epochs:g} epochs"
    loops = (f"1 loop → {p.shift.loops_after_switch} (SHIFT)" if p.model_name == "shift"
             else {"single": "1 loop", "looped": f"{m.n_loops} loops"}[p.model_name])
    return (
        f"{p.model_name} @ {p.scale}: {loops}, d_model {m.d_model}, {m.n_heads} head(s), {m.attn_type} attention; "
        f"language V={d.markov.vocab_size}, T={d.markov.seq_len}, {d.n_train} train / {d.n_test} test per split; "
        f"{t.optimizer} lr {t.lr:g} ({t.schedule}), batch {t.batch_size}, {steps} steps, seed {t.seed}, "
        f"device {t.device}, amp {p.runtime.amp}, compile {'on' if p.runtime.compile else 'off'}"
    )


def scale_table(models=("single", "looped"), scales=SCALES) -> list:
    """Rows ``{"scale", "model", "d_model", "seq_len", "batch", "steps", "n_train", "n_test", "n_loops",
    "forward_gflops", "cost_ratio"}`` for every preset: what changes with the scale. ``cost_ratio`` is
    :func:`loopvalley.looped.compute.cost_ratio` of the scale's Looped-Attn preset (the same on every row
    of a scale).

    Introduced in notebooks/06_full_gpu_training.
    """
    rows = []
    for s in scales:
        looped = preset("looped", s)
        cr = cost_ratio(looped.model, looped.train.batch_size, looped.data.markov.seq_len, looped.model.n_loops)
        for name in models:
            p = preset(name, s)
            T = p.data.markov.seq_len
            rows.append({
                "scale": s, "model": name, "d_model": p.model.d_model, "seq_len": T,
                "batch": p.train.batch_size, "steps": p.train.max_steps, "n_train": p.data.n_train,
                "n_test": p.data.n_test, "n_loops": p.model.n_loops,
                "forward_gflops": forward_flops(p.model, p.model.n_loops, p.train.batch_size, T) / 1e9,
                "cost_ratio": cr,
            })
    return rows


# ----------------------------------------------------------------------------------------------
# Shipped `train` records


def load_shipped_records(scale: str = "paper", root=None) -> dict | None:
    """The shipped ``train`` run records of ``scale``, or ``None`` when none were shipped.

    Reads ``results/<scale>/train_<name>/record.json`` (written by ``scripts/gpu_check.sh``) into
    ``{"records": {name: RunRecord}, "throughput": rows | None, "claims": list | None, "dir": Path,
    "log": str | None, "meta": dict | None}``; ``throughput.json``, ``reproduce/claims.json``,
    ``meta.json`` and ``gpu_check.log`` are optional.

    Introduced in notebooks/06_full_gpu_training.
    """
    d = results_dir(scale, root)
    files = sorted(d.glob("train_*/record.json"))
    if not files:
        return None
    records = {f.parent.name[len("train_"):]: RunRecord.load(f) for f in files}
    read = lambda p: read_json(p, "a JSON file written by scripts/gpu_check.sh") if p.exists() else None  # noqa: E731
    log = d / "gpu_check.log"
    return {"records": records, "throughput": read(d / "throughput.json"), "claims": read(d / "reproduce" / "claims.json"),
            "meta": read(d / "meta.json"), "dir": d, "log": log.read_text() if log.exists() else None}
