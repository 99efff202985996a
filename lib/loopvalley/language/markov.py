"""A synthetic Markov "language" graded by Information Content (IC) into simple and complex splits.

The paper's generator and IC formula are not public; this is our choice (notebooks/03 explains it).

**In-context Markov chains.** Every sequence draws its *own* first-order chain over ``V`` tokens:
each row of the transition matrix is P(· | i) ~ Dirichlet(α, …, α), the first token is drawn from
the chain's stationary distribution π (πᵀP = πᵀ), and x_{t+1} ~ P(· | x_t). A model cannot memorise
the chain; it has to read it off the context. Two strategies exist:

- the *in-context unigram*: predict the token frequencies seen so far (≈ π). One attention layer
  can do this (attend uniformly, average the token embeddings);
- the *in-context bigram*: find earlier occurrences of the current token and predict what followed
  them. This needs two composed lookups (a previous-token head, then an induction head): one pass
  of attention cannot compose them, a looped layer can.

**Information content.** The (transition) information content of a sequence is how many nats per
token its transitions carry beyond its token frequencies, under the true chain:

    IC(x) = 1/(T−1) Σ_{t=2..T} log [ P(x_t | x_{t−1}) / π(x_t) ]

It is exactly the per-token loss gap between the best frequency (order-0) predictor and the best
transition (order-1) predictor on that sequence. Sequences with low IC (bottom 30 %) are *simple*:
token frequencies say almost everything. Sequences with high IC (top 30 %) are *complex*: most of
their predictability lives in the transitions.

Everything random takes an explicit ``torch.Generator``; all probabilities are float64.

Introduced in notebooks/03_markov_language.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from loopvalley._validate import check_choice, check_int, check_positive, check_range

PREDICTORS = ("bayes", "bigram", "unigram", "uniform")


@dataclass
class MarkovConfig:
    vocab_size: int = 3  # V: number of token types
    seq_len: int = 64  # T: tokens per sequence
    alpha: float = 0.5  # Dirichlet concentration of every transition row (small = peaked rows)
    simple_quantile: float = 0.3  # IC below this quantile of the training IC → "simple"
    complex_quantile: float = 0.7  # IC above this quantile of the training IC → "complex"

    def __post_init__(self):
        check_int("vocab_size", self.vocab_size, 2)
        check_int("seq_len", self.seq_len, 2)
        check_positive("alpha", self.alpha)
        check_range("simple_quantile", self.simple_quantile, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("complex_quantile", self.complex_quantile, 0.0, 1.0, lo_open=True, hi_open=True)
        if self.simple_quantile > self.complex_quantile:
            raise ValueError(
                f"simple_quantile ({self.simple_quantile}) must be <= complex_quantile ({self.complex_quantile})"
            )

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------------------------
# Sampling


def sample_gamma(shape, concentration: float, generator: torch.Generator) -> torch.Tensor:
    """Gamma(a, 1) samples (float64) by Marsaglia–Tsang, drawn only from ``generator``.

    For a ≥ 1: d = a − 1/3, c = 1/√(9d), z ~ N(0,1), v = (1 + c z)³; accept d·v when
    log u < z²/2 + d − d·v + d·log v. For a < 1: Gamma(a) = Gamma(a + 1) · u^{1/a}.

    Introduced in notebooks/03_markov_language.
    """
    a = check_positive("alpha", concentration)
    boost = a < 1
    d = (a + 1 if boost else a) - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    out = torch.empty(shape, dtype=torch.float64).view(-1)
    todo = torch.arange(out.numel())
    while todo.numel():
        z = torch.randn(todo.numel(), generator=generator, dtype=torch.float64)
        u = torch.rand(todo.numel(), generator=generator, dtype=torch.float64)
        v = (1 + c * z) ** 3
        ok = (v > 0) & (torch.log(u) < 0.5 * z**2 + d - d * v + d * torch.log(v.clamp_min(1e-300)))
        out[todo[ok]] = d * v[ok]
        todo = todo[~ok]
    if boost:  # Gamma(a) = Gamma(a+1) · U^{1/a}
        u = torch.rand(out.numel(), generator=generator, dtype=torch.float64)
        out = out * u ** (1.0 / a)
    return out.view(shape)


def sample_chains(n: int, vocab_size: int, alpha: float, generator: torch.Generator) -> torch.Tensor:
    """``n`` transition matrices ``(n, V, V)``, every row P(· | i) ~ Dirichlet(α·1).

    Introduced in notebooks/03_markov_language.
    """
    n = check_int("n", n, 1)
    V = check_int("vocab_size", vocab_size, 2)
    g = sample_gamma((n, V, V), alpha, generator).clamp_min(1e-300)  # (n, V, V)
    return g / g.sum(-1, keepdim=True)  # P_ij = γ_ij / Σ_j γ_ij


def stationary(P: torch.Tensor) -> torch.Tensor:
    """Stationary distributions π ``(n, V)`` with πᵀP = πᵀ, Σπ = 1 (solved as a linear system).

    Introduced in notebooks/03_markov_language.
    """
    n, V, _ = P.shape
    A = P.transpose(1, 2) - torch.eye(V, dtype=P.dtype)  # (Pᵀ − I) π = 0
    A[:, -1, :] = 1.0  # replace one equation by Σ π = 1
    b = torch.zeros(n, V, 1, dtype=P.dtype)
    b[:, -1] = 1.0
    pi = torch.linalg.solve(A, b).squeeze(-1).clamp_min(0)  # (n, V)
    return pi / pi.sum(-1, keepdim=True)


def _draw(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One categorical draw per row of ``probs`` ``(n, V)`` by inverting the CDF."""
    u = torch.rand(probs.shape[0], 1, generator=generator, dtype=probs.dtype)  # (n, 1)
    return (u > probs.cumsum(-1)).sum(-1).clamp(max=probs.shape[-1] - 1)  # (n,)


