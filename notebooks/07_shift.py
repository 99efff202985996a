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
# # 07 — SHIFT: train Single-Attn first, then start looping
#
# The paper's practical proposal (§ SHIFT, Theorem 3) is **SHIFT**, a *Staged HIerarchical Framework
# for progressive Training*: train the cheap Single-Attn until it plateaus, then switch the *same
# weights* to Looped-Attn. The switch is decided by the **SHIFT Criterion with Patience (SCP)**, with
# two thresholds $\delta_1, \delta_2$ and a patience $W$; Theorem 3 ("shared river upstream") argues
# that the two architectures' gradients for $W_Q, W_K$ agree early in training, so nothing is wasted.
#
# You will see: our reading of SCP drawn on a real training curve; Single, Looped and SHIFT compared
# by accuracy, FLOPs and wall-clock time on notebook 04's Markov language; an ablation over
# $\delta_1, \delta_2, W$ and the optimizer state; and Theorem 3's gradient alignment measured, with
# its premises tested. About 80 s at the CI scale (three seeds, the ablation on the first), about
# fifteen minutes at the small scale.
#
# Notebook 08 runs SHIFT on algorithmic tasks and measures length generalisation.

# %% tags=["skip-colab"]
# Setup (skippable): on Colab, install the package; then seed everything.
import sys
IN_COLAB = "google.colab" in sys.modules
if IN_COLAB:
    # %pip install -q "loopvalley @ git+https://github.com/loopvalley/loopvalley"
    pass
# %matplotlib inline
from loopvalley.notebook import setup
scale, g = setup(seed=0)

# %%
import math

import numpy as np
import torch

from loopvalley.claims import assert_verdicts
from loopvalley.experiments.shift import ablation_table, measure_seed, run_markov, shift_claims, shift_settings
from loopvalley.plots.shift import plot_ablation, plot_alignment, plot_comparison, plot_criterion
from loopvalley.scales import by_scale
from loopvalley.shift import train_step_flops
from loopvalley.widgets.shift import criterion_widget

torch.set_num_threads(1)
s = shift_settings(scale)
m = s.markov
seeds = list(range(m.seeds))
print(f"scale = {scale}: {len(seeds)} seed(s), {m.train.max_steps} steps, d_model = {m.model.d_model}, "
      f"sequence length {m.markov.seq_len}, SCP every {s.shift.check_every} steps")

# %% [markdown]
# ## 1. What SHIFT can save, at best
#
# Single- and Looped-Attn share every parameter, so the switch is `model.n_loops = 3`: not one weight
# changes. What changes is the price of a step. A forward pass costs (multiply–add = 2 FLOPs)
#
# $$
# F_n \;=\; n\,\bigl(8BTd^2 + 4BT^2d\bigr) \;+\; 2BTdV, \qquad \text{a training step} \approx 3F_n ,
# $$
#
# linear in the number of loops $n$. A run of $S$ steps that switches at step $s$ therefore costs
# $s\,F_1 + (S-s)\,F_3$ instead of $S\,F_3$: at most a saving of $\tfrac{2}{3}\,s/S$, and only if
# the $s$ Single steps move Looped-Attn exactly as far as $s$ Looped steps would have.
#
# **Equal compute, not equal steps.** The paper's promise is Looped's accuracy in less *time*, so we
# give SHIFT exactly Looped's budget $S\,F_3$: after switching at $s$ it keeps training Looped steps
# until the next one would overspend, $\lfloor (S F_3 - s F_1)/F_3 \rfloor \approx S - s/3$ of them, about
# $S + \tfrac23 s$ steps in all. F1 compares SHIFT's accuracy at the end of that budget with Looped's
# final accuracy; F2 asks what fraction of Looped's FLOPs and time SHIFT needs to *first* reach it. An
# earlier version stopped SHIFT at step $S$ like the others (equal steps). That is unfair to SHIFT: it
# gets only $S - s$ Looped steps against Looped's $S$, while Looped itself only starts its
# complex-split climb ~250 steps in and is still rising at the end. Under that protocol SHIFT ended
# $-5.6 \pm 4.4$ points below Looped at the CI scale and never reached the F2 target.

# %%
B, T = m.train.batch_size, m.markov.seq_len
f1, f3 = (train_step_flops(m.model, n, B, T) for n in (1, m.n_loops))
print(f"one training step: Single {f1 / 1e6:.1f} MFLOP, Looped {f3 / 1e6:.1f} MFLOP (ratio {f3 / f1:.2f})")
S = m.train.max_steps
for sw in (150, 300):
    print(f"switch at step {sw}: SHIFT gets {sw + math.floor((S * f3 - sw * f1) / f3)} steps for Looped's {S}")

