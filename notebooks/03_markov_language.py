# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 — A Markov language graded by information content
#
# The paper's sample-level story (its §5.1, Figure 3) is told on a *synthetic Markov language
# whose sequences are graded by Information Content (IC)* into **simple** and **complex** ones.
# Neither the generator nor the IC formula is public, so this notebook builds ours, writes its
# maths down, and shows *why* it grades difficulty: on simple sequences, counting tokens is
# nearly as good as knowing the chain; on complex ones, only a predictor that reads the
# **transitions** in context comes close. That is exactly the line between what one attention
# layer can do and what a looped layer can do (notebook 04). You will compute the IC of a sequence
# by hand and write the counting predictor yourself. The setup cell prints the measured run time at
# each scale.
#
# **Run the setup cell first — it is not optional.** It defines `scale` (the size switch every
# later cell reads) and the seeded generator `g`, and sets the figure style. On Colab it also
# installs the package.

# %% [markdown]
# ## Learning objectives
#
# After this chapter you can
#
# - explain the in-context Markov language: a chain drawn for every sequence, so the model must read it
#   off the context;
# - compute the in-context unigram and bigram predictors by counting, causally, for a whole batch;
# - explain why the bigram predictor needs two composed lookups (a previous-token step, then a match)
#   while the unigram predictor needs one;
# - compute a sequence's information content and say how it grades simple and complex sequences;
# - read every model accuracy against the reference predictors (Bayes, bigram, unigram, chance).
#
# **Study time:** about 1½–2 hours, of which ≈ 40 min for 2 exercises. (The setup cell prints something
# else: how long the *machine* takes to run the notebook.)

# %% tags=["skip-colab"]
# Setup: the scale switch. Live cells run at SCALE; figures at `small` / `paper` are drawn from the
# shipped run records (results/<scale>/records/, written by `python -m loopvalley reproduce`)
# unless RECOMPUTE is True.
SCALE = "ci"        # ci | small | paper
RECOMPUTE = False   # True: train at SCALE here instead of loading shipped records
import sys
IN_COLAB = "google.colab" in sys.modules
if IN_COLAB:
    # %pip install -q "loopvalley @ git+https://github.com/loopvalley/loopvalley@v0.2.0"
    pass
# %matplotlib inline
from loopvalley.notebook import setup
scale, g = setup(seed=0, scale=SCALE, chapter="03_markov_language")   # prints the expected run time of this notebook at each scale

# %% [markdown]
# Nothing here is trained: the language is sampled in a fraction of a second at every scale, so no
# figure is loaded from shipped records (`RECOMPUTE` changes nothing). The scale sets the sample
# sizes of the language every Markov chapter trains on:

# %%
import math
from dataclasses import replace

import numpy as np
import torch

from loopvalley.language.exercises_ch03 import check_bigram_predictive, check_unigram_predictive
from loopvalley.language.markov import (
    ic_profile,
    information_content,
    predictive,
    sample_language,
    sequence_metrics,
    stationary,
    surprisal,
)
from loopvalley.language.plots import plot_ic_distribution, plot_ic_profile, plot_references, plot_sequences
from loopvalley.looped.runs import markov_run
from loopvalley.language.widgets import markov_widget

s = markov_run(scale).data  # the language sample every Markov chapter trains on (loopvalley.scale.presets)
cfg = s.markov
print(f"scale = {scale}: V = {cfg.vocab_size} tokens, T = {cfg.seq_len}, alpha = {cfg.alpha}, "
      f"{s.n_train} training sequences, {s.n_test} test sequences per split")

