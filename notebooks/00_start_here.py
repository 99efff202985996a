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
# # 00 — Start here: the syllabus
#
# **The question.** Apply one attention layer three times with the same weights (a *looped*
# transformer) instead of once, and it learns patterns the single layer never learns. Why? Gong, Teng &
# Liu, *What Makes Looped Transformers Perform Better Than Non-Recursive Ones (Provably)* (arXiv
# 2510.10089), answer with the loss landscape: recursion shapes an ill-conditioned **V-shaped valley**,
# where gradient descent keeps "hopping" between the valley walls and is pushed down the river, while
# the single layer sits in a flat-bottomed **U-valley**. The paper is on arXiv; it was submitted to ICLR
# 2026 and withdrawn after reviews rated 0 / 4 / 4, and its full text could not be read for this
# course — what we know of it (abstract, reviews, summaries) is tagged by source in
# [docs/paper-notes.md](../docs/paper-notes.md), and so is every paper number quoted in a chapter.
#
# Nine chapters take the claim apart — the landscape theory on exact toy losses (01–02), the data (03),
# the two networks (04), their Hessians (05), the GPU path (06), the SHIFT training recipe (07–08) and
# a control that asks whether it is recursion or plain depth (09) — and each ends by testing its part:
# a **ledger** of claims, each a measured margin with an interval and a verdict. The picture below is
# the observation everything starts from (from the shipped runs); the scorecard under it is what the
# ledger found.

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
scale, g = setup(seed=0, scale=SCALE, chapter="00_start_here")   # prints the expected run time of this notebook at each scale

# %% tags=["nbval-ignore-output"]
from IPython.display import Image, Markdown, display

from loopvalley.claims import scorecard
from loopvalley.records import results_dir
from loopvalley.registry import shipped_ledger

picture = results_dir("small") / "sample_dynamics_accuracy.png"
if picture.exists():
    display(Image(filename=str(picture), width=760))
ledger = shipped_ledger("small")
display(Markdown(scorecard(ledger) if ledger else "*(no shipped ledger here: run `python -m loopvalley reproduce`)*"))

# %% [markdown]
# *Figure 0.0* — Complex-split accuracy over training (shipped `small` runs): Single-Attn (one layer)
# levels off while Looped-Attn (the same layer, three times) keeps climbing. Above: the scorecard,
# generated from the shipped ledger — only **empirical** claims count for or against the paper;
# identities (checks of the code) and claims true **by construction** are listed apart; **fragile**
# means one reasonable analysis choice, or one seed, overturns the verdict.
#
# The one finding worth carrying through the course is printed next, from the same ledger: what the
# controls of chapter 09 — an untied stack of the same depth at the same compute, and a wide layer with
# its parameters — say about *why* Looped-Attn beats Single-Attn here.

# %% tags=["nbval-ignore-output"]
from loopvalley.looped.recursion_depth import what_it_means

if ledger:
    print(what_it_means([c for c in ledger if c["id"] in ("S4", "S5a", "S5b", "S6")]))

# %% [markdown]
# This notebook is the map: what each chapter teaches, what to know first, how long each takes, in
# which order to read them, how to read a verdict, and the [glossary](#Glossary) of every symbol.