def sample_sequences(P: torch.Tensor, pi: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """Token sequences ``(n, T)``: x_1 ~ π, x_{t+1} ~ P(· | x_t), vectorised over the n chains.

    Introduced in notebooks/03_markov_language.
    """
    T = check_int("length", length, 2)
    n = P.shape[0]
    rows = torch.arange(n)
    x = torch.empty(n, T, dtype=torch.long)
    x[:, 0] = _draw(pi, generator)
    for t in range(1, T):
        x[:, t] = _draw(P[rows, x[:, t - 1]], generator)  # P(· | x_{t-1}): (n, V)
    return x


# ----------------------------------------------------------------------------------------------
# Information content


def information_content(tokens: torch.Tensor, P: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
    """Per-sequence IC ``(n,)`` in nats per token: 1/(T−1) Σ_t log P(x_t | x_{t−1}) / π(x_t).

    Introduced in notebooks/03_markov_language.
    """
    n = tokens.shape[0]
    rows = torch.arange(n)[:, None]
    prev, nxt = tokens[:, :-1], tokens[:, 1:]  # (n, T-1)
    log_p = torch.log(P[rows, prev, nxt])  # log P(x_t | x_{t-1})
    log_pi = torch.log(pi[rows, nxt])  # log π(x_t)
    return (log_p - log_pi).mean(1)


def surprisal(tokens: torch.Tensor, P: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
    """Shannon information content −log p(x) per token ``(n,)`` under the true chain:
    −(1/T)[log π(x_1) + Σ_{t≥2} log P(x_t | x_{t−1})]. (Shown for contrast; not our split.)

    Introduced in notebooks/03_markov_language.
    """
    n = tokens.shape[0]
    rows = torch.arange(n)[:, None]
    log_p = torch.log(P[rows, tokens[:, :-1], tokens[:, 1:]]).sum(1)
    log_p0 = torch.log(pi[torch.arange(n), tokens[:, 0]])
    return -(log_p0 + log_p) / tokens.shape[1]


# ----------------------------------------------------------------------------------------------
# Reference predictors: p(x_{t+1} | x_{≤t}) for t = 1..T−1, shape (n, T−1, V)


def predictive(
    tokens: torch.Tensor,
    kind: str,
    P: torch.Tensor | None = None,
    alpha: float = 0.5,
    vocab_size: int | None = None,
) -> torch.Tensor:
    """Next-token distributions ``(n, T−1, V)`` of a reference predictor at positions 1..T−1.

    - ``"bayes"``:   the true chain, P(· | x_t) (needs ``P``): the ceiling no model can beat.
    - ``"bigram"``:  in-context transition counts with an add-α prior,
                     (N_t(x_t → j) + α) / (N_t(x_t → ·) + Vα); the Bayes posterior mean for Dirichlet(α) rows.
    - ``"unigram"``: in-context token counts with an add-α prior, (N_t(j) + α) / (t + Vα).
    - ``"uniform"``: 1/V (chance).

    Introduced in notebooks/03_markov_language.
    """

    check_choice("kind", kind, PREDICTORS)
    n, T = tokens.shape
    V = vocab_size or (P.shape[-1] if P is not None else int(tokens.max()) + 1)
    if kind == "uniform":
        return torch.full((n, T - 1, V), 1.0 / V, dtype=torch.float64)
    if kind == "bayes":
        if P is None:
            raise ValueError("kind='bayes' needs the true transition matrices P")
        return P[torch.arange(n)[:, None], tokens[:, :-1]]  # P(· | x_t): (n, T-1, V)
    a = check_positive("alpha", alpha)
    onehot = F.one_hot(tokens, V).double()  # (n, T, V)
    if kind == "unigram":
        counts = onehot.cumsum(1)[:, :-1]  # N_t(j) over x_1..x_t: (n, T-1, V)
        return (counts + a) / (counts.sum(-1, keepdim=True) + V * a)
    # bigram: transitions x_s → x_{s+1} with s+1 ≤ t, read at row x_t
    trans = torch.einsum("nsa,nsb->nsab", onehot[:, :-1], onehot[:, 1:])  # (n, T-1, V, V)
    seen = torch.cat([torch.zeros_like(trans[:, :1]), trans[:, :-1]], 1).cumsum(1)  # up to x_t
    row = seen[torch.arange(n)[:, None], torch.arange(T - 1)[None], tokens[:, :-1]]  # (n, T-1, V)
    return (row + a) / (row.sum(-1, keepdim=True) + V * a)


def predictor_metrics(probs: torch.Tensor, tokens: torch.Tensor) -> dict:
    """``{"loss", "acc"}`` of next-token distributions ``probs`` ``(n, T−1, V)`` on ``tokens``:
    mean −log p(x_{t+1}) and mean [argmax p = x_{t+1}] (ties go to the lowest token id, as argmax).

    Introduced in notebooks/03_markov_language.
    """
    target = tokens[:, 1:]  # (n, T-1)
    logp = torch.log(probs.gather(-1, target[..., None]).squeeze(-1).clamp_min(1e-300))
    acc = (probs.argmax(-1) == target).double()
    return {"loss": float(-logp.mean()), "acc": float(acc.mean())}


def sequence_metrics(probs: torch.Tensor, tokens: torch.Tensor) -> dict:
    """Per-sequence ``{"loss": (n,), "acc": (n,)}`` of next-token distributions ``probs`` ``(n, T−1, V)``.

    Introduced in notebooks/03_markov_language.
    """
    target = tokens[:, 1:]  # (n, T-1)
    logp = torch.log(probs.gather(-1, target[..., None]).squeeze(-1).clamp_min(1e-300))
    return {"loss": -logp.mean(1), "acc": (probs.argmax(-1) == target).double().mean(1)}


def ic_profile(
    tokens: torch.Tensor,
    P: torch.Tensor,
    pi: torch.Tensor,
    alpha: float,
    n_bins: int = 10,
    extra: dict | None = None,
    score: torch.Tensor | None = None,
) -> dict:
    """Accuracy and loss of every reference predictor in ``n_bins`` equal-count IC bins.

    Returns ``{"ic": bin centres (n_bins,), "edges": (n_bins+1,), "acc": {name: (n_bins,)},
    "loss": {name: (n_bins,)}}``. ``extra`` adds per-sequence metrics of other predictors (e.g. a
    trained model): ``{name: {"acc": (n,), "loss": (n,)}}``. ``score`` bins by another per-sequence
    number instead of IC (e.g. :func:`surprisal`); the key stays ``"ic"``.

    Introduced in notebooks/03_markov_language.
    """
    n_bins = check_int("n_bins", n_bins, 1)
    ic = information_content(tokens, P, pi) if score is None else torch.as_tensor(score, dtype=torch.float64)
    edges = torch.quantile(ic, torch.linspace(0, 1, n_bins + 1, dtype=ic.dtype))
    which = torch.bucketize(ic, edges[1:-1])  # bin index (n,)
    per = {k: sequence_metrics(predictive(tokens, k, P, alpha, P.shape[-1]), tokens) for k in PREDICTORS}
    per.update(extra or {})
    out = {"ic": torch.stack([ic[which == b].mean() for b in range(n_bins)]), "edges": edges, "acc": {}, "loss": {}}
    for name, m in per.items():
        for key in ("acc", "loss"):
            v = torch.as_tensor(m[key], dtype=torch.float64)
            out[key][name] = torch.stack([v[which == b].mean() for b in range(n_bins)])
    return out


def reference_metrics(tokens: torch.Tensor, P: torch.Tensor, alpha: float) -> dict:
    """``{predictor: {"loss", "acc"}}`` for every reference predictor on ``tokens``.

    Introduced in notebooks/03_markov_language.
    """
    V = P.shape[-1]
    return {k: predictor_metrics(predictive(tokens, k, P, alpha, V), tokens) for k in PREDICTORS}


# ----------------------------------------------------------------------------------------------
# The dataset


@dataclass
class MarkovData:
    """A fixed training set and fresh per-split test sets, with the chains behind them.

    ``train`` ``(N, T)``; ``test[split]`` ``(n_test, T)`` for split in ``("simple", "complex")``;
    ``P``/``pi``/``ic`` hold the chains and IC of every set under the same keys (``"train"``,
    ``"simple"``, ``"complex"``); ``thresholds`` = (IC at simple_quantile, IC at complex_quantile)
    of the training set; ``references[split][predictor] = {"loss", "acc"}``.

    Introduced in notebooks/03_markov_language.
    """

    cfg: MarkovConfig
    train: torch.Tensor
    test: dict
    P: dict
    pi: dict
    ic: dict
    thresholds: tuple
    references: dict = field(default_factory=dict)

    @property
    def eval_sets(self) -> dict:
        """The test splits, ready for :class:`loopvalley.train.Trainer`."""
        return dict(self.test)


def sample_language(n: int, cfg: MarkovConfig, generator: torch.Generator):
    """``(tokens, P, pi, ic)`` for ``n`` fresh sequences, each from its own chain.

    Introduced in notebooks/03_markov_language.
    """
    P = sample_chains(n, cfg.vocab_size, cfg.alpha, generator)  # (n, V, V)
    pi = stationary(P)  # (n, V)
    x = sample_sequences(P, pi, cfg.seq_len, generator)  # (n, T)
    return x, P, pi, information_content(x, P, pi)


def make_markov_data(
    cfg: MarkovConfig | None = None, n_train: int = 4096, n_test: int = 1024, generator: torch.Generator | None = None
) -> MarkovData:
    """The fixed training set (all IC levels) and fresh ``simple``/``complex`` test sets.

    The IC thresholds are the ``simple_quantile``/``complex_quantile`` quantiles of the training
    IC; test sequences are drawn fresh and kept when their IC falls in a split (rejection
    sampling, vectorised in rounds).

    Introduced in notebooks/03_markov_language.
    """
    cfg = cfg if cfg is not None else MarkovConfig()
    n_train = check_int("n_train", n_train, 2)
    n_test = check_int("n_test", n_test, 1)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    x, P, pi, ic = sample_language(n_train, cfg, g)
    lo = float(torch.quantile(ic, cfg.simple_quantile))
    hi = float(torch.quantile(ic, cfg.complex_quantile))
    data = MarkovData(cfg, x, {}, {"train": P}, {"train": pi}, {"train": ic}, (lo, hi))
    keep = {"simple": lambda v: v <= lo, "complex": lambda v: v >= hi}
    parts = {s: [] for s in keep}
    while any(sum(len(p[0]) for p in parts[s]) < n_test for s in keep):
        xs, Ps, pis, ics = sample_language(max(n_test, 256) * 2, cfg, g)
        for s, rule in keep.items():
            m = rule(ics)
            parts[s].append((xs[m], Ps[m], pis[m], ics[m]))
    for s in keep:
        xs, Ps, pis, ics = (torch.cat(c)[:n_test] for c in zip(*parts[s]))
        data.test[s], data.P[s], data.pi[s], data.ic[s] = xs, Ps, pis, ics
        data.references[s] = reference_metrics(xs, Ps, cfg.alpha)
    return data