# %% [markdown]
# ## 1. The generator: every sequence has its own chain
#
# A sequence $x_1 \dots x_T$ over $V$ tokens is produced by a first-order Markov chain that is
# drawn **for that sequence alone** (the transition matrix $P$, its stationary distribution $\pi$,
# $V$, $T$ and the other symbols: see the [glossary](00_start_here.ipynb#Glossary)):
#
# $$
# P(\cdot \mid i) \sim \mathrm{Dirichlet}(\alpha, \dots, \alpha)\ \ (i = 1..V), \qquad
# x_1 \sim \pi \ \text{ with } \ \pi^\top P = \pi^\top, \qquad
# x_{t+1} \sim P(\cdot \mid x_t).
# $$
#
# Because no two sequences share a chain, a model cannot memorise transition probabilities in its
# weights: it has to **read them off the context** ("in-context Markov chains"). The concentration
# $\alpha$ is the complexity knob of the whole language: small $\alpha$ gives peaked rows (each
# token has a favourite successor), large $\alpha$ gives flat, noisy rows.
#
# We draw a fixed training set (the paper counts epochs, so the training set is finite) and fresh
# test sets. Everything random goes through one explicit `torch.Generator`.

# %%
data = s.sample(0)  # seed 0's sample: make_markov_data(cfg, n_train, n_test, seeds.data_generator(0))
P0 = data.P["train"][0]
print("first training sequence:", "".join(map(str, data.train[0].tolist())))
print("its chain P (rows = current token):\n", P0.numpy().round(2))
print("its stationary distribution pi:", stationary(P0[None])[0].numpy().round(2))

# %% [markdown]
# ## 2. Two ways to predict the next token from the context
#
# Let $N_t(j)$ count token $j$ in $x_{\le t}$ and $N_t(i \to j)$ count the transitions $i \to j$
# inside $x_{\le t}$. Three reference predictors bracket every model:
#
# | predictor | $p(x_{t+1} = j \mid x_{\le t})$ | what it needs |
# |---|---|---|
# | **Bayes (true chain)** | $P(j \mid x_t)$ | the chain itself: an oracle, the ceiling |
# | **in-context bigram** | $\dfrac{N_t(x_t \to j) + \alpha}{N_t(x_t \to \cdot) + V\alpha}$ | find earlier copies of $x_t$, look at what *followed* them |
# | **in-context unigram** | $\dfrac{N_t(j) + \alpha}{t + V\alpha}$ | count the tokens seen so far |
#
# The bigram estimator is the posterior mean of the Dirichlet row — the best a learner can do
# without the oracle (up to the information in $x_1$). The unigram estimator converges to $\pi$.
#
# **Why this separates Single from Looped.** One causal attention layer can compute the unigram
# predictor in one pass: attend uniformly and average the token embeddings. The bigram predictor
# needs *two composed lookups*: first each position must learn which token preceded it (a
# previous-token head), and only then can the current token find "positions whose predecessor
# equals me" (an induction head). One pass of attention cannot compose the two; a layer applied
# three times can (loop 1 copies the previous token, loop 2 matches on it — notebook 04 shows the
# attention maps).
#
# ### Exercise 3.1 — the counting predictor
#
# > **Difficulty** ★★☆ · **Importance** 🔵🔵⚪ · **Time** ≈ 15 min · **Kind** computation
#
# Write the in-context unigram predictor of the table, for a whole batch at once. `tokens` has shape
# `(n, T)` (integer token ids); return, for every sequence and every position $t = 1..T-1$, the
# distribution of the *next* token $x_{t+1}$ computed from $x_1..x_t$ only: shape `(n, T−1, V)`, with
# $V$ = `vocab_size` and the prior `alpha`. The checker tries a constant sequence, a vocabulary with
# tokens that never appear, a strong prior and the shortest sequences, and says what is wrong.
#
# <details><summary>Hint</summary>
#
# One-hot encode the tokens (`torch.nn.functional.one_hot`); a cumulative sum along the positions
# counts every token seen so far. Which of those running counts may the prediction of $x_{t+1}$ use?
# </details>

# %%
def unigram_predictive(tokens, alpha, vocab_size):
    # tokens: (n, T) integer ids; alpha: the prior; vocab_size: V  ->  (n, T−1, V)
    # for every position t, a distribution over the next token from the token counts of x_1..x_t
    # example: tokens = [[0, 0, 1]], alpha = 1, vocab_size = 2  ->  [[[2/3, 1/3], [3/4, 1/4]]]
    # YOUR CODE HERE
    raise NotImplementedError


