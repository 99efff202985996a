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
# This chapter is as much about **the protocol** as about SHIFT. A comparison of training
# procedures can be decided by choices that have nothing to do with the procedure: what happens to
# Adam's moments at the switch, where the runs stop, what "faster" is measured against, and over which
# steps an "early" alignment is averaged. Each choice here was made on *exploratory* seeds by a rule
# written in code, before the *confirmatory* seeds that decide the ledger's verdicts were run (see
# `docs/exploration/shift.md`); this notebook runs *teaching* seeds. You will see: what SHIFT can save
# at best; the horizon every arm must share; the criterion and what each threshold does; the switch
# policy, chosen by a stated rule; the three arms at equal compute (F1); SHIFT's compute to reach
# Looped's final accuracy — with no tolerance credit (F2); and Theorem 3 measured over the window
# SHIFT actually uses (F3a) and, in the theorem's own model, after the small-weight regime in which
# the alignment is automatic (F3b). About 90 s at the CI scale (two seeds, side by side on two cores).
#
# Notebook 08 runs SHIFT on an algorithmic task and measures length generalisation.

# %% [markdown]
# ## Learning objectives
#
# After this chapter you can
#
# - compute what SHIFT can save at best, and derive when it saves compute at all;
# - compute the gradient coherence of a window and explain why it separates drift from hopping;
# - implement the SCP switch controller over a loss history, and predict how $\delta_1$, $\delta_2$ and
#   $W$ move the switch;
# - explain why a fair comparison of training procedures ends every arm with the same decay;
# - derive Theorem 3's small-weight limit, $\nabla_W L_{\text{looped}} \approx 3\,\nabla_W L_{\text{single}}$, and say
#   where it stops holding.
#
# **Study time:** about 2½–3 hours, of which ≈ 1½ hours for 2 exercises and 2 derivations. (The setup
# cell prints something else: how long the *machine* takes to run the notebook.)

# %% tags=["skip-colab"]
# Setup: the scale switch. Live cells run at SCALE (nbval runs them at ci).
SCALE = "ci"        # ci | small | paper
import sys
IN_COLAB = "google.colab" in sys.modules
if IN_COLAB:
    # %pip install -q "loopvalley @ git+https://github.com/loopvalley/loopvalley@v0.2.0"
    pass
# %matplotlib inline
from loopvalley.notebook import setup
scale, g = setup(seed=0, scale=SCALE, chapter="07_shift")

# %%
import math

import numpy as np
import torch

from loopvalley import rules as R
from loopvalley.claims import assert_verdicts, specification_curve
from loopvalley.looped.compute import equal_flop_steps, flops_at_evals, train_step_flops
from loopvalley.seeds import teaching
from loopvalley.shift.controller import criterion_trace, flop_ratio_bound, switch_criterion
from loopvalley.shift.exercises_ch07 import check_gradient_coherence, check_scp_switch, check_shift_flop_fraction
from loopvalley.shift.experiment import (
    CHOSEN_POLICY,
    POLICY_SEEDS,
    POLICY_SELECTION,
    alignment_window,
    choose_policy,
    config,
    exit_step,
    f2_reach,
    f3a_window,
    f3b_window,
    flops_to_reach,
    measure_seed,
    run_seeds,
    shift_claims,
    stable_history,
)
from loopvalley.shift.plots import (
    plot_alignment_windows,
    plot_comparison,
    plot_criterion,
    plot_policy_ablation,
    plot_premises,
    plot_reach,
    plot_switch_sweep,
    sweep_switch_steps,
)
from loopvalley.shift.widgets import criterion_widget

cfg = config(scale)
run, sc = cfg.run, cfg.shift
S, D = run.train.max_steps, cfg.decay_steps
seeds = teaching(cfg.n_seeds)
print(f"scale = {scale}: teaching seeds {seeds}; Looped trains {S} steps, every arm ends with a {D}-step decay; "
      f"SCP every {sc.check_every} steps (δ1 = {sc.delta1:g}, δ2 = {sc.delta2:g}, W = {sc.patience}); "
      f"switch policy '{cfg.policy}'")

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
# linear in the number of loops $n$; write $c = F_1/F_3$ for the price ratio. **Equal compute:**
# Looped trains $S$ steps, budget $S F_3$. SHIFT trains $s$ Single steps, switches, and keeps taking
# Looped steps until the next one would overspend, $\lfloor (S F_3 - s F_1)/F_3 \rfloor$ of them.
#
# **The best case.** Suppose Looped needs $T_L$ steps to reach its final accuracy and suppose, as
# generously as possible, that each of SHIFT's $s$ Single steps were worth a full Looped step. Then
# SHIFT gets there after $T_L$ steps of which $s$ were cheap, and its compute, as a fraction of
# Looped's, is
#
# $$
# \frac{s F_1 + (T_L - s) F_3}{S F_3} \;=\; \frac{T_L - s\,(1-c)}{S}.
# $$
#
# With every arm ending in a decay (next section), Looped reaches its final accuracy only at its
# end, $T_L \approx S$, and the bound is $1 - (s/S)(1-c)$: the saving is capped by how early the
# switch comes. The paper gives no target number, and we do not invent one: claim F2 asks only
# whether SHIFT reaches **Looped's final accuracy** with **less** compute than Looped (< 1×), and
# reports the bound beside the measurement.

# %%
B, T = run.train.batch_size, run.data.markov.seq_len
f1, f3 = (train_step_flops(run.model, n, B, T) for n in (1, run.looped_depth))
c = f1 / f3
print(f"one training step: Single {f1 / 1e6:.1f} MFLOP, Looped {f3 / 1e6:.1f} MFLOP, c = F1/F3 = {c:.3f}")
for sw in (100, 150, 300):
    n = equal_flop_steps(S * f3, sw * f1, f3)
    print(f"switch at step {sw}: SHIFT gets {sw} + {n} = {sw + n} steps for Looped's {S}; "
          f"best case {flop_ratio_bound(sw, S, S, c):.3f}× Looped's FLOPs")

