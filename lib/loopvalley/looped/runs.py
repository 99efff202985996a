"""The Markov-language run — data, model and training — at each scale, in one table.

Every chapter that trains attention models on the in-context Markov language (04 Single vs Looped,
05 Hessian dynamics, 07 SHIFT, 09 recursion or depth) starts from :func:`markov_run`, and the
``python -m loopvalley train`` presets (:mod:`loopvalley.scale.presets`) are the same runs, so
``train --model looped --seed S`` trains exactly the Looped-Attn run of seed S. The per-scale values
live in :data:`MARKOV_RUN_SCALES` beside the dataclass; an experiment changes them only through its
own table (e.g. the Hessian chapter's narrower d_model), never by importing another experiment.

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from loopvalley._validate import check_int
from loopvalley.language.markov import MarkovConfig, MarkovData, make_markov_data
from loopvalley.looped.models import ModelConfig
from loopvalley.scales import current_scale
from loopvalley.seeds import data_generator
from loopvalley.train import TrainConfig


@dataclass
class DataConfig:
    """The language sample a run trains and evaluates on (drawn from ``seeds.data_generator(seed)``)."""

    markov: MarkovConfig = field(default_factory=MarkovConfig, metadata={"help": "the language"})
    n_train: int = field(default=2048, metadata={"help": "fixed training sequences (the paper counts epochs)"})
    n_test: int = field(default=512, metadata={"help": "fresh test sequences per split (simple, complex)"})

    def __post_init__(self):
        check_int("n_train", self.n_train, 2)
        check_int("n_test", self.n_test, 1)

    def sample(self, seed: int) -> MarkovData:
        """This seed's language sample: training set, test splits and reference predictors."""
        return make_markov_data(self.markov, self.n_train, self.n_test, data_generator(seed))


@dataclass
class MarkovRun:
    """One run on the Markov language: data, model (its ``n_loops`` is set per architecture, see
    :func:`loopvalley.looped.arms.arm_config`), training, and the Looped arm's depth."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    looped_depth: int = 3  # Looped-Attn's loops (paper: 3); SHIFT switches to it

    def capped(self, max_steps: int | None) -> "MarkovRun":
        """The same run compressed to at most ``max_steps`` steps: the evaluation cadence shrinks by
        the same factor, so a capped run has about as many evaluation points (a smoke test of a
        large scale on a small machine; ``reproduce --max-steps``). Returns a new run; ``self`` is
        unchanged."""
        steps = self.train.max_steps
        if max_steps is None or max_steps >= steps:
            return self
        f = check_int("max_steps", max_steps, 1) / steps
        train = replace(self.train, max_steps=max_steps, eval_every=max(1, round(self.train.eval_every * f)),
                        warmup_steps=round(self.train.warmup_steps * f))
        return replace(self, train=train)


# The per-scale values of the Markov run. V = 3 tokens, α = 0.5 (peaked rows), simple/complex = the
# bottom/top IC quintiles; one softmax head with pre-LayerNorm, no MLP; AdamW at 3e-3 after a 20-step
# warmup, batch 64, 600 steps. `paper` (GPU) doubles the length and the width.
MARKOV_RUN_SCALES = {
    "ci": dict(seq_len=32, d_model=32, n_train=2048, n_test=384, eval_every=25, device="cpu"),
    "small": dict(seq_len=32, d_model=32, n_train=4096, n_test=1024, eval_every=25, device="cpu"),
    "paper": dict(seq_len=64, d_model=64, n_train=16384, n_test=4096, eval_every=20, device="auto"),
}


def markov_run(scale: str | None = None, **changes) -> MarkovRun:
    """The Markov-language run at ``scale`` (:data:`MARKOV_RUN_SCALES`), with ``changes`` to the
    table's keys (``seq_len``, ``d_model``, ``n_train``, ``n_test``, ``eval_every``, ``device``).

    Introduced in notebooks/04_single_vs_looped.
    """
    v = {**MARKOV_RUN_SCALES[current_scale(scale)]}
    unknown = set(changes) - set(v)
    if unknown:
        raise ValueError(f"markov_run: unknown settings {sorted(unknown)}; known: {sorted(v)}")
    v.update(changes)
    T = v["seq_len"]
    return MarkovRun(
        data=DataConfig(MarkovConfig(vocab_size=3, seq_len=T, alpha=0.5, simple_quantile=0.2, complex_quantile=0.8),
                        n_train=v["n_train"], n_test=v["n_test"]),
        model=ModelConfig(vocab_size=3, max_len=T, d_model=v["d_model"], n_heads=1, attn_type="softmax", layernorm=True),
        train=TrainConfig(optimizer="adamw", lr=3e-3, schedule="warmup_constant", warmup_steps=20, batch_size=64,
                          max_steps=600, eval_every=v["eval_every"], eval_batch_size=512, device=v["device"]),
    )