unigram_predictive = check_unigram_predictive(unigram_predictive)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# import torch.nn.functional as F
#
# def unigram_predictive(tokens, alpha, vocab_size):
#     counts = F.one_hot(tokens, vocab_size).double().cumsum(1)[:, :-1]   # N_t(j) for t = 1..T−1: (n, T−1, V)
#     t = torch.arange(1, tokens.shape[1], dtype=torch.float64)[None, :, None]
#     return (counts + alpha) / (t + vocab_size * alpha)
# ```
# </details>
#
# **Predict:** on the deterministic cycle $0 \to 1 \to 2 \to 0 \to \dots$, after seeing
# $x_1..x_7 = 0, 1, 2, 0, 1, 2, 0$, where does each predictor put its mass for $x_8$ (the truth is 1)?

# %%
x = torch.tensor([[0, 1, 2, 0, 1, 2, 0, 1]])  # a cycle 0 → 1 → 2 → 0
preds = {"unigram (yours)": unigram_predictive(x, cfg.alpha, 3),
         "bigram": predictive(x, "bigram", alpha=cfg.alpha, vocab_size=3)}
for kind, p in preds.items():
    print(f"{kind:16s} p(x_8 | {x[0, :-1].tolist()}) = {p[0, -1].numpy().round(2)}   (truth: x_8 = {int(x[0, -1])})")

# %% [markdown]
# <details><summary>Answer</summary>
#
# The unigram predictor is stuck near chance: every token is about equally frequent in a cycle, so
# counting says nothing. The bigram predictor already puts most of its mass on the right token: it
# has seen $0 \to 1$ twice, and nothing else after a 0.
# </details>
#
# ### Exercise 3.2 — the in-context bigram, by counting transitions
#
# > **Difficulty** ★★★ · **Importance** 🔵🔵🔵 · **Time** ≈ 25 min · **Kind** mechanism
#
# The bigram predictor is what Looped-Attn learns and Single-Attn cannot (notebooks 04 and 09). Write it
# for a batch: for every sequence and position $t = 1..T-1$, the distribution of $x_{t+1}$ from what
# *followed earlier copies of the current token* $x_t$ inside $x_1..x_t$, with the add-$\alpha$ prior;
# shape `(n, T−1, V)` for `tokens` `(n, T)`. The checker compares with the library's predictor and says
# what is wrong (a count that sees the answer, the row of the wrong token, token counts instead of
# transitions, a missing prior).
#
# <details><summary>Hint</summary>
#
# A transition is a pair of adjacent one-hot vectors: their outer product at every position, shape
# `(n, T−1, V, V)`, and a cumulative sum over positions counts the transitions seen so far. The
# prediction at $t$ may use the transitions $x_s \to x_{s+1}$ with $s + 1 \le t$ — shift by one — and reads
# the row of the current token $x_t$ (fancy indexing with `tokens[:, :-1]`).
# </details>

# %%
def bigram_predictive(tokens, alpha, vocab_size):
    # tokens: (n, T) integer ids; alpha: the prior; vocab_size: V  ->  (n, T−1, V)
    # for every position t, a distribution over the next token from what followed earlier copies of x_t
    # example: tokens = [[0, 1, 0, 1]], alpha = 1, vocab_size = 2  ->  [[[1/2, 1/2], [1/2, 1/2], [1/3, 2/3]]]
    # YOUR CODE HERE
    raise NotImplementedError