# %% [markdown]
# ## The chapters
#
# | chapter | what it teaches | paper | claims | needs first |
# |---|---|---|---|---|
# | [01 River valley](01_river_valley.ipynb) | Wen et al.'s river-valley landscape: a high learning rate moves fast along the river while bouncing between the hillsides, and a warmup-stable-decay schedule reveals the progress | background (Wen et al. 2024) | T1 | gradient descent, learning rates |
# | [02 U- vs V-valleys](02_u_vs_v_valleys.ipynb) | the river/valley split of the Hessian, U- vs V-valleys by κ(H_V), valley hopping, the cumulative force C_K and Theorem 1's bound 𝒞, Corollaries 1–2 | Definition 1, Theorem 1, Corollaries 1–2 | T2–T6 | 01; eigenvalues, condition number |
# | [03 Markov language](03_markov_language.ipynb) | the synthetic language: one Markov chain per sequence, Information Content (IC), the simple and complex splits, the reference predictors (Bayes, bigram, unigram) | §5.1's data | — | Markov chains, log-probabilities |
# | [04 Single vs Looped](04_single_vs_looped.ipynb) | Single-Attn plateaus on the complex split while Looped-Attn (3 loops, shared weights) keeps learning: the two-phase curriculum | sample-level observation (Fig. 3) | S1–S3 | 03; attention, training loops |
# | [05 Hessian dynamics](05_hessian_dynamics.ipynb) | Hessian spectra over training by Lanczos: Collapse → Diversification → Stabilization, κ(H_valley), Assumption 1, and how much the thresholds ε, τ decide | Hessian-level observation (Figs. 3, 7, 8), Assumption 1 | H1–H4 | 02, 04; Hessian-vector products |
# | [06 GPU path](06_full_gpu_training.ipynb) | the paper-scale path: presets, bf16, `torch.compile`, DDP, what a loop costs, shipped GPU records | — | — | 04 (optional chapter) |
# | [07 SHIFT](07_shift.ipynb) | SHIFT: train Single-Attn, switch to Looped-Attn when the criterion with patience (δ1, δ2, W) fires; equal-compute comparison; Theorem 3's "shared river upstream" | §SHIFT, Theorem 3, Fig. 4 | F1–F3b | 02, 04 |
# | [08 Algorithmic tasks](08_algorithmic_tasks.ipynb) | unique set (of Fan et al.'s five tasks, the one any arm learns beyond the training lengths on a CPU): length generalisation, SHIFT with an oracle switch step vs with the criterion | Figs. 11–16 | F4a–F4c | 07 |
# | [09 Recursion or depth](09_recursion_or_depth.ipynb) | is it the recursion? Single, Looped-T and Untied-T at equal compute and a converged horizon, a wide single layer, the loop-count sweep T = 1–6 | the implied claim | S4–S6 | 04 |
#
# **Order.** Read 01 → 02 (the theory), 03 → 04 (the phenomenon), then 05 (does the theory's
# mechanism show up in the networks?), 09 (is it recursion?), 07 → 08 (the training recipe). 06 is
# for readers with a GPU. Short on time: 01, 02, 04 and 07 carry the paper's argument.
#
# **Prerequisites.** Python and NumPy; PyTorch tensors and autograd; gradient descent; eigenvalues
# and the condition number of a symmetric matrix; what an attention layer computes. No GPU: every
# notebook runs on a laptop CPU.
#
# **Time per chapter.** Measured on a 2-core CPU (`notebooks/run_times.json`, written by
# `scripts/build_notebooks.sh`); "not measured" where nobody has timed it yet. The live cells run at
# `ci` by default everywhere; `small` and `paper` figures come from shipped run records, so the
# `small` / `paper` columns are only what it costs to *recompute* a chapter (`SCALE = "small"`,
# `RECOMPUTE = True`).

# %%
from loopvalley.figures import CHAPTERS
from loopvalley.notebook import run_times

table = run_times()
if table is None:
    print("The run-time table (notebooks/run_times.json) is not here (e.g. on Colab); see the README.")
else:
    def fmt(e):
        s = (e or {}).get("seconds")
        return "not measured" if s is None else (f"{s:.0f} s" if s < 90 else f"{s / 60:.0f} min")

    print(f"measured on {table.get('machine', '?')}:")
    print(f"{'chapter':24s} {'ci':>14s} {'small':>14s} {'paper':>14s}")
    for name in ("00_start_here",) + CHAPTERS:
        e = table["notebooks"].get(name, {})
        print(f"{name:24s} {fmt(e.get('ci')):>14s} {fmt(e.get('small')):>14s} {fmt(e.get('paper')):>14s}")