# %% [markdown]
# ### Derivation 7.1 — when does SHIFT save compute?
#
# > **Difficulty** ★★☆ · **Importance** 🔵🔵🔵 · **Time** ≈ 15 min · **Kind** derivation
#
# The best case credited every Single step with a full Looped step of work. Suppose instead that a
# Single step does the work of a fraction $\varphi \in [0, 1]$ of a Looped step ($\varphi = 1$: the best case;
# $\varphi = 0$: useless), and that after the switch the Looped steps carry on from where the Single steps
# left off. Looped needs $T_L$ steps to reach the target; SHIFT switches at step $s$ (with $\varphi s \le T_L$).
# (a) Find the fraction of Looped's budget $S F_3$ that SHIFT spends to reach the same target.
# (b) Show that SHIFT saves compute against Looped's own $T_L$ steps if and only if $\varphi > c = F_1/F_3$,
# whatever $s$. (c) With the $c$ printed above, how much of a Looped step must a Single step be worth?
# Write (a) as a function.
#
# <details><summary>Hint</summary>
#
# Count in units of one Looped step's FLOPs, $F_3$: a Single step costs $c$. After $s$ Single steps, how
# many Looped steps of work are still missing?
# </details>

# %%
def shift_flop_fraction(s, T_L, S, c, phi):
    # s: the switch step; T_L: Looped's steps to the target; S: Looped's budget in steps;
    # c = F1/F3; phi: a Single step's work in Looped steps  ->  a number: SHIFT's FLOPs / (S·F3)
    # example: s = 100, T_L = 600, S = 600, c = 0.5, phi = 1.0  ->  0.9167
    # YOUR CODE HERE
    raise NotImplementedError


shift_flop_fraction = check_shift_flop_fraction(shift_flop_fraction)

# %% [markdown]
# <details><summary>Worked answer</summary>
#
# (a) $s$ Single steps cost $s\,c$ (in $F_3$) and do $\varphi s$ Looped steps of work; $T_L - \varphi s$ Looped steps
# remain, at 1 each. Divided by Looped's budget $S$:
#
# $$
# \frac{s\,c + T_L - \varphi s}{S} = \frac{T_L - s(\varphi - c)}{S},
# $$
#
# section 1's best case at $\varphi = 1$. (b) Looped itself spends $T_L/S$ to get there, so SHIFT's saving is
# $s(\varphi - c)/S$: positive iff $\varphi > c$, and larger the later the switch — *as long as* the Single
# steps keep doing that much work. (c) $\varphi > c \approx 1/3$: a Single step must do at least a third of what
# a Looped step does. On the plateau (Single's steps no longer move the complex split) $\varphi$ drops
# towards 0, so every Single step taken there is pure loss: SCP has to switch soon after the plateau
# begins, not long after.
#
# ```python
# def shift_flop_fraction(s, T_L, S, c, phi):
#     return (s * c + (T_L - phi * s)) / S
# ```
# </details>
#
# Your fraction against the library's best case ($\varphi = 1$) at the switch steps above, and at the
# break-even $\varphi = c$:

# %%
for sw in (100, 150, 300):
    print(f"switch at step {sw}: φ = 1 yours {shift_flop_fraction(sw, S, S, c, 1.0):.3f} "
          f"(library {flop_ratio_bound(sw, S, S, c):.3f}); φ = 0.5 {shift_flop_fraction(sw, S, S, c, 0.5):.3f}; "
          f"φ = c {shift_flop_fraction(sw, S, S, c, c):.3f}")

# %% [markdown]
# ## 2. A fair horizon: every arm ends with the same decay
#
# Notebooks 01–02 showed that at a constant learning rate the iterate keeps hopping between the
# valley walls, so its loss *hides* the progress made along the river; a learning-rate decay reveals
# it. Looped-Attn is still climbing on the complex split at the horizon, and comparing SHIFT to it
# at a constant learning rate turns any lag (SHIFT starts looping $s$ steps later) into an apparent
# accuracy gap. So every arm — Single, Looped, SHIFT — ends with the **same** decay: its last
# $D = 0.2\,S$ steps take $\eta$ linearly to 0 (warmup–stable–decay, WSD), whatever its own number of
# steps. The stable part of the schedule does not depend on the horizon, so SHIFT's run can still
# be Single's run continued from the snapshot at the switch step, bit for bit.
#
# Let us train the three arms on the teaching seeds (same language sample, initial weights and
# data order per seed). Single's run carries a monitoring-only SCP controller, snapshots at every
# check, and Theorem 3 probes (every step to 50, then sparser, up to the last step SCP may switch);
# Looped is one stable trajectory branched into its decays (the main one, a shorter one for F1's
# alternative, and decays at smaller budgets for F2's); SHIFT is continued from Single's snapshot at
# the step where SCP fires, under the chosen switch policy, to Looped's FLOP budget and at a few
# neighbouring budgets (for F2, section 6); the theorem's model gets a run of its own, as long as the
# window in which SHIFT may switch (section 7).

# %% tags=["nbval-ignore-output"]
import time

t0 = time.perf_counter()
runs = run_seeds(seeds, cfg, progress=True)  # one seed per core
print(f"trained {len(runs)} seeds in {time.perf_counter() - t0:.0f} s "
      f"({sum(r.cpu_seconds['total'] for r in runs):.0f} CPU-seconds)")
per = [measure_seed(r, cfg) for r in runs]

# %%
for r in runs:
    lr = {arm: r.records[arm].lr for arm in ("single", "looped", "shift")}
    print(f"seed {r.seed}: " + "; ".join(f"{arm} {len(v)} steps, decay from step {len(v) - D}" for arm, v in lr.items()))

