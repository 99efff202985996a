"""Presets for ``python -m loopvalley train``: Single-Attn, Looped-Attn and SHIFT at each scale,
as dataclasses (model, data, training, SHIFT and runtime configs), every field overridable by name.

The numbers are not repeated here: a preset is the sample-dynamics experiment's settings
(:func:`loopvalley.experiments.sample_dynamics.settings`) at that scale, so ``train --model looped
--seed 0`` trains exactly the Looped-Attn run of that experiment's seed 0 (same language sample,
same initial weights, same data order). SHIFT starts as Single-Attn with a
:class:`loopvalley.shift.ShiftController` that switches to ``n_loops`` loops.

Every field of every config is one command-line option (``d_model`` → ``--d-model``), plus three
aliases that keep coupled fields together: ``--steps`` (``TrainConfig.max_steps``), ``--vocab-size``
(the language's and the model's), ``--seq-len`` (the language's length and the model's ``max_len``)
and ``--n-loops`` (Looped-Attn's loops, or SHIFT's loops after the switch).
:func:`apply_overrides` validates through the dataclasses' own checks and raises
:class:`FieldError` naming the option.

:func:`load_shipped_records` reads the paper-scale run records that ``scripts/gpu_check.sh`` writes
into ``results/paper/`` (``None`` when none were shipped).

Introduced in notebooks/06_full_gpu_training.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ._validate import check_choice, check_int
from .distributed import AMP_MODES
from .markov import MarkovConfig
from .models import ModelConfig
from .scales import SCALES, current_scale
from .train import DEVICES, OPTIMIZERS, SCHEDULES, RunRecord, TrainConfig

MODELS = ("single", "looped", "shift")
_REPO_RESULTS = Path(__file__).resolve().parents[2] / "results"  # the repository's results/ (editable install)
RESULTS_DIR = _REPO_RESULTS if _REPO_RESULTS.is_dir() else Path("results")  # else ./results (pip install)


@dataclass
class DataConfig:
    """The Markov language sample a run trains and evaluates on."""

    markov: MarkovConfig  # the language (vocab, length, α, split quantiles)
    n_train: int = 2048  # fixed training sequences (the paper counts epochs)
    n_test: int = 512  # fresh test sequences per split (simple, complex)
    seed_offset: int = 1000  # the language is drawn from torch.Generator().manual_seed(seed_offset + seed)

    def __post_init__(self):
        check_int("n_train", self.n_train, 2)
        check_int("n_test", self.n_test, 1)
        check_int("seed_offset", self.seed_offset, 0)


@dataclass
class RuntimeConfig:
    """How to run: precision, compilation, checkpoints, output (never changes the maths)."""

    amp: str = "auto"  # bf16 autocast of the training forward: "auto" (on a bf16 CUDA GPU), "bf16" or "off"
    compile: bool = False  # torch.compile the training forward (falls back to eager if compiling fails)
    ckpt_every: int = 0  # write <out>/checkpoint.pt every this many steps (0: only at the end)
    out: str = ""  # output folder ("": runs/train/<model>-<scale>-seed<seed>)
    resume: str = ""  # checkpoint to resume from ("auto": <out>/checkpoint.pt when it exists; "": none)
    threads: int = 0  # CPU threads for torch (0: torch's default)

    def __post_init__(self):
        check_choice("amp", self.amp, AMP_MODES)
        check_int("ckpt_every", self.ckpt_every, 0)
        check_int("threads", self.threads, 0)


@dataclass
class Preset:
    """Everything one ``train`` run needs. ``model.n_loops`` is the loops the run starts with."""

    model_name: str  # "single", "looped" or "shift"
    scale: str  # ci | small | paper
    model: ModelConfig  # the attention layer (n_loops = 1 for single and shift)
    data: DataConfig  # the language sample
    train: TrainConfig  # optimiser, schedule, steps, batch, evaluation cadence, seed, device
    n_loops: int = 3  # Looped-Attn's loops (and SHIFT's after the switch); paper: 3
    shift: object = None  # loopvalley.shift.ShiftConfig for model_name == "shift", else None
    runtime: RuntimeConfig = None  # precision, compile, checkpoints, output
    seeds: int = 3  # the experiment's default number of seeds at this scale

    def __post_init__(self):
        check_choice("model", self.model_name, MODELS)
        check_int("n_loops", self.n_loops, 2)
        if self.runtime is None:
            self.runtime = RuntimeConfig()

    def to_dict(self) -> dict:
        d = {
            "model_name": self.model_name,
            "scale": self.scale,
            "model": self.model.to_dict(),
            "data": {**asdict(self.data), "markov": self.data.markov.to_dict()},
            "train": self.train.to_dict(),
            "n_loops": self.n_loops,
            "shift": None if self.shift is None else asdict(self.shift),
            "runtime": asdict(self.runtime),
            "seeds": self.seeds,
        }
        return json.loads(json.dumps(d, default=str))  # inf → "Infinity"-safe plain JSON

    @property
    def out_dir(self) -> Path:
        """``runtime.out``, else ``runs/train/<model>-<scale>-seed<seed>``."""
        if self.runtime.out:
            return Path(self.runtime.out)
        return Path("runs") / "train" / f"{self.model_name}-{self.scale}-seed{self.train.seed}"


# ----------------------------------------------------------------------------------------------
# SHIFT availability (loopvalley.shift is another module's; fail clearly if it is missing)


def shift_support():
    """``(ShiftConfig, ShiftController)`` from :mod:`loopvalley.shift`; raises ``ValueError``
    ("--model shift is not available: ...") when that module or either class is missing."""
    try:
        from . import shift as _shift
    except Exception as e:  # pragma: no cover - depends on the checkout
        raise ValueError(f"--model shift is not available: importing loopvalley.shift failed ({e})") from e
    missing = [n for n in ("ShiftConfig", "ShiftController") if not hasattr(_shift, n)]
    if missing:
        raise ValueError(f"--model shift is not available: loopvalley.shift has no {', '.join(missing)}")
    return _shift.ShiftConfig, _shift.ShiftController


# ----------------------------------------------------------------------------------------------
# Presets


def preset(model: str = "looped", scale: str | None = None) -> Preset:
    """The preset of ``model`` ("single", "looped", "shift") at ``scale``: the sample-dynamics
    experiment's settings, with ``n_loops`` = 1 for Single-Attn and SHIFT (which starts single).

    Introduced in notebooks/06_full_gpu_training.
    """
    check_choice("model", model, MODELS)
    s = current_scale(scale)
    from .experiments.sample_dynamics import settings

    st = settings(s)
    loops = st.n_loops if model == "looped" else 1
    shift_cfg = None
    if model == "shift":
        ShiftConfig, _ = shift_support()
        shift_cfg = ShiftConfig(n_loops=st.n_loops)
    return Preset(
        model_name=model,
        scale=s,
        model=replace(st.model, n_loops=loops),
        data=DataConfig(markov=st.markov, n_train=st.n_train, n_test=st.n_test),
        train=st.train,
        n_loops=st.n_loops,
        shift=shift_cfg,
        runtime=RuntimeConfig(),
        seeds=st.seeds,
    )


# ----------------------------------------------------------------------------------------------
# Overridable fields


@dataclass(frozen=True)
class Field:
    """One overridable field: the option ``--name`` and where it writes."""

    name: str  # the field name (option --name with "_" → "-")
    targets: tuple  # ((section, attribute), ...): sections model, markov, data, train, preset, shift, runtime
    kind: str  # "int", "float", "str", "bool", "int?", "float?" (None allowed), "pair" (two floats)
    choices: tuple = ()  # allowed values of a "str" field
    help: str = ""  # from the dataclass field's comment
    only_for: tuple = ()  # the models it applies to (empty: all)

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


_CHOICES = {
    "attn_type": ("softmax", "linear"),
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "device": DEVICES,
    "amp": AMP_MODES,
    "optimizer_state": ("keep", "reset"),
}
_SKIP = {
    "model": {"vocab_size", "max_len", "n_loops"},
    "markov": {"vocab_size", "seq_len"},
    "data": {"markov"},
    "train": {"max_steps"},
    "shift": {"n_loops"},
    "runtime": set(),
}


def _comments(cls) -> dict:
    """``{field: comment}`` from ``name: type = default  # comment`` lines of a dataclass' source."""
    try:
        src = inspect.getsource(cls)
    except (OSError, TypeError):  # pragma: no cover
        return {}
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^\s+(\w+)\s*:[^#\n]*#\s*(.*)$", src, re.M)}


def _kind(f) -> str:
    t = str(f.type).replace(" ", "")
    if t in ("bool",):
        return "bool"
    if t.startswith("tuple"):
        return "pair"
    for base in ("int", "float", "str"):
        if t == base:
            return base
        if t in (f"{base}|None", f"Optional[{base}]", f"None|{base}"):
            return base + "?"
    if isinstance(f.default, bool):
        return "bool"
    if isinstance(f.default, int):
        return "int"
    if isinstance(f.default, float):
        return "float"
    return "str"


def override_fields() -> dict:
    """``{name: Field}`` for every overridable field of every config (see the module doc).

    Introduced in notebooks/06_full_gpu_training.
    """
    sections = {"model": ModelConfig, "markov": MarkovConfig, "data": DataConfig, "train": TrainConfig,
                "runtime": RuntimeConfig}
    try:
        ShiftConfig, _ = shift_support()
        sections["shift"] = ShiftConfig
    except ValueError:
        pass
    out: dict = {
        "steps": Field("steps", (("train", "max_steps"),), "int?", help="training steps (overrides epochs)"),
        "vocab_size": Field("vocab_size", (("markov", "vocab_size"), ("model", "vocab_size")), "int",
                            help="V: token types of the language and the model"),
        "seq_len": Field("seq_len", (("markov", "seq_len"), ("model", "max_len")), "int",
                         help="T: tokens per sequence (also the model's max_len)"),
        "n_loops": Field("n_loops", (("preset", "n_loops"),), "int", only_for=("looped", "shift"),
                         help="Looped-Attn's loops (SHIFT: loops after the switch); paper: 3"),
    }
    for sec, cls in sections.items():
        notes = _comments(cls)
        for f in fields(cls):
            if f.name in _SKIP.get(sec, ()) or f.name in out:
                continue
            out[f.name] = Field(f.name, ((sec, f.name),), _kind(f), _CHOICES.get(f.name, ()),
                                notes.get(f.name, ""), ("shift",) if sec == "shift" else ())
    return out


class FieldError(ValueError):
    """A bad override: ``option`` is the command-line option that caused it (e.g. ``--lr``)."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option, self.message = option, message


def _option_of(message: str, section: str, changed: dict, table: dict) -> str:
    """The option behind a config's ValueError (its message starts with the field name)."""
    m = re.match(r"(\w+)", str(message))
    attr = m.group(1) if m else ""
    if attr not in changed and len(changed) == 1:  # e.g. --n-heads 5: "d_model (32) must be divisible ..."
        attr = next(iter(changed))
    for fld in table.values():
        if (section, attr) in fld.targets:
            return fld.option
    return "--" + attr.replace("_", "-")


def apply_overrides(p: Preset, overrides: dict) -> Preset:
    """A new :class:`Preset` with ``overrides`` (``{field name: value}``) applied and validated.

    Unknown names and fields that do not apply to the model raise :class:`FieldError`; values are
    checked by the configs' own ``__post_init__`` and the error names the option.

    Introduced in notebooks/06_full_gpu_training.
    """
    table = override_fields()
    per = {s: {} for s in ("model", "markov", "data", "train", "preset", "shift", "runtime")}
    for name, value in overrides.items():
        fld = table.get(name)
        if fld is None:
            close = [n for n in table if n.startswith(name[:3])][:5]
            hint = f"; similar: {', '.join('--' + c.replace('_', '-') for c in close)}" if close else ""
            raise FieldError("--" + name.replace("_", "-"), f"unknown field {name!r}{hint}")
        if fld.only_for and p.model_name not in fld.only_for:
            raise FieldError(fld.option, f"applies only to --model {' / '.join(fld.only_for)}, not {p.model_name}")
        if fld.kind == "pair":
            value = tuple(value)
        for sec, attr in fld.targets:
            per[sec][attr] = value

    def rebuilt(section, obj, extra=None):
        changes = {**per[section], **(extra or {})}
        if not changes:
            return obj
        try:
            return replace(obj, **changes)
        except ValueError as e:
            raise FieldError(_option_of(e, section, per[section], table), str(e)) from e
        except TypeError as e:  # a value of the wrong type
            raise FieldError(_option_of(e, section, per[section], table), str(e)) from e

    n_loops = per["preset"].get("n_loops", p.n_loops)
    try:
        check_int("n_loops", n_loops, 2)
    except ValueError as e:
        raise FieldError("--n-loops", str(e)) from e
    model = rebuilt("model", p.model, {"n_loops": n_loops} if p.model_name == "looped" else None)
    markov = rebuilt("markov", p.data.markov)
    data = rebuilt("data", replace(p.data, markov=markov) if markov is not p.data.markov else p.data)
    train = rebuilt("train", p.train)
    shift = p.shift
    if p.model_name == "shift":
        shift = rebuilt("shift", p.shift, {"n_loops": n_loops})
    runtime = rebuilt("runtime", p.runtime)
    return replace(p, model=model, data=data, train=train, n_loops=n_loops, shift=shift, runtime=runtime)


def describe(p: Preset) -> str:
    """A one-paragraph summary of a preset (what ``train --print-config`` prints first)."""
    m, d, t = p.model, p.data, p.train
    steps = t.max_steps if t.max_steps is not None else f"{t.epochs:g} epochs"
    loops = {"single": "1 loop", "looped": f"{m.n_loops} loops", "shift": f"1 loop → {p.n_loops} (SHIFT)"}[p.model_name]
    return (
        f"{p.model_name} @ {p.scale}: {loops}, d_model {m.d_model}, {m.n_heads} head(s), {m.attn_type} attention; "
        f"language V={d.markov.vocab_size}, T={d.markov.seq_len}, {d.n_train} train / {d.n_test} test per split; "
        f"{t.optimizer} lr {t.lr:g} ({t.schedule}), batch {t.batch_size}, {steps} steps, seed {t.seed}, "
        f"device {t.device}, amp {p.runtime.amp}, compile {'on' if p.runtime.compile else 'off'}"
    )


def scale_table(models=("single", "looped"), scales=SCALES) -> list:
    """Rows ``{"scale", "model", "d_model", "seq_len", "batch", "steps", "n_train", "n_loops", "seeds",
    "forward_gflops"}`` for every preset: what changes with the scale.

    Introduced in notebooks/06_full_gpu_training.
    """
    from .models import forward_flops

    rows = []
    for s in scales:
        for name in models:
            p = preset(name, s)
            T = p.data.markov.seq_len
            rows.append({
                "scale": s, "model": name, "d_model": p.model.d_model, "seq_len": T,
                "batch": p.train.batch_size, "steps": p.train.max_steps, "n_train": p.data.n_train,
                "n_test": p.data.n_test, "n_loops": p.model.n_loops, "seeds": p.seeds,
                "forward_gflops": forward_flops(p.model, p.model.n_loops, p.train.batch_size, T) / 1e9,
            })
    return rows


# ----------------------------------------------------------------------------------------------
# Shipped results


def results_dir(scale: str = "paper", root=None) -> Path:
    """Where shipped results of ``scale`` live: ``root``, else ``$LOOPVALLEY_RESULTS``, else the
    repository's ``results/``; then ``<scale>/``."""
    check_choice("scale", scale, SCALES)
    base = Path(root) if root is not None else Path(os.environ.get("LOOPVALLEY_RESULTS") or RESULTS_DIR)
    return base / scale


def load_shipped_records(scale: str = "paper", root=None) -> dict | None:
    """The shipped ``train`` run records of ``scale``, or ``None`` when none were shipped.

    Reads ``results/<scale>/train_<name>/record.json`` (written by ``scripts/gpu_check.sh``) into
    ``{"records": {name: RunRecord}, "throughput": rows | None, "claims": list | None, "dir": Path,
    "log": str | None}``; ``throughput.json``, ``reproduce/claims.json`` and ``gpu_check.log`` are
    optional.

    Introduced in notebooks/06_full_gpu_training.
    """
    d = results_dir(scale, root)
    files = sorted(d.glob("train_*/record.json"))
    if not files:
        return None
    records = {f.parent.name[len("train_"):]: RunRecord.load(f) for f in files}
    tp = d / "throughput.json"
    cl = d / "reproduce" / "claims.json"
    log = d / "gpu_check.log"
    return {
        "records": records,
        "throughput": json.loads(tp.read_text()) if tp.exists() else None,
        "claims": json.loads(cl.read_text()) if cl.exists() else None,
        "dir": d,
        "log": log.read_text() if log.exists() else None,
    }