# %% [markdown]
# ## Exercises and derivations
#
# Every chapter 01–09 asks you to build part of what it teaches. Each item carries one header line:
#
# - **Difficulty** ★☆☆ to ★★★, and **Importance** 🔵⚪⚪ to 🔵🔵🔵 — how central it is to the paper's
#   argument (do the 🔵🔵🔵 ones first when time is short);
# - **Time**: the minutes a student who has read the chapter needs;
# - **Kind**: *mechanism* — build a piece of the machinery the chapter is about (the cumulative-force
#   recursion, the in-context bigram, the looped forward pass, Lanczos, the SCP controller, the untied
#   stack, the induction score); *computation* — a quantity the chapter reads; *derivation* — a result on
#   paper, followed by a cell that checks it against the library (some end in a function you write).
#
# An **exercise** is a stub that raises `NotImplementedError`, then `fn = check_<name>(fn)`. The stub says
# what to compute, the shapes and a small example — never the formula; a collapsed **Hint** gives the
# idea. The checker runs your function against the library on several cases, edge cases included, and
# says in one sentence what is wrong (a shape, a factor, a sign, a mask, an axis, a missing carry, a
# basis that lost orthogonality); once your function passes, the rest of the notebook uses it. Until you
# write it the checker prints "… is not implemented yet" and the notebook goes on with the library's
# version, so every notebook runs top to bottom. A **derivation** has a hint and a worked answer.
#
# In the instructor copy — the repository's notebooks — the **Solution** or **Worked answer** sits
# collapsed under each item, and every prediction has a collapsed answer.
# `python -m loopvalley student-release --out DIR` writes the copy to hand out: the same notebooks
# without solutions, worked answers or answers (the hints stay), which
# `scripts/check_student_release.py DIR` executes to check that it runs.
#
# ## Course structure
#
# Read in the order of the section above; the study time is a student's (reading, exercises,
# derivations), not the machine's run time tabulated above.
#
# | chapter | what you will be able to do | study time | exercises | derivations |
# |---|---|---|---|---|
# | [01](01_river_valley.ipynb) | read the river-valley landscape, derive GD's stability across it and SGD's bounce, explain why WSD's decay reveals progress | 1–1½ h | 1 | 2 |
# | [02](02_u_vs_v_valleys.ipynb) | tell U- from V-valleys, run the valley recursion, derive Theorem 1's bound, $C_\infty$ and Corollary 1's ratio | 2–2½ h | 2 | 3 |
# | [03](03_markov_language.ipynb) | build the in-context Markov language, count the unigram and bigram predictors, grade sequences by IC | 1½–2 h | 2 | 0 |
# | [04](04_single_vs_looped.ipynb) | write the looped forward pass, see the two-phase curriculum, score previous-token heads | 2–2½ h | 3 | 0 |
# | [05](05_hessian_dynamics.ipynb) | compute HVPs, write Lanczos and bound its errors, judge Hessian-phase claims by a family of statistics | 2½–3 h | 3 | 2 |
# | [06](06_full_gpu_training.ipynb) | count a loop's FLOPs, run the train command's code path, know the GPU path (optional) | 1–1½ h | 1 | 0 |
# | [07](07_shift.ipynb) | derive when SHIFT saves compute, write the SCP controller, derive Theorem 3's small-weight limit | 2½–3 h | 2 | 2 |
# | [08](08_algorithmic_tasks.ipynb) | write tasks as sequences, hold out test problems, compute exact match, read length generalisation | 1–1½ h | 2 | 0 |
# | [09](09_recursion_or_depth.ipynb) | write an untied stack, compute induction scores, separate recursion from depth | 1½–2 h | 2 | 0 |
#
# In all, about 15–20 hours of study, of which about 8 hours for the 27 items, and the capstone
# project below. Every item:
#
# | chapter | item | title | kind | difficulty | importance | minutes |
# |---|---|---|---|---|---|---|
# | 01 | Exercise 1.1 | the gradient, by hand | computation | ★☆☆ | 🔵🔵⚪ | 10 |
# | 01 | Derivation 1.1 | where gradient descent is stable across the valley | derivation | ★★☆ | 🔵🔵🔵 | 15 |
# | 01 | Derivation 1.2 | how high SGD bounces | derivation | ★★☆ | 🔵🔵⚪ | 20 |
# | 02 | Exercise 2.1 | the condition number of a valley | computation | ★☆☆ | 🔵🔵⚪ | 5 |
# | 02 | Exercise 2.2 | the cumulative force, step by step | mechanism | ★★☆ | 🔵🔵🔵 | 20 |
# | 02 | Derivation 2.1 | Theorem 1's bound | derivation | ★★☆ | 🔵🔵🔵 | 15 |
# | 02 | Derivation 2.2 | where the force saturates | derivation | ★★☆ | 🔵🔵🔵 | 20 |
# | 02 | Derivation 2.3 | the ratio of the bounds | derivation | ★★★ | 🔵🔵⚪ | 25 |
# | 03 | Exercise 3.1 | the counting predictor | computation | ★★☆ | 🔵🔵⚪ | 15 |
# | 03 | Exercise 3.2 | the in-context bigram, by counting transitions | mechanism | ★★★ | 🔵🔵🔵 | 25 |
# | 04 | Exercise 4.1 | one loop's causal attention, for a batch and several heads | computation | ★★☆ | 🔵🔵⚪ | 15 |
# | 04 | Exercise 4.2 | the looped forward pass | mechanism | ★★★ | 🔵🔵🔵 | 30 |
# | 04 | Exercise 4.3 | the previous-token score | computation | ★☆☆ | 🔵🔵⚪ | 10 |
# | 05 | Exercise 5.1 | Lanczos, from scratch | mechanism | ★★★ | 🔵🔵🔵 | 30 |
# | 05 | Derivation 5.1 | the error bar of a Ritz value, for free | derivation | ★★☆ | 🔵🔵⚪ | 20 |
# | 05 | Derivation 5.2 | why the extreme eigenvalues come first | derivation | ★★★ | 🔵🔵⚪ | 25 |
# | 05 | Exercise 5.2 | the effective rank | computation | ★☆☆ | 🔵⚪⚪ | 10 |
# | 05 | Exercise 5.3 | κ_k | computation | ★☆☆ | 🔵🔵⚪ | 10 |
# | 06 | Exercise 6.1 | what a loop costs, counted by hand | computation | ★★☆ | 🔵🔵⚪ | 15 |
# | 07 | Derivation 7.1 | when does SHIFT save compute? | derivation | ★★☆ | 🔵🔵🔵 | 15 |
# | 07 | Exercise 7.1 | the gradient coherence of one window | computation | ★☆☆ | 🔵🔵⚪ | 10 |
# | 07 | Exercise 7.2 | the switch controller | mechanism | ★★☆ | 🔵🔵🔵 | 25 |
# | 07 | Derivation 7.2 | Theorem 3 at small weights | derivation | ★★★ | 🔵🔵⚪ | 30 |
# | 08 | Exercise 8.1 | the answer to an addition problem | computation | ★☆☆ | 🔵⚪⚪ | 10 |
# | 08 | Exercise 8.2 | exact match | computation | ★★☆ | 🔵🔵🔵 | 15 |
# | 09 | Exercise 9.1 | the untied stack | mechanism | ★★☆ | 🔵🔵⚪ | 15 |
# | 09 | Exercise 9.2 | the induction score | mechanism | ★★★ | 🔵🔵🔵 | 25 |