# %% [markdown]
# ## 3. The criterion, and what its thresholds do
#
# The paper names $\delta_1, \delta_2, W$ but not what they threshold, so this is our reading. In
# the river-valley picture Single-Attn sits in a **U-valley**: once it has gone down the part of the
# river it can reach — the simple patterns — its loss stops improving, while at a constant learning
# rate its *gradient does not vanish* (a gradient-norm test would never fire): successive gradients
# cancel instead. Over each window of $k$ steps ending at check $t$:
#
# $$
# r_t = \frac{L_{t-1} - L_t}{L_{t-1}} \;\;(\text{relative loss improvement}),\qquad
# \rho_t = \frac{\bigl\|\sum_{j} \nabla L_j\bigr\|}{\sum_j \|\nabla L_j\|} \in [0,1]
# \;\;(\text{gradient coherence}).
# $$
#
# $\rho = 1$ when every step pushes the same way (drifting down a river), $\rho\approx 1/\sqrt{k}$
# for independent noise, less when successive steps point against each other (hopping). A check is
# **stalled** when $r_t<\delta_1$ and $\rho_t<\delta_2$; SHIFT switches at the $W$-th consecutive
# stalled check. SHIFT may only switch while Single is in its stable phase (checks up to $S - D$).
#
# ### Exercise 7.1 — the gradient coherence of one window
#
# > **Difficulty** ★☆☆ · **Importance** 🔵🔵⚪ · **Time** ≈ 10 min · **Kind** computation
#
# Write $\rho$ for the $k$ gradients of a window stacked as a tensor of shape `(k, n)` (row $j$ is
# $\nabla L_j$); return 0 when every gradient is 0. **Predict first:** what is $\rho$ for 100 independent
# random gradients, for 100 copies of one gradient, and for steps that alternate $g, -g$? The checker
# runs your function on windows like these and says what is wrong (the ratio upside down, a mean against
# a sum, squared norms, the wrong axis, 0/0).
#
# <details><summary>Hint</summary>
#
# The numerator is the length of the window's net step, the denominator the length of the path its
# steps would make if they all pointed the same way. Which axis of `grads` runs over the steps?
# </details>

# %%
def gradient_coherence(grads):
    # grads: (k, n), one gradient per row  ->  a number in [0, 1]
    # how much of the window's gradient survives adding the steps up, as a share of what could
    # example: [[1., 0.], [0., 1.]]  ->  0.7071;  [[1., 0.], [-1., 0.]]  ->  0.0
    # YOUR CODE HERE
    raise NotImplementedError


gradient_coherence = check_gradient_coherence(gradient_coherence)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def gradient_coherence(grads):
#     drift = grads.sum(dim=0).norm()            # ‖Σ_j g_j‖: the window's net direction
#     total = grads.norm(dim=1).sum()            # Σ_j ‖g_j‖: the path length if all were aligned
#     return float(drift / total) if total > 0 else 0.0
# ```
#
# Independent gradients add like a random walk: $\lVert\sum_j g_j\rVert \approx \sqrt{k}\,\lVert g\rVert$
# against $k \lVert g \rVert$, so $\rho \approx 1/\sqrt{k} = 0.1$. Copies give 1, alternating steps 0 —
# the hopping iterate of notebook 02. The controller computes the same ratio from running sums, so
# it never stores the window.
# </details>