bigram_predictive = check_bigram_predictive(bigram_predictive)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# import torch.nn.functional as F
#
# def bigram_predictive(tokens, alpha, vocab_size):
#     n, T = tokens.shape
#     onehot = F.one_hot(tokens, vocab_size).double()                                  # (n, T, V)
#     trans = torch.einsum("nsa,nsb->nsab", onehot[:, :-1], onehot[:, 1:])             # x_s → x_{s+1}: (n, T−1, V, V)
#     seen = torch.cat([torch.zeros_like(trans[:, :1]), trans[:, :-1]], 1).cumsum(1)   # transitions inside x_1..x_t
#     row = seen[torch.arange(n)[:, None], torch.arange(T - 1)[None], tokens[:, :-1]]  # the row of x_t: (n, T−1, V)
#     return (row + alpha) / (row.sum(-1, keepdim=True) + vocab_size * alpha)
# ```
#
# The shift matters: the transition $x_t \to x_{t+1}$ is the answer, so at position $t$ only the
# transitions that *end* at or before $x_t$ count. The normaliser is the number of transitions out of
# $x_t$ seen so far, which is 0 at the first occurrence of a token: the prior keeps that row uniform.
# </details>
#
# Your bigram on the cycle, and on the whole training sample against the library's:

# %%
print(f"bigram (yours) p(x_8 | {x[0, :-1].tolist()}) = {bigram_predictive(x, cfg.alpha, 3)[0, -1].numpy().round(2)}")
mine, lib = bigram_predictive(data.train, cfg.alpha, cfg.vocab_size), predictive(data.train, "bigram", alpha=cfg.alpha, vocab_size=cfg.vocab_size)
print(f"{tuple(data.train.shape)} training tokens: largest difference to the library {float((mine - lib).abs().max()):.1e}")

# %% [markdown]
# ## 3. Information content: the part of a sequence that lives in its transitions
#
# We define the **information content** of a sequence as the information its transitions carry
# beyond its token frequencies, in nats per token, under the true chain:
#
# $$
# \boxed{\ \mathrm{IC}(x) \;=\; \frac{1}{T-1}\sum_{t=2}^{T} \log \frac{P(x_t \mid x_{t-1})}{\pi(x_t)}\ }
# $$
#
# The formula by hand, for the first training sequence, against the library:

# %%
xs1, P1, pi1 = data.train[0].tolist(), data.P["train"][0], data.pi["train"][0]  # one sequence, its chain
T = len(xs1)
total = 0.0
for t in range(1, T):  # the maths' t = 2..T (Python counts from 0)
    total += math.log(P1[xs1[t - 1], xs1[t]] / pi1[xs1[t]])  # log P(x_t | x_{t−1}) / π(x_t)
ic_by_hand = total / (T - 1)  # the mean over the T − 1 transitions
ic_lib = information_content(data.train[:1], P1[None], pi1[None])[0]
torch.testing.assert_close(torch.tensor(ic_by_hand, dtype=torch.float64), ic_lib)
torch.testing.assert_close(ic_lib, data.ic["train"][0])
print(f"IC of the first training sequence: {ic_by_hand:.4f} nats/token (by hand = library = the stored value)")

# %% [markdown]
# Two facts make this the right grade for our question:
#
# 1. **It is a loss gap.** $\mathrm{IC}(x) = \ell_\pi(x) - \ell_P(x)$: the per-token loss of the best
#    *frequency* predictor ($\pi$) minus that of the best *transition* predictor ($P$) on that very
#    sequence. A sequence with $\mathrm{IC}\approx 0$ loses nothing to a model that only counts; a
#    sequence with large IC is one a counting model gets badly wrong.
# 2. **On average it is the chain's mutual information** $I(X_{t-1}; X_t)$ (the expectation of the
#    pointwise mutual information above), so $\alpha$ moves the whole IC distribution.
#
# The classical *Shannon* information content, the surprisal $-\log p(x)/T$, measures something
# else: how noisy the sequence is for **every** predictor alike. We show it for contrast.
#
# Check fact 1 on the training set:

# %%
y = data.train[:, 1:]
rows = torch.arange(y.shape[0])[:, None]
loss_pi = -torch.log(data.pi["train"][rows, y]).mean(1)  # ℓ_π(x) over t = 2..T
loss_P = sequence_metrics(predictive(data.train, "bayes", data.P["train"]), data.train)["loss"]  # ℓ_P(x)
gap = (loss_pi - loss_P - data.ic["train"]).abs().max()
print(f"max |ℓ_pi − ℓ_P − IC| over {len(y)} sequences: {float(gap):.1e}")
print(f"sequences with IC < 0: {float((data.ic['train'] < 0).double().mean()):.1%} of the training set")