# %% [markdown]
# ## How to read a verdict
#
# Every claim of the paper becomes a **margin**: one number per seed that is positive when the data
# are on the paper's side. For "Looped-Attn ends above Single-Attn on the complex split" the margin
# of a seed is Looped's final accuracy minus Single's, in accuracy points. Over the seeds — in the
# ledger, the **confirmatory seeds** (1000, 1001, …), never used to choose a rule and never run by a
# notebook, test or CI; in the notebooks, the **teaching seeds** (500, 501, …) — we take the mean margin
# and its 95 % Student-t interval
#
# $$
# \bar m \pm t_{0.975,\,n-1}\,\frac{s}{\sqrt n}, \qquad s^2 = \frac{1}{n-1}\sum_i (m_i - \bar m)^2 .
# $$
#
# The verdict reads the interval:
#
# - **holds** — the whole interval is above 0: the seeds agree the paper is right here;
# - **fails** — the whole interval is below 0: the seeds agree it is not;
# - **inconclusive** — the interval contains 0 (the seeds cannot tell), or fewer than two seeds, or
#   a number is missing.
#
# A claim with several parts ("A and B") takes its weakest part. A *deterministic* claim (an exact
# quadratic, a parameter count: nothing a seed can change) keeps two values, holds when its margin is
# positive. Two more labels:
#
# - **kind** — *identity* (a mathematical fact checked numerically), *by construction* (forced by how the
#   model or regime is built), or *empirical* (could have come out either way). Only empirical claims
#   count for or against the paper.
# - **fragile** — every empirical claim declares the analysis choices a reasonable analyst could make
#   differently (window, threshold, horizon, normalisation, …); the ledger judges it under each, and under
#   every leave-one-seed-out subset. A holds/fails verdict that one of them overturns is *fragile*.
#   `results/small/REPORT.md` draws each claim's verdict under every choice (its specification curve).
#
# When the margins of a claim are visibly not normal (a mix of seeds that finished a climb and seeds
# that did not), its rule uses a distribution-free interval for the median instead (the sign-test
# interval), and says so. The Student-t interval computed by hand, checked against the library:

# %%
import numpy as np
import torch