# %%
noise = torch.randn(100, 1000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
print(f"100 independent gradients: ρ = {gradient_coherence(noise):.3f} (1/√100 = {1 / math.sqrt(100):.3f}); "
      f"100 copies of one: {gradient_coherence(noise[:1].repeat(100, 1)):.3f}; "
      f"g, −g, g, −g: {gradient_coherence(torch.cat([noise[:1], -noise[:1]] * 2)):.3f}")

# %% [markdown]
# ### Exercise 7.2 — the switch controller
#
# > **Difficulty** ★★☆ · **Importance** 🔵🔵🔵 · **Time** ≈ 25 min · **Kind** mechanism
#
# Now the controller itself, as a replay of a recorded history. `loss` and `coherence` hold one entry
# per check (the window's mean training loss $L_t$ and its coherence $\rho_t$); with the thresholds
# `delta1`, `delta2` and the patience `patience` ($W$), return the index of the check at which SHIFT
# switches, or `None` if it never does. A check is *stalled* when the loss has stopped improving —
# measured relative to where it was — and the window's gradients cancel; SHIFT switches at the $W$-th
# stalled check in a row. The checker replays histories built to catch the usual slips (check 0, the
# counter, `or` for `and`, one check late, an absolute improvement).
#
# <details><summary>Hint</summary>
#
# Walk through the checks keeping one counter. Check 0 has no previous loss, so it cannot be stalled.
# The improvement of check $t$ compares $L_t$ with $L_{t-1}$, as a fraction of $L_{t-1}$. A check that is not
# stalled sets the counter back to 0.
# </details>

# %%
def scp_switch(loss, coherence, delta1, delta2, patience):
    # loss, coherence: one entry per check; delta1, delta2: thresholds; patience: W  ->  an index, or None
    # the check at which SHIFT switches: the W-th stalled check in a row (no improvement, gradients cancel)
    # example: loss = [1., .9, .9, .9, .9], coherence = [.1] * 5, delta1 = .01, delta2 = .2, patience = 2  ->  3
    # YOUR CODE HERE
    raise NotImplementedError


scp_switch = check_scp_switch(scp_switch)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def scp_switch(loss, coherence, delta1, delta2, patience):
#     count = 0
#     for t in range(1, len(loss)):                             # check 0 has no predecessor
#         r = (loss[t - 1] - loss[t]) / loss[t - 1]              # relative improvement r_t
#         stalled = r < delta1 and coherence[t] < delta2         # both: flat loss *and* cancelling gradients
#         count = count + 1 if stalled else 0                    # consecutive stalled checks c_t
#         if count >= patience:
#             return t                                           # the W-th in a row
#     return None
# ```
#
# The library's `ShiftController` keeps the same counter live, from running sums of the window's loss
# and gradients, and sets `model.n_loops = 3` when it fires.
# </details>
#
# Your controller on seed 0's recorded history, against the library's replay:

# %%
h = stable_history(runs[0].records["single"].probes["shift"], S - D)
fire = scp_switch(list(h["loss"]), list(h["coherence"]), sc.delta1, sc.delta2, sc.patience)
lib = criterion_trace(h, sc.delta1, sc.delta2, sc.patience)
assert fire == lib["fire"]
print(f"seed {runs[0].seed}: SCP fires at step {h['step'][fire] if fire is not None else 'never'} "
      "(your controller and the library's agree)")

# %%
fig = plot_criterion(h, sc, runs[0].records, last_step=S - D)
refs = runs[0].records["single"].meta["references"]["complex"]
print(f"complex split, seed {runs[0].seed}: Single ends at {per[0]['single_final']:.1f} %, Looped at "
      f"{per[0]['looped_final']:.1f} %; counting token frequencies in the context (the in-context unigram "
      f"predictor) gives {100 * refs['unigram']['acc']:.1f} %, counting bigrams {100 * refs['bigram']['acc']:.1f} %")

# %% [markdown]
# *Figure 7.1* — SCP replayed on the first seed's Single run, one quantity per panel: follow the counter $c_t$ (bottom) up one stalled check (grey) at a time to $W$, the switch (dotted), and SHIFT's accuracy (green) leaving Single's there.

# %% [markdown]
# From the top: Single's window loss $L_t$ flattens within the first hundred steps; its complex-split
# accuracy (blue) flattens too — above what counting token frequencies in the context gives, far
# below counting bigrams (printed above) — while Looped's (vermillion) keeps climbing; $r_t$ drops
# into the noise around 0 and $\rho_t$ stays under $\delta_2$; the counter
# $c_t$ climbs one stalled check (grey band) at a time, and SCP switches (dotted line) when it reaches $W$;
# SHIFT's accuracy (green) starts there.
# From the start of Single's decay on (hatched), SCP may no longer switch.
#
# **Predict:** what happens to the switch step if you lower $\delta_1$ tenfold? If you raise $W$ to 8?
# Move the sliders (the curves stay those of the trained runs; only the criterion is replayed).

# %% tags=["nbval-ignore-output"]
criterion_widget(h, sc, runs[0].records, last_step=S - D)

# %% [markdown]
# <details><summary>Answer</summary>
#
# A smaller $\delta_1$ asks for a flatter loss, so the noise in $r_t$ keeps resetting the counter:
# the switch moves later or never comes. A larger $W$ moves it later by one check per unit of $W$,
# until the stable phase runs out and SHIFT never switches.
# </details>
#
# Now the same replay on every seed, one threshold at a time (the other two at their defaults):

# %%
histories = [r.records["single"].probes["shift"] for r in runs]
sweep = sweep_switch_steps(histories, sc, S - D)
fig = plot_switch_sweep(histories, sc, S - D, sweep=sweep, labels=seeds)
# where does δ2 bind? compare with δ2 = ∞ (no coherence test) at every δ1, W of the sweeps
rho_late = np.concatenate([np.asarray(x["coherence"])[np.asarray(x["step"]) > 50] for x in histories])
free = {d2: [switch_criterion(stable_history(x, S - D), sc.delta1, d2, sc.patience) for x in histories]
        for d2 in (math.inf, *sweep["delta2"][0])}
binding = [d2 for d2 in sweep["delta2"][0] if free[d2] != free[math.inf]]
print(f"gradient coherence ρ_t after step 50, all seeds: {rho_late.min():.2f}–{rho_late.max():.2f} "
      f"(independent noise over {sc.check_every} steps: {1 / math.sqrt(sc.check_every):.2f})")
print("δ2 changes the switch step only for δ2 ≤ " + (f"{max(binding):.3g}" if binding else "— never, at any δ2 tried")
      + f"; at the default δ2 = {sc.delta2:g} the switch steps equal those without a coherence test: "
      f"{free[math.inf] == [switch_criterion(stable_history(x, S - D), sc.delta1, sc.delta2, sc.patience) for x in histories]}")

# %% [markdown]
# *Figure 7.2* — The switch step as one threshold varies (dotted: its default), one line per seed: look for the range of each threshold over which the switch moves, and for the values at which a seed never switches (open markers in the *never* row).

# %% [markdown]
# What each threshold does: $\delta_1$ moves the switch once it is small enough for the noise in
# $r_t$ to matter, $W$ moves it one check per unit, and $\delta_2$ only binds once it is below the
# coherence the hopping iterate actually has — the printed range. At the default $\delta_2$ the
# coherence test never changes the switch step: the loss test alone decides, because the window's
# gradients already cancel (ρ near or below the independent-noise level $1/\sqrt k$) as soon as the
# loss flattens. It is kept for what it would catch — a loss plateau while the iterate still drifts
# (ρ near 1), which `tests/test_shift.py` plants — but on this language it is inert.

# %% [markdown]
# ## 4. The switch policy, chosen by a rule
#
# At the switch, Adam's moments were calibrated on Single's gradients. With β₂ = 0.999 the
# second-moment estimate remembers them for hundreds of steps, while Looped's loss landscape at the
# same weights is several times sharper — so the first looped steps are too large, and accuracy
# drops right after the switch (the paper's Figs. 12–16 show such drops). Three policies:
# **keep** the moments, **reset** them (m = v = 0), or **reset + re-warmup** (also ramp η up again
# over 20 steps). The rule, written in `choose_policy` before any confirmatory run: *the policy with
# the highest mean F1 margin on exploratory seeds 0–4 at the small scale* (ties: the smaller
# transient drop). The per-seed record it was applied to is `POLICY_SELECTION`:

# %%
fig = plot_policy_ablation(POLICY_SELECTION, keys=("f1_margin", "transient_drop", "f2_ratio"), chosen=CHOSEN_POLICY)
assert choose_policy(POLICY_SELECTION) == CHOSEN_POLICY == cfg.policy
for p in POLICY_SELECTION["f1_margin"]:
    print(f"{p:15s} F1 margin per exploratory seed {POLICY_SELECTION['f1_margin'][p]} "
          f"(mean {np.mean(POLICY_SELECTION['f1_margin'][p]):+.2f}); drop {np.mean(POLICY_SELECTION['transient_drop'][p]):.1f} points")
print(f"rule → '{choose_policy(POLICY_SELECTION)}' (exploratory seeds {POLICY_SEEDS}, scale {POLICY_SELECTION['scale']})")

# %% [markdown]
# *Figure 7.3* — The three switch policies on the exploratory seeds (mean, 95 % interval, seeds as dots; ★ the chosen one): the rule reads the left panel, the highest mean F1 margin.

# %% [markdown]
# ## 5. Single, Looped and SHIFT at equal compute, after the same decay (F1)

# %%
fig = plot_comparison([r.records for r in runs], D)
print(f"{'seed':>5} {'switch':>6} {'steps':>5} {'Single':>7} {'Looped':>7} {'SHIFT':>7} {'gap':>6} {'drop':>5}")
for p in per:
    print(f"{p['seed']:>5} {p['switch_step']:>6} {p['shift_total_steps']:>5} {p['single_final']:>7.1f} "
          f"{p['looped_final']:>7.1f} {p['shift_final']:>7.1f} {p['f1_gap']:>+6.1f} {p['transient_drop']:>5.1f}")
print("final complex-split accuracy (%) at the end of each arm's decay; gap = SHIFT − Looped; "
      "drop = accuracy lost in the 100 steps after the switch")
D2 = cfg.alt_decay_steps[0]
print(f"SHIFT − Looped, mean over seeds: after the {D}-step decay {np.mean([p['f1_gap'] for p in per]):+.2f} points; "
      f"after a {D2}-step decay {np.mean([p['shift_final_decay'][D2] - p['looped_final_decay'][D2] for p in per]):+.2f}; "
      f"with no decay (constant η, where both have spent the same FLOPs) "
      f"{np.mean([p['shift_stable_end'] - p['looped_stable_end'] for p in per]):+.2f}")

# %% [markdown]
# *Figure 7.4* — Left, against steps: SHIFT follows Single to its switch (dashed), then climbs like Looped, later; right, against compute, where every arm ends at Looped's budget: compare the right ends with the dotted line, Looped's final − 1 point.

# %% [markdown]
# Left, against steps: SHIFT (green) follows Single until the switch, dips, then climbs like
# Looped, $s$ steps behind; the coloured bars under the curves are each arm's decay, and each decay
# lifts its arm by a few points. Right, against compute: SHIFT's Single phase is cheap, so its curve
# starts to the left, and all budgets end at Looped's. F1 compares the two right ends, seed by seed.
# Its rule declares the choices an analyst could make differently — the tolerance (0, 1, 2 points),
# which evaluations count as "final", and the decay length (the printed last line: 20 % of the steps,
# 10 %, none) — and the claim is judged under each (section 8).
#
# **Predict, then try:** `run_seeds(seeds[:1], dataclasses.replace(cfg, policy="keep"))` (with
# `import dataclasses`) trains SHIFT with Adam's moments kept at the switch. Before you run it: will
# its accuracy drop right after the switch be larger or smaller than under the chosen policy, and why?
#
# <details><summary>What to look for</summary>
#
# Adam divides each step by $\sqrt{v}$, the running mean of squared gradients. Kept across the
# switch, $v$ still remembers Single-Attn's gradients, which are smaller than the looped model's, so
# the first looped steps are too large: expect a larger transient drop, and on some seeds a run that
# never starts the complex-split climb. Section 4's ablation measured exactly this drop
# (`transient_drop`) for each policy on the exploratory seeds.
# </details>

# %% [markdown]
# ## 6. SHIFT's compute to reach Looped's final accuracy (F2)
#
# With a decay at the end of every run, "when did SHIFT first reach Looped's accuracy?" needs a
# decayed SHIFT run at each candidate budget. They are cheap to get: the stable part of SHIFT's
# schedule does not depend on its horizon, so one stable trajectory is branched into a decay at
# several budgets (printed below). The FLOPs at which the decayed accuracy crosses **Looped's final
# accuracy** are interpolated between budgets.
#
# **No tolerance credit.** Rule v3 asked when SHIFT reaches Looped's final accuracy *minus 1 point*,
# and divided by Looped's *whole* budget. That gives SHIFT a point Looped does not get: SHIFT's
# decayed accuracy keeps rising with its budget, so one point of accuracy is worth some fraction of
# the budget — printed below as the slope of SHIFT's branches — and on the ledger's seeds that
# credit was worth more than the whole margin. F2 now asks the sentence the ledger prints: the target
# is Looped's final accuracy. A tolerance appears only as a declared alternative, and then for both
# arms: SHIFT's FLOPs to Looped's final − 1 point divided by *Looped's own* FLOPs to that level (read
# off Looped's decayed runs at smaller budgets, dashed in the figure).
#
# **Wall-clock**, the paper's wording, is not read off these runs: they ran side by side with other
# work, and two FLOP-identical runs made at different times on a shared CPU can differ by a quarter
# in time. `benchmarks/shift_speed.py` times a Single and a Looped step *interleaved*, in one
# process: a Single step costs more than $c$ of a Looped step in time (fixed per-step overheads),
# so SHIFT's time saving is smaller than its FLOP saving. F2's alternative `cost = time` converts
# with that measured ratio.

# %%
fig = plot_reach(per)
c_wall = R.rule("F2").params["c_wall"]
print(f"budgets: SHIFT {list(cfg.branch_fractions)} × Looped's FLOPs; Looped {list(cfg.looped_fractions)} and 1")
for r, p in zip(runs, per):
    fr = sorted(p["branch_acc"], key=float)
    slope = (p["branch_acc"][fr[-1]] - p["branch_acc"][fr[0]]) / (float(fr[-1]) - float(fr[0]))  # points per 1× budget
    credit = flops_to_reach({f: {"acc": 100 * v["acc"], "flops": v["flops"]} for f, v in r.branches[cfg.policy].items()},
                            p["looped_final"] - 1, flops_at_evals(r.records["looped"])[-1])["ratio"]
    both, timed = f2_reach(r, cfg, target="both_within_1"), f2_reach(r, cfg, cost="time", c_wall=c_wall)
    cens = {"below": " (already there at the smallest budget)", "above": " (not there at the largest budget)"}.get(p["f2_censored"], "")
    print(f"seed {p['seed']}: SHIFT reaches Looped's final {p['looped_final']:.1f} % with {p['f2_ratio']:.2f}× Looped's "
          f"FLOPs{cens} ({timed['ratio']:.2f}× its time at c_wall = {c_wall:g}); it gains {slope / 10:.2f} points per 0.1× "
          f"of the budget, so v3's 1-point credit was worth ≈ {1 / slope if slope > 0 else math.inf:.2f}× "
          f"(v3's ratio {credit:.2f}×); both arms to within 1 point: {both['ratio']:.2f} (Looped itself at "
          f"{both['looped_ratio']:.2f}×); best case for its switch step {p['f2_bound']:.2f}×")

# %% [markdown]
# *Figure 7.5* — SHIFT's and Looped's decayed accuracy at each FLOP budget, per seed, against Looped's
# final accuracy: where SHIFT's curve first reaches that line is the seed's F2 ratio (the printed lines
# say which seeds give only a bound: there already at the smallest budget, or not yet at the largest).

# %% [markdown]
# ## 7. Theorem 3: over the window SHIFT uses, and outside the small-weight regime
#
# At the *same* weights θ we compute the gradient of the loss with one loop and with three, and
# their cosine for each attention matrix,
# $\cos\bigl(\nabla_W L_{\text{single}}(\theta), \nabla_W L_{\text{looped}}(\theta)\bigr)$, along
# Single's run (the trajectory SHIFT follows before the switch): at every step up to step 50, step
# 0 included, then every few steps up to the last step SCP may switch, on 512 training sequences.
#
# **Which window?** Theorem 3 is cited to justify training Single first, so the window that matters
# is the one SHIFT actually trains Single in: from step 0 to its switch step on that seed — claim
# **F3a**, in the experiments' model (softmax, pre-LayerNorm). Rule v3 averaged over steps 0–50
# instead, well before any switch.
#
# **The small-weight regime.** Theorem 3 is a statement about the **theorem's model** — linear
# attention, no LayerNorm — so we also run that model on the same data. With an initialisation of
# 0.02 and no LayerNorm, each loop adds almost the same small term to the residual stream: the
# three loops see nearly the same input, the three-loop gradient is close to three times the
# one-loop gradient, and the cosine is ≈ 1 *whatever the task* (`tests/test_shift.py` checks this
# limit). That alignment is a property of the initialisation, not of training. Claim **F3b** finds
# the step where the cosine first drops below 0.99 and asks whether the gradients are still aligned
# after it, up to the switch.

# %%
ends = [p["window_end"] for p in per]
exits = {thr: [exit_step(r.theorem_model, thr) for r in runs] for thr in (0.99, 0.95)}
fig = plot_alignment_windows([r.records["single"] for r in runs], [r.theorem_model for r in runs], ends, exits[0.99])
for r, p in zip(runs, per):
    lo, hi = f3b_window(r, cfg)
    pr = r.theorem_model.probes["theorem3"]
    st, cq = np.asarray(pr["step"]), np.asarray(pr["cos_W_Q"], float)
    after = cq[(st >= lo) & (st <= hi)]
    early = alignment_window(r.theorem_model, 0, cfg.theorem3_dense)
    a = alignment_window(r.records["single"], *f3a_window(r, cfg))
    print(f"seed {r.seed} (switch at step {p['window_end']}): theorem's model ≥ 0.99 until step {lo:.0f} "
          f"({lo / cfg.theorem3_dense:.0%} of steps 0–{cfg.theorem3_dense}; below 0.95 from step {exits[0.95][runs.index(r)]:.0f}); "
          f"mean W_Q cosine over 0–{cfg.theorem3_dense} {early['W_Q']:.2f}, from step {lo:.0f} to the switch "
          f"{p['f3b_cos_W_Q']:.2f} (single probes " + (f"{after.min():+.2f} to {after.max():+.2f})" if after.size else "none)"))
    print(f"{'':>8}experiments' model, steps 0 to the switch: W_Q {a['W_Q']:.2f}, W_K {a['W_K']:.2f}")

# %% [markdown]
# *Figure 7.6* — Cosine of Single's and Looped's W_Q and W_K gradients at the same weights along
# Single's run, in the theorem's model (left) and the experiments' model (right), with each seed's
# switch step (dotted) and, left, the steps where the cosine is still ≥ 0.99 (grey band).
#
# Left, the theorem's model: inside the grey band (cosine ≥ 0.99) the two gradients are nearly
# parallel by construction; after it they swing through the whole range from near −1 to near +1 (the
# printed ranges), and it is this part, up to the dotted switch steps, that F3b averages. Right, the
# experiments' model: there is no such band — the cosines swing from the first steps — and F3a
# averages them from step 0 to each seed's switch.
#

# %% [markdown]
# ### Derivation 7.2 — Theorem 3 at small weights
#
# > **Difficulty** ★★★ · **Importance** 🔵🔵⚪ · **Time** ≈ 30 min · **Kind** derivation
#
# In the theorem's model (linear attention, no LayerNorm) the residual stream is
# $E_{t+1} = E_t + A(E_t)$, with $A(E) = W_O\,\bigl((EW_Q^\top)(EW_K^\top)^\top \odot M\bigr)\,EW_V^\top / (i + 1)$ row by row,
# and the loss reads $E_n$ through the readout. Let every weight be of size $\varepsilon$. (a) Show that
# $E_0 = O(\varepsilon)$ and $A(E_t) = O(\varepsilon^7)$, so that every loop barely changes the stream. (b) Write
# $\nabla_{W_Q} L$ of the $n$-loop model as a sum over the loops $t$ (chain rule through $E_n, \dots, E_{t+1}$)
# and show that every term equals the one-loop gradient up to a relative $O(\varepsilon^6)$: hence
# $\nabla_{W_Q} L_{\text{looped}} = n\,\nabla_{W_Q} L_{\text{single}}\,(1 + O(\varepsilon^6))$, the same for $W_K$, and the cosine
# of the two gradients tends to 1. (c) Which part of the argument fails once the weights have grown, and
# what do you expect the cosine to do then? The cell after the answer measures the gradient ratio and
# $1 - \cos$ at four initial scales.
#
# <details><summary>Hint</summary>
#
# (a) Count the weight matrices in each factor: $Q = EW_Q^\top$ is $O(\varepsilon^2)$. (b) The loop's Jacobian is
# $\partial E_{t+1}/\partial E_t = I + \partial A/\partial E$; loop $t$ contributes
# $\frac{\partial L}{\partial E_n}\bigl(\prod_{u>t}\frac{\partial E_{u+1}}{\partial E_u}\bigr)\frac{\partial A}{\partial W_Q}(E_t)$. What are these factors when
# $E_t = E_0(1 + O(\varepsilon^6))$?
# </details>
#
# <details><summary>Worked answer</summary>
#
# (a) $E_0 = W_Ex + p$ is $O(\varepsilon)$. $Q, K, V$ are $O(\varepsilon^2)$, the scores $QK^\top$ $O(\varepsilon^4)$, the mix
# $(\cdot)V$ $O(\varepsilon^6)$ and $W_O$ adds one more: $A = O(\varepsilon^7) = E_0\cdot O(\varepsilon^6)$ (the sums over $d$ and
# $T$ add constant factors). By induction $E_t = E_0 + O(t\varepsilon^7)$.
#
# (b) $L$ depends on $W_Q$ through every loop:
# $\nabla_{W_Q}L_n = \sum_{t<n}\frac{\partial L}{\partial E_n}\Bigl(\prod_{u=t+1}^{n-1}(I + A'(E_u))\Bigr)\frac{\partial A}{\partial W_Q}(E_t)$. Each Jacobian
# factor is $I + O(\varepsilon^6)$, $\partial A/\partial W_Q$ is evaluated at $E_t = E_0(1 + O(\varepsilon^6))$, and $\partial L/\partial E_n$ at
# $E_n = E_0(1 + O(\varepsilon^6))$ — the point where the one-loop model evaluates $\partial L/\partial E_1$. So each of
# the $n$ terms is the one-loop gradient $\frac{\partial L}{\partial E_1}\frac{\partial A}{\partial W_Q}(E_0)$ times $1 + O(\varepsilon^6)$: the sum
# is $n$ times it, the ratio of norms tends to $n$ and the cosine to 1, for every attention matrix —
# the cosine to second order in the relative error, $1 - \cos = O(\varepsilon^{12})$: from $\varepsilon = 0.02$ to
# $0.1$ (five times larger) it grows by about $5^{12} \approx 2\cdot10^8$ in the cell below.
#
# (c) The expansion needs $A(E_t) \ll E_t$. Once the weights have grown (or with $\varepsilon\sqrt d$ of order 1),
# loop $t$ sees a stream the earlier loops have changed and its Jacobians are far from $I$: the terms no
# longer agree and the cosine falls — in the runs above it leaves 0.99 after a few dozen steps and then swings
# between agreement and opposition. The
# theorem's "shared river upstream" is an early-training statement.
# </details>

# %%
from dataclasses import replace

from loopvalley.looped.models import build_model
from loopvalley.shift.controller import attn_grads, cosine
from loopvalley.shift.experiment import theorem_model_run
from loopvalley.train import next_token_loss

thm = theorem_model_run(run).model  # linear attention, no LayerNorm, no MLP
x_thm = run.data.sample(seeds[0]).train[:256]
for std in (0.002, 0.02, 0.1, 0.2):
    m_thm = build_model(replace(thm, init_std=std, n_loops=1), torch.Generator().manual_seed(0))
    g1, g3 = attn_grads(m_thm, x_thm, 1, next_token_loss), attn_grads(m_thm, x_thm, 3, next_token_loss)
    print(f"init std {std:5g}: " + ", ".join(f"{w} ‖∇₃‖/‖∇₁‖ = {float(g3[w].norm() / g1[w].norm()):.3f}, "
                                             f"1 − cos = {abs(1 - cosine(g1[w], g3[w])):.1e}" for w in ("W_Q", "W_K")))

# %% [markdown]
# Theorem 3's premises (our reading; the paper's exact matrices are not public): the score matrix
# $W_{QK} = W_Q^\top W_K$ should be diagonally dominant (Assumption 4) and products of the attention
# matrices close to PSD (Assumption 5). PSD-ness is $\sum_i \max(\lambda_i,0)/\sum_i|\lambda_i|$ of
# the symmetric part (1 = PSD, ½ = as much negative as positive curvature).

# %%
fig = plot_premises([r.records["single"] for r in runs], [r.theorem_model for r in runs])
m = lambda k: np.mean([p[k] for p in per])  # noqa: E731
print(f"theorem's model at step {cfg.theorem3_dense}: {m('thm_dd_QK_early'):.0%} diagonally dominant rows of W_QK, "
      f"PSD-ness W_QK {m('thm_psd_QK_early'):.2f}, W_OV {m('thm_psd_OV_early'):.2f}")
print(f"experiments' model at step {cfg.theorem3_dense}: {m('exp_dd_QK_early'):.0%} diagonally dominant rows, "
      f"PSD-ness W_QK {m('exp_psd_QK_early'):.2f}, W_OV {m('exp_psd_OV_early'):.2f}")

# %% [markdown]
# *Figure 7.7* — Theorem 3's premises along the same runs, against the 1 they ask for (dashed): the lines under each panel say, computed from the records, whether each assumption holds in that model.

# %% [markdown]
# ## 8. Claims check
#
# The verdicts are computed by the same function as `python -m loopvalley reproduce --only shift`:
# a margin per seed, a 95 % Student-t interval over seeds, holds / fails / inconclusive
# ([notebook 01](01_river_valley.ipynb) explains the verdicts), and the verdict again under every
# declared alternative of the rule (`lib/loopvalley/rules.toml`). Here they run on two *teaching*
# seeds, where the interval is wide (t₀.₉₇₅,₁ = 12.7): the check asserts only what is robust at this
# scale. The ledger's verdicts come from ten confirmatory seeds at `small`.
#
# - **F1**: SHIFT's final accuracy ≥ Looped's − 1 point, after the common decay;
# - **F2**: SHIFT's FLOPs to reach Looped's final accuracy < Looped's;
# - **F3a**: the time-averaged W_Q and W_K cosines from step 0 to the switch ≥ 0.5 (experiments' model);
# - **F3b**: the same after the cosine first drops below 0.99, in the theorem's model.

# %%
claims = shift_claims(runs, cfg, scale, seeds)
for cl in claims:
    print(f"{cl.id} — {cl.statement}\n  {specification_curve(cl.to_json())}\n  {cl.note}\n")

# %
# at ci two teaching seeds give wide intervals: assert only the side each claim robustly is not on
EXPECTED = {"F1": {"holds", "inconclusive"}, "F2": {"fails", "inconclusive"}, "F3a": {"fails", "inconclusive"},
            "F3b": {"fails", "inconclusive"}}
UNCHECKED = ()
print(assert_verdicts(claims, EXPECTED, unchecked=UNCHECKED))

# %% [markdown]
# ### What this means for the paper
#
# The cell below prints it from the claims just computed (at ci, on two teaching seeds: an
# exploration; the ledger's ten confirmatory seeds decide).

# %%
by = {c.id: c for c in claims}
says = {"holds": "supports", "fails": "contradicts", "inconclusive": "cannot decide"}
gap = by["F1"].measured["shift_minus_looped_points"]["mean"]
f2 = by["F2"].measured["flop_ratio"]["mean"]
f3a = {w: by["F3a"].measured["time_averaged_cos"][w]["mean"] for w in ("W_Q", "W_K")}
f3b = {w: by["F3b"].measured["time_averaged_cos"][w]["mean"] for w in ("W_Q", "W_K")}
ex = by["F3b"].measured["exit_step_0.99"]
print(f"Accuracy (F1, {by['F1'].verdict}): at equal FLOPs and after the same decay SHIFT ends {gap:+.1f} points from "
      f"Looped-Attn — this {says[by['F1'].verdict]} 'without sacrificing accuracy' (within 1 point).")
print(f"Compute (F2, {by['F2'].verdict}): to reach Looped's final accuracy itself SHIFT needed {f2:.2f}× Looped's FLOPs — "
      f"this {says[by['F2'].verdict]} 'less training time' in FLOPs (wall-clock: F2's time alternative).")
print(f"Theorem 3 (F3b, {by['F3b'].verdict}): in the theorem's own model the gradients are aligned while the weights are "
      f"small (cosine ≥ 0.99 until step {min(ex):.0f}–{max(ex):.0f}: ∇Looped ≈ 3∇Single there, the limit "
      f"tests/test_shift.py checks); after that, up to the switch, the time-averaged cosines are W_Q {f3b['W_Q']:.2f}, "
      f"W_K {f3b['W_K']:.2f} against the 0.5 the rule asks — this {says[by['F3b'].verdict]} 'shared river upstream' "
      f"beyond the initialisation.")
print(f"Theorem 3 where SHIFT uses it (F3a, {by['F3a'].verdict}): in the model the experiments train, over the steps SHIFT "
      f"trains Single, the time-averaged cosines are W_Q {f3a['W_Q']:.2f}, W_K {f3a['W_K']:.2f} — this "
      f"{says[by['F3a'].verdict]} 'shared river upstream' as the reason to train Single first.")


# %% [markdown]
# ### The live verdicts next to the ledger's
#
# The claims just computed (two teaching seeds at `ci`) beside the shipped ledger's (confirmatory seeds at `small`,
# read from `results/small/claims.json`, never typed), then what the ledger says about this chapter,
# claim by claim, with the reason in each note:

# %% tags=["nbval-ignore-output"]
from loopvalley.claims import chapter_summary, verdict_comparison
from loopvalley.registry import shipped_ledger

print(verdict_comparison(claims, shipped_ledger("small")))
print()
print(chapter_summary(shipped_ledger("small"), ['F1', 'F2', 'F3a', 'F3b']))

# %% [markdown]
# ## Key takeaways
#
# - SHIFT's saving is capped by the switch step: at best $1 - (s/S)(1 - c)$ of Looped's compute.
# - Compare training procedures at a horizon that ends in a decay; at a constant learning rate a
#   lag reads as a gap.
# - The switch policy matters more than the thresholds: with Adam's moments kept, SHIFT sometimes
#   never starts the complex-split climb; resetting them at the switch removes that failure.
# - At its default the coherence threshold δ2 never changes the switch step; the loss test decides.
# - A tolerance in a "reaches the same accuracy with less compute" claim is a credit: give it to both
#   arms or to neither.
# - An alignment that holds because the weights are small holds for any task; measure Theorem 3
#   over the window SHIFT uses, and after the small-weight regime — there the cosines swing widely in
#   both models.
#
# ## Check your understanding
#
# 1. Why can SHIFT never reach Looped's final accuracy with less than $1-(s/S)(1-c)$ of its FLOPs?
# 2. Why does keeping Adam's second moments make the first looped steps too large?
# 3. What would make $\delta_2$ bind?
# 4. Why is the gradient cosine ≈ 1 at initialisation in the theorem's model, for any data?
#
# <details><summary>Answers</summary>
#
# 1. Even if every Single step did the work of a Looped step, SHIFT would need the same $T_L \approx S$
#    steps, and only the first $s$ of them are cheaper, by the factor $c$.
# 2. Adam divides by $\sqrt{v}$, the running mean of squared gradients; $v$ remembers Single's
#    smaller gradients (β₂ = 0.999: a memory of ~1000 steps), so the looped gradients are divided by
#    too small a number.
# 3. A loss plateau while successive gradients still agree (ρ near 1): the iterate drifting slowly
#    along a river rather than hopping between walls.
# 4. Without LayerNorm and with weights of size 0.02, one attention layer changes the residual stream
#    by a tiny amount, so the second and third loops see almost the first loop's input: each loop
#    contributes almost the same gradient, and ∇Looped ≈ 3∇Single points the same way.
# </details>

# %% [markdown]
# ## References
#
# - **The paper** — Gong, Teng & Liu (2025), arXiv:2510.10089: SHIFT, the SHIFT Criterion with Patience
#   ($\delta_1$, $\delta_2$, $W$), Theorem 3 ("shared river upstream") and its Assumptions 4–5, and the
#   training-speed results (Figs. 4, 11–16) [SUM-S, REV]. What SCP monitors, the thresholds and the
#   speed-up numbers are not public (its full text could not be read for this course): the criterion
#   here is our reading [INF] — see [docs/paper-notes.md](../docs/paper-notes.md) §1.5, §1.6, §2.6.
# - **Wen et al. (2024)**, arXiv:2410.05192: a learning-rate decay reveals the progress hidden by the
#   hillside oscillation [ABS-Wen] — why every arm here ends with the same decay (§2).
# - **Gong, He, Li, Qin, Wang & Liu (2019)**, *Efficient Training of BERT by Progressively Stacking* (ICML
#   2019): growing a network's depth during training from a shallower one, the idea SHIFT applies to
#   loops.
# - **Kingma & Ba (2015)**, *Adam*, arXiv:1412.6980, and **Loshchilov & Hutter (2019)**, *Decoupled Weight
#   Decay Regularization*, arXiv:1711.05101: the optimiser whose moments the switch policy keeps or
#   resets (§4).