# %% [markdown]
# **IC can be negative** (the last line). Each term $\log P(x_t \mid x_{t-1})/\pi(x_t)$ is the
# *pointwise* mutual information of one transition: positive when the chain made the transition more
# likely than the token's long-run frequency, negative when it made it *less* likely. Averaged over
# everything the chain can produce it is the mutual information, which is never negative — but one
# finite sequence can happen to take mostly "unlikely" transitions. On such a sequence the previous
# token *misleads*: the frequency predictor $\pi$ beats the true transition probabilities
# ($\ell_\pi < \ell_P$). Those sequences sit at the bottom of the simple split.
#
# ## 4. The splits
#
# **Simple** = the bottom IC quintile of the training set, **complex** = the top quintile (the
# thresholds are fixed on the training set; the test sets are fresh sequences whose IC falls in
# each range).
#
# **Predict:** the surprisal is the loss of the *best* predictor. Should a sequence with high IC be
# more or less surprising than one with low IC — or are the two unrelated?

# %%
fig = plot_ic_distribution(data)
lo, hi = data.thresholds
print(f"IC thresholds: simple <= {lo:.3f}, complex >= {hi:.3f} nats/token (the {cfg.simple_quantile:.0%} and "
      f"{cfg.complex_quantile:.0%} quantiles of the training IC); mean IC (train) = {float(data.ic['train'].mean()):.3f}")
sur = surprisal(data.train, data.P["train"], data.pi["train"])
x1_term = -torch.log(data.pi["train"][torch.arange(len(sur)), data.train[:, 0]])  # −log π(x_1)
identity = (sur - (x1_term + (T - 1) * (loss_pi - data.ic["train"])) / T).abs().max()
print(f"surprisal = [−log π(x_1) + (T−1)(ℓ_π − IC)] / T holds to {float(identity):.0e}")
r_ic = float(np.corrcoef(data.ic["train"], sur)[0, 1])
print(f"correlation of IC and surprisal: {r_ic:+.2f};  spread (std) of IC {float(data.ic['train'].std()):.2f}, "
      f"of ℓ_π {float(loss_pi.std()):.2f} nats/token")
low_s = float(torch.quantile(sur, 0.2))
cx = data.ic["train"] >= hi
print(f"complex training sequences in the lowest surprisal quintile: {float((sur[cx] <= low_s).double().mean()):.0%}")

# %% [markdown]
# *Figure 3.1* — (a) Where the simple and complex splits sit in the training IC distribution; (b) IC against surprisal, coloured by split: at every surprisal level there are sequences of every IC.

# %% [markdown]
# <details><summary>Answer</summary>
#
# Less surprising, on average — the trend in panel (b) is negative, and the identity above says
# exactly why: the surprisal is (up to the first token) the loss of the true chain, $\ell_P = \ell_\pi -
# \mathrm{IC}$. At a fixed $\ell_\pi$, one more nat of transition information is one nat less surprise;
# a sequence whose transitions say a lot is a predictable one — *for a predictor that reads
# transitions*. But the two are far from the same number: $\ell_\pi$, how evenly a sequence's tokens
# are spread under its own chain's frequencies, varies more than IC does (the printed spreads), so the
# correlation is weak and at every surprisal level there are sequences of every IC. A split by
# surprisal would pick different sequences: most complex sequences are *not* in its low-surprisal
# quintile (printed above). The complex split is not the "easy" split, nor the noisy one.
# </details>
#
# Representative sequences of each split — at evenly spaced IC quantiles of the split, not the first
# ones drawn:

# %%
fig = plot_sequences(data, n=6)
x_c, P_c = data.test["complex"], data.P["complex"]
acc_bayes = sequence_metrics(predictive(x_c, "bayes", P_c), x_c)["acc"]
acc_uni = sequence_metrics(predictive(x_c, "unigram", P_c, cfg.alpha, cfg.vocab_size), x_c)["acc"]
print(f"complex test sequences on which counting (unigram) is at least as accurate as the true chain: "
      f"{float((acc_uni >= acc_bayes).double().mean()):.1%}")

# %% [markdown]
# *Figure 3.2* — Six test sequences of each split at evenly spaced IC quantiles, one row each: look for runs and orderless mixtures on the left, alternations and cycles on the right.

# %% [markdown]
# Simple sequences look like draws from token frequencies: long runs of a favourite token, or tokens
# mixed with no order in their transitions. Complex ones follow a visible rule — alternation, a
# cycle, a favourite successor — that token counts cannot see.
#
# **A caveat: runs in a rare state.** IC compares each transition with the chain's *long-run*
# frequency $\pi$, not with the sequence's own counts. A slowly mixing chain can sit in a state that is
# rare under $\pi$ for most of a sequence (say $P(2 \mid 2) \approx 0.9$ but $\pi(2) \approx 0.1$):
# every step of that run scores $\log 0.9/0.1 \gg 0$, and the sequence lands in the complex split,
# although counting its own tokens predicts the run perfectly. Such sequences exist but are rare — the
# last line counts the complex sequences on which counting does as well as the oracle.
#
# ## 5. Why IC grades difficulty
#
# Sort fresh sequences into ten equal-count IC bins and score every reference predictor per bin.
#
# **Predict:** as IC grows, does each predictor's accuracy go up or down? And if the bins were made by
# surprisal instead?

# %%
xs, Ps, pis, ics = sample_language(4 * s.n_test, cfg, torch.Generator().manual_seed(7))
prof = ic_profile(xs, Ps, pis, cfg.alpha, n_bins=10)
prof_s = ic_profile(xs, Ps, pis, cfg.alpha, n_bins=10, score=surprisal(xs, Ps, pis))
import matplotlib.pyplot as plt
fig, (a, b) = plt.subplots(1, 2, figsize=(12, 3.9), sharey=True, layout="constrained")
plot_ic_profile(prof, ax=a)
plot_ic_profile(prof_s, ax=b)
a.get_legend().remove()  # one legend, right of panel (b)
a.set_title("(a) binned by IC (ours)")
b.set(title="(b) binned by surprisal −log p(x)/T", xlabel="surprisal (nats / token, bin mean)")
gap_ic = (prof["acc"]["bayes"] - prof["acc"]["unigram"]) * 100
print("Bayes − unigram accuracy per IC bin (points):", gap_ic.numpy().round(1))

# %% [markdown]
# *Figure 3.3* — Each reference predictor's accuracy per bin: (a) by IC, the in-context unigram falls while the bigram and the oracle rise; (b) by surprisal, all fall together. The dash-dotted line is chance, 1/V.

# %% [markdown]
# <details><summary>Answer</summary>
#
# Read panel (a) from left to right: the unigram predictor's accuracy *falls* with IC, while the
# bigram and Bayes predictors', after a dip at low IC, *rise* — complex sequences are among the most
# predictable ones, but only for a predictor that uses transitions. The gap between the curves (the
# printed line) is what a counting model (Single-Attn, notebook 04) leaves on the table. Panel (b)
# bins the same sequences by surprisal: every predictor simply gets worse together, so a surprisal
# split would grade noise, not the kind of computation a sequence requires.
# </details>
#
# ## 6. Reference predictors per split
#
# These are the ceilings and floors drawn in every notebook-04 plot:

# %%
fig = plot_references(data.references, "acc")
r = data.references
for split, refs in r.items():
    print(f"{split:8s}" + "  ".join(f"{k}: {100 * v['acc']:.1f}% / {v['loss']:.3f} nats" for k, v in refs.items()))