from loopvalley.claims import claim_from_margins, interval_text
from loopvalley.seeds import exploratory, teaching
from loopvalley.stats import mean_interval, t_quantile

m = np.array([2.1, 3.4, 1.2, 2.8, 1.9])                     # one margin per seed (points)
n = len(m)
half = t_quantile(0.975, n - 1) * m.std(ddof=1) / np.sqrt(n)  # t_{0.975, n−1} · s / √n
by_hand = (m.mean(), m.mean() - half, m.mean() + half)
torch.testing.assert_close(torch.tensor(by_hand), torch.tensor(mean_interval(m), dtype=torch.float64))
print(f"mean margin {by_hand[0]:+.2f}, 95 % interval [{by_hand[1]:+.2f}, {by_hand[2]:+.2f}]")

# %% [markdown]
# Three made-up claims, one of each verdict, through the same function every experiment uses:

# %%
examples = {
    "A": [2.1, 3.4, 1.2, 2.8, 1.9],    # every seed on the paper's side
    "B": [-1.5, -0.8, -2.2, -1.1, -1.9],  # every seed against it
    "C": [1.5, -2.0, 0.4, 2.2, -1.6],  # the seeds disagree
}
seeds = teaching(5)
claims = [claim_from_margins(k, f"example claim {k}", "—", {"margin": v}, rule="margin > 0", rule_version="1",
                             scale=scale, seeds=seeds, exploratory_seeds=exploratory(3), units="points")
          for k, v in examples.items()]
for c in claims:
    print(f"claim {c.id}: {c.verdict:13s} {interval_text(c)}")

# %%
from loopvalley.forest import plot_forest

fig = plot_forest(claims)

# %% [markdown]
# *Figure 0.1* — One row per claim: the marker is its mean margin over seeds and the bar the 95 % interval; a bar wholly on the paper's side of 0 reads *holds*, wholly against it *fails*, across 0 *inconclusive*.

# %% [markdown]
# A verdict is a statement about *this* scale and *these* seeds. The notebooks' claims-check cells
# assert only what is robust at `ci` (a set of verdicts, e.g. `{"holds", "inconclusive"}`), and the
# README's table comes from the ledger of `python -m loopvalley reproduce` at `small`. A claim that
# fails says why, in a plain sentence, in `claims.json` and `REPORT.md`.

# %% [markdown]
# ## Capstone project
#
# About 8–12 hours, alone or in pairs, after chapters 01–05 and 07 (and 09 for project A). Choose one.
#
# **A. Recursion or depth, on a new task.** Run notebook 09's control — Single, Looped-3, Untied-3 and the
# wide Single-Attn — on a task of notebook 08 or one you define, at equal compute. Build the arms with
# `loopvalley.looped.models.variant_config` (kinds `single`, `looped`, `untied`, `wide`), the data with
# `loopvalley.shift.tasks.split_problems` (held-out test problems), train with `loopvalley.train.Trainer`
# and score with your `exact_match` and `induction_score`. Question: on this task, does recursion add
# anything beyond depth?
#
# **B. SHIFT with an oracle switch step.** In notebook 07's setting, find the switch step that would have
# been best in hindsight: branch Single's run at every check with `loopvalley.shift.controller.Snapshots`
# and `switch_from_snapshot`, give every branch Looped's budget and the same decay, and take the switch
# with the best final complex-split accuracy. Compare SCP's switch (your `scp_switch`) with the oracle's
# on confirmatory seeds; report the accuracy and the compute SCP leaves on the table, and test
# Derivation 7.1's prediction that switching pays only while a Single step is worth more than $c$ of a
# Looped one.
#
# **C. Theorem 1 beyond the quadratic.** Replace notebook 02's quadratic valley with a non-quadratic one
# (e.g. quartic walls, or the curved river of notebook 01 with several valley directions), measure
# $\max_K |C_K|/\mathcal C$ and $C_K \to C_\infty$ with your `cumulative_force_steps`, and find where Theorem 1's
# bound and Derivation 2.2's limit stop holding.
#
# **What to hand in.**
#
# 1. A notebook in this repository's template (the setup cell of this notebook, numbered sections, static
#    figures, a claims check) that runs top to bottom at `ci` in under 5 minutes on a laptop CPU.
# 2. A pre-registration, committed *before* any confirmatory run: the claim in one sentence, its margin
#    (positive = on the paper's side), the rule and the exploratory seeds it was chosen on.
# 3. The verdict: `loopvalley.claims.claim_from_margins` on at least 3 confirmatory seeds, with its interval.
# 4. A report of at most two pages: what the paper predicts, what you measured, what it means for the
#    paper's claim, and what could make your result wrong.
#
# **How it is assessed** (100 points).
#
# | criterion | points | what earns them |
# |---|---|---|
# | correctness and reproducibility | 30 | runs top to bottom from a fresh kernel; seeds explicit; every number in the report comes from the notebook |
# | experimental design | 25 | the control isolates one variable; compute and parameters stated for every arm; the rule fixed before the confirmatory seeds |
# | statistical reasoning | 20 | margins, intervals and verdicts read as in "How to read a verdict"; an inconclusive result reported as inconclusive |
# | connection to the theory | 15 | the result related to the river-valley picture, Theorem 1 or Theorem 3, using this course's derivations |
# | communication | 10 | figures follow the house rules (Okabe–Ito palette, labelled axes, ≤ 3 significant digits); a short, plain report |