# %% [markdown]
# ## 2. The criterion, and why these two signals
#
# The paper names $\delta_1, \delta_2, W$ but not what they threshold, so this is our reading. In
# the river-valley picture (notebooks 01–02) Single-Attn sits in a **U-valley**: once it has gone
# down the part of the river it can reach — the simple patterns — its loss stops improving. At a
# constant learning rate the iterate keeps hopping between the valley walls, so the *gradient does
# not vanish* (a classic "gradient norm below a threshold" test would never fire), but successive
# gradients *cancel*: no common drift is left. Over each window of $k$ steps ending at check $t$:
#
# $$
# r_t = \frac{L_{t-1} - L_t}{L_{t-1}} \;\;(\text{relative loss improvement}),\qquad
# \rho_t = \frac{\bigl\|\sum_{j} \nabla L_j\bigr\|}{\sum_j \|\nabla L_j\|} \in [0,1]
# \;\;(\text{gradient coherence}).
# $$
#
# $\rho = 1$ when every step pushes the same way (drifting down a river), $\rho\approx 1/\sqrt{k}$
# for independent noise, and less when successive steps point against each other (hopping). A check
# is **stalled** when $r_t<\delta_1$ and $\rho_t<\delta_2$; a counter $c_t$ counts consecutive
# stalled checks and SHIFT switches when $c_t = W$. Defaults: $k = 25$, $\delta_1 = 1\%$,
# $\delta_2 = 0.2 \approx 1/\sqrt{25}$, $W = 3$; Adam's moments are kept at the switch.
#
# Both signals are free: the loss and gradient of every training step are already computed. The
# Single run below carries a *monitoring-only* controller and keeps snapshots at every check, so
# SHIFT's run is Single's run continued from the step where SCP fires (bit-identical to switching
# live; `tests/test_shift.py` checks it).

# %%
runs = run_markov(seeds, s, progress=False)
run0 = runs[0]
history = run0.records["single"].probes["shift"]
g_norm = np.asarray(history["grad_norm"])
print(f"seed 0: SCP fires at step {run0.switch_step}")
print(f"Single's gradient norm, last five checks / first check: {g_norm[-5:].mean() / g_norm[0]:.2f} (it does not vanish)")
print(f"Single's gradient coherence, last five checks: {np.mean(history['coherence'][-5:]):.2f} "
      f"(independent noise: {1 / math.sqrt(s.shift.check_every):.2f})")

# %%
fig = plot_criterion(history, s.shift, run0.records)

# %% [markdown]
# Top: Single's window loss (black) flattens within the first ~100 steps, while its complex-split
# accuracy (blue) stops at the level that counting token frequencies gives. Middle: $r_t$ drops to
# the noise around 0 and $\rho_t$ under $\delta_2$ (grey bands: stalled checks). Bottom: the counter;
# the red line is the switch. After it, SHIFT (green) dips — the paper's Figs. 12–16 show the same
# transient drop — and then climbs like Looped-Attn (orange), a little behind.
#
# **Try this:** move the sliders. A small $\delta_1$ or a large $W$ delays the switch or stops it
# altogether (SHIFT stays Single); $\delta_2 = 1$ removes the coherence test. The green curve is the
# real SHIFT run for that switch step whenever the ablation below trained it.

# %% tags=["nbval-ignore-output"]
criterion_widget(history, s.shift, {k: v for k, v in run0.records.items()}, ablation=run0.ablation)

# %% [markdown]
# ## 3. Single, Looped and SHIFT: accuracy, FLOPs, time
#
# Same data, same initial weights, same data order; the arms differ only in when they loop, and SHIFT
# trains until it has spent Looped's FLOPs. *Target* = Looped's final complex-split accuracy (mean
# of its last three evaluations) minus one point, the tolerance of claim F1; the ratios divide what
# SHIFT spent to first reach it by what Looped spent in its whole run (∞: never within the budget).

# %% tags=["nbval-ignore-output"]
rows = [measure_seed(r) for r in runs]
print(f"{'seed':>4} {'switch':>6} {'steps':>5} {'Single':>7} {'Looped':>7} {'SHIFT':>7} {'drop':>5} {'target':>7} "
      f"{'Looped@':>8} {'SHIFT@':>7} {'FLOPs':>6} {'wall':>6}")