behind = {sp: 100 * (r[sp]["bayes"]["acc"] - r[sp]["unigram"]["acc"]) for sp in r}
print(f"counting (unigram) is {behind['simple']:.1f} points behind the oracle on the simple split and "
      f"{behind['complex']:.1f} points behind on the complex split; the in-context bigram is "
      f"{100 * (r['complex']['bayes']['acc'] - r['complex']['bigram']['acc']):.1f} points behind on the complex split "
      f"and trails counting by {100 * (r['simple']['unigram']['acc'] - r['simple']['bigram']['acc']):.1f} points on the simple one")

# %% [markdown]
# *Figure 3.4* — The reference predictors on each split (values on the bars): compare counting (in-context unigram) with the oracle on the simple split, and the in-context bigram with the oracle on the complex one; chance is 1/V.

# %% [markdown]
# On the **simple** split counting tokens is close to the oracle (and the bigram estimator is even
# *worse* than counting: it spends its context estimating $V^2$ transition probabilities that carry no
# extra information). On the **complex** split counting falls far behind, while the in-context bigram
# gets most of the way to the oracle (the last printed line has the numbers).
#
# **Design choices, and the alternatives we rejected.**
# - *A fixed (global) first-order chain* is learned into the weights: a model needs no attention
#   at all (the readout of the current token's embedding is already $P(\cdot\mid x_t)$), so Single
#   and Looped would be indistinguishable.
# - *Fixed $k$-th order chains* grade the order of a memorised table, not in-context computation.
# - *Mixtures of peaked and flat rows* with IC = surprisal grade noise (panel 5b): every model is
#   worse on the "complex" split by the same amount.
# - In-context chains with few tokens and peaked rows (the $V$ and $\alpha$ printed at the top) give a
#   wide IC spread and a large gap on the complex split; quintile splits compare the two ends of the IC
#   distribution.
#
# ### Try it
#
# **Predict** before you run the cell below: what happens to the mean IC, and to the gap between the
# oracle and counting on the complex split, when
# - α = 0.1 (rows nearly deterministic)?
# - α = 5 (flat rows)?
# - V = 8 tokens with the same length (64 transition probabilities to estimate from a short context)
#   — and what happens to the in-context bigram?

# %%
for alpha_, V_ in ((0.1, cfg.vocab_size), (cfg.alpha, cfg.vocab_size), (5.0, cfg.vocab_size), (cfg.alpha, 8)):
    d = replace(s, markov=replace(cfg, alpha=alpha_, vocab_size=V_)).sample(0)
    rc = d.references["complex"]
    print(f"α = {alpha_:<4g} V = {V_}:  mean IC {float(d.ic['train'].mean()):.3f} nats/token;  complex split: "
          f"Bayes {100 * rc['bayes']['acc']:.1f}%, bigram {100 * rc['bigram']['acc']:.1f}%, "
          f"unigram {100 * rc['unigram']['acc']:.1f}%, chance (1/V) {100 / V_:.1f}%")

# %% [markdown]
# <details><summary>Answers</summary>
#
# - α = 0.1: rows become nearly deterministic, the complex split turns into cycles, and counting
#   falls to chance — or below it, since on a cycle the most frequent token so far is often the wrong
#   one — while the oracle and the bigram are almost always right.
# - α = 5: rows become flat and the mean IC shrinks towards 0, so the predictors move towards each
#   other and towards chance (the cell prints how close: compare the oracle and the bigram with 1/V).
#   The complex split still shows a gap, because a quintile split always takes the top fifth of the
#   IC distribution, however low it is; but there is less left to learn.
# - V = 8: the IC grows (more room for transitions to matter), but the in-context bigram now lags the
#   oracle by far more than at V = 3 — a longer context is needed to estimate the transitions.
#
# Then explore the same knobs, with the figures, in the widget (its defaults are the figures above).
# </details>

# %% tags=["nbval-ignore-output"]
markov_widget(s, seed=0)