# %% [markdown]
# ## Glossary
#
# Symbols and words in the order the chapters introduce them (first chapter in brackets).
#
# | symbol / term | meaning |
# |---|---|
# | η | the learning rate (step size) of gradient descent [01] |
# | WSD | warmup–stable–decay: a short warmup, a long constant learning rate, a fast decay at the end [01] |
# | river, valley | the flat and the steep directions of the loss: progress lives along the river, oscillation across the valley [01] |
# | H, λ_i, u_i | the Hessian (matrix of second derivatives) of the loss, its eigenvalues and eigenvectors [02] |
# | ε | the threshold that splits the Hessian's eigen-directions: \|λ\| ≤ ε is river, λ > ε is valley (Definition 1) [02] |
# | θ_R, θ_V | the river and valley coordinates of the parameters, θ = (θ_R, θ_V) [02] |
# | H_R, H_V, H_RV | the river block, the valley block and the river–valley coupling block of the Hessian [02] |
# | κ, κ(H_V) | the condition number λ_max / λ_min of the valley block of a quadratic (`kappa_valley`) [02] |
# | U-valley, V-valley | a well-conditioned valley, κ ≤ 1 + δ, and an ill-conditioned one, κ ≫ 1 [02] |
# | δ | the U-valley's tolerance in κ ≤ 1 + δ (we use δ = 0.1) [02] |
# | valley hopping | ηλ_i > 1: the valley coordinate flips sign every step, bouncing between the walls [02] |
# | K | the number of gradient-descent steps [02] |
# | C_K | the cumulative force the valley dynamics exert on the river after K steps, C_K = η H_RV Σ_k (I − η H_V)^k θ_V⁰ [02] |
# | 𝒞 | Theorem 1's bound ‖C_K‖ ≤ 𝒞 = Σ_i 2 ‖H_RV u_i‖ \|u_iᵀ θ_V⁰\| / λ_i [02] |
# | L_K | the loss after K steps (Corollary 2 compares L_K of the V- and U-valley) [02] |
# | V, T | the vocabulary size and the sequence length of the Markov language [03] |
# | P, π | a sequence's Markov transition matrix and its stationary distribution [03] |
# | IC | Information Content of a sequence: (1/(T−1)) Σ_t log [P(x_t \| x_{t−1}) / π(x_t)], the nats per token its transitions carry beyond its token frequencies [03] |
# | simple / complex split | the sequences with the lowest / highest IC (bottom / top 20 % of the training set) [03] |
# | Bayes, bigram, unigram | reference predictors: the true chain, the in-context bigram, the in-context token frequencies [03] |
# | Single-Attn, Looped-Attn | one attention layer applied once; the same layer applied n = 3 times with shared weights [04] |
# | E_0, E_t | the embedded input and the residual stream after t loops, E_{t+1} = E_t + Attn(LN(E_t)) [04] |
# | W_Q, W_K, W_V, W_O | the attention's query, key, value and output weights [04] |
# | plateau | the step after which Single-Attn's complex-split accuracy stops rising [04] |
# | HVP | a Hessian-vector product Hv, computed by double backward without forming H [05] |
# | Lanczos | the iteration that estimates a Hessian's extreme eigenvalues from a few dozen HVPs [05] |
# | T_m, Ritz value, residual | Lanczos's m × m tridiagonal matrix; its eigenvalues θ_i, estimates of eigenvalues of H; ‖Hy_i − θ_i y_i‖ = \|β_m s_{m,i}\|, which bounds each estimate's error [05] |
# | τ | the threshold of the low-curvature valley band (Assumption 1: Looped has more, and smaller, valley eigenvalues below τ) [05] |
# | κ_ε | λ_max / min{λ > ε}: κ of the valley block of a Hessian spectrum thresholded at ε (`kappa_eps`); ≈ 1/ε_rel when eigenvalues reach down to 0 [05] |
# | κ_k | λ_1 / λ_k, the largest eigenvalue over the k-th largest (k = 10): the valley conditioning without ε (`kappa_k`) [05] |
# | Collapse, Diversification, Stabilization | the three phases of Looped-Attn's Hessian spectrum in the paper [05] |
# | FLOPs | floating-point operations: a Looped-Attn step costs almost 3× a Single-Attn step [06] |
# | SHIFT | Staged HIerarchical Framework for Progressive Training: Single-Attn first, then Looped-Attn [07] |
# | SCP | the SHIFT Criterion with Patience: switch after W consecutive stalled checks [07] |
# | r_t, ρ_t | at check t: the relative loss improvement, and the gradient coherence ‖Σ ∇L‖ / Σ ‖∇L‖ [07] |
# | δ1, δ2 | SCP's thresholds: a check is stalled when r_t < δ1 and ρ_t < δ2 [07] |
# | W | SCP's patience: how many consecutive stalled checks trigger the switch [07] |
# | length generalisation | accuracy on problems longer than any seen in training [08] |
# | exact match | the share of problems whose every answer token is right (token accuracy: the share of answer tokens) [08] |
# | Untied-L, wide Single | L distinct layers in series (Looped's compute, more parameters); one layer with Untied-L's parameters side by side [09] |
# | previous-token score, induction score | the attention mass a query puts on the key right before it; on the positions right after earlier copies of its own token [04, 09] |
# | margin | one number per seed, positive when the data are on the paper's side [00] |
# | confirmatory seed | a seed (1000, 1001, …) that decides verdicts and was never used to choose a rule [00] |
# | exploratory seed | a seed (0–99) on which rules, thresholds and windows were chosen [00] |
# | 95 % interval | the Student-t interval of the mean margin over the confirmatory seeds [00] |
# | holds / fails / inconclusive | interval above 0 / below 0 / containing 0 (or too few seeds) [00] |
# | scale | `ci` (live cells, CI), `small` (the ledger on a CPU), `paper` (a GPU) [00] |