for sd, p in zip(seeds, rows):
    print(f"{sd:>4} {p['switch_step']:>6} {p['shift_total_steps']:>5} {p['single_final']:>7.1f} {p['looped_final']:>7.1f} "
          f"{p['shift_final']:>7.1f} {p['transient_drop']:>5.1f} {p['target']:>7.1f} {p['looped_steps_to_target']:>8} "
          f"{p['shift_steps_to_target']:>7} {p['flops_ratio']:>6.2f} {p['wall_ratio']:>6.2f}")
print("steps = SHIFT's equal-FLOP horizon; accuracies and drop in %; Looped@/SHIFT@ = first step at the target;\n"
      "FLOPs/wall = SHIFT's to the target ÷ Looped's whole run")

# %%
fig = plot_comparison([r.records for r in runs])

# %% [markdown]
# Read the middle panel (curves are means over the seeds, each arm drawn up to its shortest seed):
# against FLOPs, SHIFT's Single phase is three times cheaper per step, so its curve starts to the
# left, and all three budgets end at the same place (Looped's). After the switch SHIFT has to learn
# what Looped learns between its own plateau and its final accuracy, and that takes about as many
# Looped steps as it took Looped. The cheap Single phase covers only the first quarter of Looped's
# journey here (switch at 150 of 600), so even a lossless switch would save at most
# $\tfrac23\cdot\tfrac14 \approx 17\%$. With the extra ~100 steps that equal compute buys, SHIFT closes
# most of the equal-steps gap (−5.6 → about −2 points) and two of three seeds reach the target, at
# 0.9–1.0× Looped's FLOPs — nowhere near 0.6×. The wall-clock ratios track the FLOP ratios within a
# few hundredths here (CPU timings are noisy; a Looped step costs a little under 3× a Single step).

# %% [markdown]
# ## 4. Ablation: δ1, δ2, W and the optimizer state
#
# SCP is replayed on the recorded Single history for every cell of the grid (exact, since a SHIFT
# run equals Single's until it switches); every distinct switch step the grid produces is then
# trained from Single's snapshot to Looped's FLOP budget, with Adam's moments kept and reset.
# Nothing is interpolated. To
# keep the notebook short this runs on the first seed only.

# %%
table = ablation_table(runs, s.grid, s.policies)
fig = plot_ablation(table, s.grid)

# %% tags=["nbval-ignore-output"]
for i, policy in enumerate(table["policies"]):
    gaps = table["f1_gap"][i][np.isfinite(table["switch_step"][i])]
    print(f"Adam state {policy:5s}: SHIFT − Looped final accuracy over the cells that switch: "
          f"{gaps.min():.1f} … {gaps.max():.1f} points")

# %% [markdown]
# What to look for: the switch step depends mostly on $W$ and $\delta_1$ (the coherence is below
# $\delta_2$ almost as soon as the loss flattens, so $\delta_2$ rarely binds here); with a small
# $\delta_1$ and a large $W$ the noise in $r_t$ keeps resetting the counter and SHIFT never
# switches (∞). The third row answers a reviewer's question (how does the drop at the switch depend
# on δ1, δ2, W?): every switch costs several points at first, whatever the cell. The two columns
# compare keeping Adam's moments with resetting them: the second-moment estimates were calibrated
# on Single's gradients, and in our runs a reset recovers better after the switch (compare the
# second row across the columns) — a mechanic the paper leaves unspecified. At equal compute the
# reset cells end within about a point of Looped on this seed; the default stays "keep" (a single
# seed's ablation is not a reason to change it), so F1 below reads the default.
#
# **Try this:** `plot_ablation(table, s.grid, metrics=("wall_ratio",))` shows the same grid in
# wall-clock time; and what does `shift_claims` say if you rerun the comparison with
# `dataclasses.replace(s, shift=dataclasses.replace(s.shift, optimizer_state="reset"))`?

# %% [markdown]
# ## 5. Theorem 3: a shared river upstream?
#
# At the *same* weights θ we compute the gradient of the loss with one loop and with three, and
# their cosine for each attention matrix,
# $\cos\bigl(\nabla_W L_{\text{single}}(\theta), \nabla_W L_{\text{looped}}(\theta)\bigr)$. Theorem 3
# says it is high for $W_Q$ and $W_K$ early in training under two premises: the attention weights
# are diagonally dominant (Assumption 4) and certain products of them are close to PSD
# (Assumption 5). Our reading of the premises on this model (the paper's exact matrices are not
# public): the score matrix $W_{QK} = W_Q^\top W_K$ ($q\cdot k = h^\top W_{QK} h'$) and the value path
# $W_{OV} = W_O W_V$; we report the fraction of diagonally dominant rows of $W_{QK}$ and the PSD-ness
# $\sum_i \max(\lambda_i,0)/\sum_i|\lambda_i|$ of the symmetric parts of $W_{QK}$, $W_{OV}$ and
# $W_{QK}W_{OV}$ (1 = PSD, ½ = as much negative as positive).