# %% [markdown]
# ## Key takeaways
#
# - Every sequence has its own Markov chain, so a model has to read the chain off the context.
# - IC is a per-sequence loss gap, $\ell_\pi - \ell_P$: the nats per token that the transitions carry
#   beyond the token frequencies. It can be negative on a single sequence; on average it is the chain's
#   mutual information.
# - Counting tokens (one attention pass) is nearly enough on low-IC sequences and falls far behind on
#   high-IC ones; reading transitions in context (two composed lookups) closes most of that gap.
# - IC is not surprisal: surprisal grades how noisy a sequence is for every predictor, IC what kind of
#   computation predicting it needs.
#
# ## Check your understanding
#
# 1. A sequence has IC ≈ 0. Which predictor do you need to predict it as well as the true chain does?
#
# <details><summary>Answer</summary>
#
# A frequency (order-0) predictor: IC ≈ 0 means $\ell_\pi \approx \ell_P$, so knowing the previous token
# adds nothing — counting the tokens in context (which converges to $\pi$) is as good as the chain.
# </details>
#
# 2. Why can one causal attention layer compute the in-context unigram predictor but not the bigram
#    predictor?
#
# <details><summary>Answer</summary>
#
# Unigram counts are an average over the context: uniform attention over the previous positions,
# applied to token embeddings, computes them in one pass. The bigram needs, for the current token,
# the positions *whose predecessor* equals it; a position does not know its predecessor until a first
# attention step has copied it there. That is two composed lookups — one pass cannot, a looped layer can.
# </details>
#
# 3. If we split by surprisal instead of IC, what would the "complex" split contain?
#
# <details><summary>Answer</summary>
#
# The noisiest sequences — flat chains where every predictor, the oracle included, does badly. A
# model would be worse on that split by the same amount as every reference, so the split would say
# nothing about whether a model can read transitions.
# </details>

# %% [markdown]
# ## References
#
# - **The paper** — Gong, Teng & Liu (2025), arXiv:2510.10089: a synthetic Markov language "with
#   controllable complexity, measured by Information Content", split into simple and complex patterns
#   [SUM-A, SUM-S, REV]. Its generator, IC formula and thresholds are not public (its full text could not
#   be read for this course): the language and the IC here are ours [INF] — see
#   [docs/paper-notes.md](../docs/paper-notes.md) §1.3 and §2.2.
# - **Wen et al. (2024)**, arXiv:2410.05192: the river-valley landscape of notebooks 01–02 [ABS-Wen]; this
#   chapter only builds the data on which notebooks 04–05 look for it.
# - **Edelman, Edelman, Goel, Malach & Tsilivis (2024)**, *The Evolution of Statistical Induction Heads:
#   In-Context Learning Markov Chains*, arXiv:2402.11004 (NeurIPS 2024): one chain per sequence with a
#   Dirichlet prior, the unigram stage and the in-context bigram solution (Exercises 3.1–3.2, §2).
# - **Olsson et al. (2022)**, *In-context Learning and Induction Heads*, arXiv:2209.11895: the
#   previous-token → induction composition that the bigram predictor needs (§2).

# %% [markdown]
# ## Design check
#
# This notebook makes no paper claim; it checks that the language has the property notebook 04
# relies on: IC separates *what a counting predictor can do* from *what a transition predictor can
# do*. On the simple split the unigram predictor is within 5 points of the oracle; on the complex
# split it is more than 20 points behind, while the in-context bigram is within 10.

# %%
r = data.references
checks = {
    "simple: Bayes − unigram <= 5 points": 100 * (r["simple"]["bayes"]["acc"] - r["simple"]["unigram"]["acc"]) <= 5,
    "complex: Bayes − unigram > 20 points": 100 * (r["complex"]["bayes"]["acc"] - r["complex"]["unigram"]["acc"]) > 20,
    "complex: Bayes − bigram < 10 points": 100 * (r["complex"]["bayes"]["acc"] - r["complex"]["bigram"]["acc"]) < 10,
    "unigram accuracy falls with IC": bool(prof["acc"]["unigram"][-1] < prof["acc"]["unigram"][0]),
}
for k, v in checks.items():
    print(f"{k}: {'yes' if v else 'NO'}")
assert all(checks.values()), "the language no longer separates the splits"