# %% [markdown]
# ## For instructors: figures for slides
#
# `python -m loopvalley figures --out slides/` writes every chapter's main figures as SVG and PNG,
# with `captions.md` / `captions.json` (file → one-line caption, usable as alt text, and where the
# figure came from). It draws from the shipped `small` records and figures and never trains at
# `small`; where nothing is shipped yet it computes the theory chapters live and says so.
#
# ## Key takeaways
#
# - Nine chapters: the landscape theory (01–02), the data and the phenomenon (03–04), its Hessian
#   signature (05), the recipe (07–08), the control (09); 06 is the GPU path.
# - Every notebook runs at `ci` by default, in about a minute on a laptop; larger-scale figures come
#   from shipped run records.
# - A verdict is a 95 % interval of a margin over confirmatory seeds: *holds* above 0, *fails* below
#   0, *inconclusive* across it.
#
# ## Check your understanding
#
# 1. Five seeds give margins +0.5, −0.1, +0.3, +0.4, +0.2 points. Which verdict do you expect?
#
# <details><summary>Answer</summary>
#
# The mean is +0.26 with a sample standard deviation of about 0.23, so the half-width is
# t_{0.975,4}·0.23/√5 ≈ 2.78 · 0.10 ≈ 0.29: the interval [−0.03, +0.55] contains 0, so the claim is
# *inconclusive*, although four of five seeds are positive. Run `mean_interval` on them to check.
#
# </details>
#
# 2. Why are the verdict seeds (1000, …) kept apart from the seeds on which the rule was chosen (0–99)?
#
# <details><summary>Answer</summary>
#
# A rule tuned on the same seeds that judge it would pass by construction (the garden of forking
# paths). Choosing on exploratory seeds and deciding on fresh confirmatory ones makes the verdict a
# test of the rule, not of the tuning.
#
# </details>