# %%
fig = plot_alignment([r.records for r in runs], [r.switch_step for r in runs])
mean = lambda k: np.nanmean([p[k] for p in rows])  # noqa: E731
print("mean cosine over seeds, up to the switch: " + ", ".join(f"{w} {mean('early_cos_' + w):.2f}" for w in ("W_Q", "W_K", "W_V", "W_O")))
print("                          after the switch: " + ", ".join(f"{w} {mean('late_cos_' + w):.2f}" for w in ("W_Q", "W_K", "W_V", "W_O")))
print(f"along Looped's run, W_Q/W_K up to step {runs[0].switch_step}: {mean('looped_run_early_cos_W_Q'):.2f}/"
      f"{mean('looped_run_early_cos_W_K'):.2f}, after it: {mean('looped_run_late_cos_W_Q'):.2f}/{mean('looped_run_late_cos_W_K'):.2f}")
print(f"premises at the switch: {mean('dd_QK_switch'):.0%} diagonally dominant rows of W_QK; PSD-ness W_QK "
      f"{mean('psd_QK_switch'):.2f}, W_OV {mean('psd_OV_switch'):.2f}, product {mean('psd_QK_OV_switch'):.2f}")

# %% [markdown]
# What to compare: the solid W_Q, W_K curves against the dashed W_V, W_O curves, and the left panel
# against the middle one. Theorem 3 predicts the solid curves near 1 early and says nothing about
# the dashed ones.
#
# - **Along Looped's run** (middle) the picture is the theorem's: the W_Q/W_K gradients of one and
#   three loops agree closely early on, the W_V/W_O ones do not, and the agreement decays once
#   Looped-Attn starts building what only a loop can compute (its complex-split accuracy takes off).
# - **Along Single's run** (left), which is the trajectory SHIFT actually follows before the switch,
#   the agreement collapses after the first check: Single settles into its own solution (counting
#   token frequencies), and at those weights its W_Q/W_K gradient is only weakly related to Looped's.
#   Whether the early mean clears 0.5 is claim F3 below.
# - The premises are violated at every stage: no row of $W_Q^\top W_K$ is diagonally dominant and its
#   symmetric part is far from PSD. Whatever alignment there is does not come from the theorem's
#   route (Remark 6 of the paper already calls its assumptions idealised).
#
# So there is a shared river upstream, but Single-Attn leaves it early: that is one reason the
# recovery after the switch costs what it does.
#
# **Try this:** the cosines are computed on 128 training sequences. How much of the seed-to-seed
# spread is estimation noise? Rerun one seed on the whole probe batch:
# `run_markov_seed(1, dataclasses.replace(s, theorem3_sequences=256))` (import `run_markov_seed` from
# `loopvalley.experiments.shift`).

# %% [markdown]
# ## 6. Claims check
#
# F1: SHIFT's complex-split accuracy at the end of Looped's FLOP budget within 1 point of Looped's
# final accuracy; F2: SHIFT first reaches Looped's final accuracy (−1 point) with ≤ 0.6× the FLOPs of
# Looped's run and less wall-clock time; F3: early W_Q/W_K
# alignment (mean cosine ≥ 0.5 up to the switch). The verdicts are computed by the same function
# as `python -m loopvalley reproduce --only shift` (which adds F4 from notebook 08's tasks), on the
# same seeds, with SHIFT given Looped's FLOP budget. At the CI scale SHIFT does not reach the
# paper's "comparable accuracy at lower cost": the switch comes after a quarter of the run, and the
# recovery after it costs about what the Single phase saved, so even at equal compute it ends
# about 2 points below Looped (F1) and, where it reaches Looped's accuracy at all, it needs nearly
# all of Looped's FLOPs (F2). F3's rule reads the cosines along Single's run (what SHIFT follows
# before the switch); the note also gives them along Looped's run, where they are high.

# %%
claims = shift_claims(runs, None, scale, seeds)
for c in claims:
    print(f"{c.id}: {'holds' if c.holds else 'does not hold'} — {c.note}")
expected = by_scale(scale, ci={"F1": False, "F2": False, "F3": False},
                    small={"F1": False, "F2": False, "F3": False}, paper={"F1": False, "F2": False, "F3": False})
print(assert_verdicts(claims, expected))
