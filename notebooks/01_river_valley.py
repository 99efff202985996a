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
# # 01 — The river valley: why a high learning rate plus a decay works
#
# The paper builds on the **river-valley** picture of Wen et al. (2024, *Understanding
# Warmup-Stable-Decay Learning Rates*): the loss is a deep valley with a slowly descending river at
# its bottom. This notebook makes that picture run. You will see gradient descent at several
# learning rates travel along the river while bouncing between the hillsides, and a
# warmup-stable-decay (WSD) schedule "reveal" the progress that the bouncing hid. Everything here is
# a closed-form 2-D loss and a vectorised simulator from the `loopvalley` library; it runs in
# about 15 s at the CI scale.
#
# Next: notebook 02 turns the valley into the paper's U- and V-valleys and checks Theorem 1.

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
import torch

from loopvalley.experiments.river_valley import river_valley_claims, scale_settings, wen_experiment, wen_runs
from loopvalley.landscapes import RiverValley2D
from loopvalley.plots.river_valley import plot_loss_curves, plot_lr_sweep, plot_river_valley
from loopvalley.widgets.river_valley import river_valley_widget

sizes = scale_settings(scale)
seeds, steps = list(range(sizes["n_seeds"])), sizes["steps"]
print(f"scale = {scale}: {len(seeds)} seeds, {steps} steps per run")

# %% [markdown]
# ## 1. The landscape
#
# Wen et al.'s toy function is not public, so we choose the simplest loss with their shape:
#
# $$
# L(x, y) \;=\; \underbrace{-h\,x}_{g(x):\ \text{the river descends}}
# \;+\; \underbrace{\tfrac{\lambda}{2}\,\bigl(y - f(x)\bigr)^2}_{\text{the hillsides}},
# \qquad f(x) = a \sin(\omega x).
# $$
#
# The **river** is the valley floor $y = f(x)$; along it the loss drops by $h$ per unit of $x$.
# Across it the walls have curvature $\approx\lambda \gg h$. We split the loss into a **river part**
# $-h x$ and a **valley part** $\tfrac{\lambda}{2}e^2$ with $e = y - f(x)$, the height above the floor.
# On the floor ($e = 0$) the Hessian is
#
# $$
# \nabla^2 L = \lambda \begin{pmatrix} f'^2 & -f' \\ -f' & 1 \end{pmatrix},
# \qquad \text{eigenvalues } 0 \text{ (along the river) and } \lambda(1 + f'^2) \text{ (across)}:
# $$
#
# one exactly flat direction and one steep one — the spectral gap that defines a river valley.
# Gradient descent is stable across the valley only for $\eta < 2/\lambda(1+a^2\omega^2) = 1.6$
# with our defaults $h = 0.05$, $\lambda = 1$, $a = 1$, $\omega = 0.5$.

# %%
land = RiverValley2D()
print(land)
H = land.hessian(torch.tensor([0.0, 0.0], dtype=torch.float64))  # on the floor, at x = 0
print("Hessian eigenvalues on the river floor:", torch.linalg.eigvalsh(H).numpy().round(3))

# %% [markdown]
# ## 2. A constant learning rate: fast along the river, bouncing between the walls
#
# SGD with gradient noise across the valley (the "hillside" noise of Wen et al.), three learning
# rates, the same noise draws, from the same start high on a hillside. Each step moves the iterate
# by $\eta h$ along the river, so a larger $\eta$ travels further; the noise keeps kicking it up the
# walls, and a larger $\eta$ bounces higher (the stationary valley loss grows like
# $\eta\sigma^2 / 2(2-\eta\lambda)$).

# %%
demo_lrs = (0.3, 0.9, 1.2)
land, traj = wen_runs(lrs=demo_lrs, steps=steps, schedule="constant", seed=0)
fig = plot_river_valley(land, traj, labels=[f"lr = {lr:g} (constant)" for lr in demo_lrs])

# %% [markdown]
# ## 3. The decay reveals the progress
#
# Now the same runs under **WSD**: constant in the stable phase, then a linear decay to zero over
# the last 20 % of the steps. The curves are means over 16 noise draws per learning rate; dashed
# lines keep the constant rate. In the stable phase the largest learning rate is *not* clearly
# ahead: its extra river progress is hidden under a larger valley loss. The decay drains the
# valley loss within a few steps (the hillsides are steep) and the loss drops to the river part,
# which is lowest for the run that travelled furthest.

# %%
land, traj_wsd = wen_runs(lrs=demo_lrs, steps=steps, schedule="wsd", draws=16, seed=0)
_, traj_const = wen_runs(lrs=demo_lrs, steps=steps, schedule="constant", draws=16, seed=0)
fig = plot_loss_curves(land, traj_wsd, labels=[f"lr = {lr:g}" for lr in demo_lrs], reference=traj_const, draws=16)

# %% [markdown]
# Over seeds and a sweep of learning rates, the same three facts — river progress grows with the
# learning rate, so does the valley loss, and only after the decay does the loss rank the runs by
# their progress:

# %%
wen = wen_experiment(seeds, steps=steps, draws=sizes["draws"] // 2)
fig = plot_lr_sweep(wen)
print("lr                     ", wen["lrs"])
print("river progress         ", wen["progress"].mean(0).round(2))
print("loss, stable phase     ", wen["loss_stable"].mean(0).round(3))
print("loss, after the decay  ", wen["loss_final"].mean(0).round(3))

# %% [markdown]
# ### Try it
#
# Move the learning rate, the noise and the schedule (defaults = the runs above, one draw).
#
# **Try this:**
# - lr above 1.6: the iterate no longer settles on the floor in the bends; above 2 it diverges,
#   and the simulator *reports* the step at which it did instead of raising.
# - noise 1.0 or more at lr 1.2: the bouncing now slows the river progress (the gradient along
#   $x$ picks up $-\lambda e f'(x)$ from every bounce) — the regime where Wen's story weakens.
# - schedule `cosine`: it decays all along, so it trades river progress for a lower valley loss early.

# %% tags=["nbval-ignore-output"]
river_valley_widget(wen_runs, lr=0.9, noise=0.5, schedule="wsd", steps=steps)

# %% [markdown]
# ## 4. Divergence is a result, not a crash
#
# Above the stability limit the valley coordinate grows by $|1-\eta\lambda|$ per step. The simulator
# marks such runs, freezes them, and reports the step and learning rate at which they blew up:

# %%
_, traj_big = wen_runs(lrs=(1.2, 2.2, 3.0), steps=steps, noise=0.0, schedule="constant")
for row in traj_big.divergence_report():
    print(f"run {row['run']}: diverged at step {row['step']} with lr {row['lr']:g}")

# %% [markdown]
# **Try this:** the runs above use SGD; `loopvalley.simulate.simulate` also has
# `optimizer="momentum"` and `optimizer="adam"`. Adam rescales each coordinate, so its
# effective step across the steep walls is no longer $\eta\lambda$ — does it still bounce?

# %% [markdown]
# ## Claims check
#
# **T1** (Wen et al.): river progress and stable-phase valley loss grow with the learning rate, and
# after the WSD decay the loss decreases with it, with most of the valley loss gone. The verdict is
# computed from the numbers above; this cell fails if it changes.

# %%
claims = river_valley_claims({"wen": wen}, scale, seeds)
for c in claims:
    print(f"{c.id}: {c.note}")
expected = {"T1": True}
from loopvalley.claims import assert_verdicts; print(assert_verdicts(claims, expected))
