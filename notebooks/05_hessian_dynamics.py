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
# # 05 — Hessian dynamics: Collapse → Diversification → Stabilization?
#
# The paper's landscape-level evidence (§4.2–4.3, Figs. 3, 7, 8) is the Hessian spectrum over
# training. Looped-Attn's spectrum is said to go through three phases, **Collapse →
# Diversification → Stabilization**, which Single-Attn's does not. The paper also says Looped-Attn
# sits in an ill-conditioned **V-shaped valley** (large κ(H_valley)), and Assumption 1 says it has
# more and smaller low-curvature valley eigenvalues. This notebook first builds the tools:
# Hessian-vector products, Lanczos, power iteration, trace estimators and spectral densities, each
# checked against the dense answer on a tiny model. Then it tracks full spectra while Single-Attn
# and Looped-Attn train, writes the phase rule down, and checks all three claims per eigenvalue.
# It also shows how much every verdict depends on the thresholds ε and τ, which reviewers asked for.
# Run time: about a minute and a half at the CI scale.
#
# Previous: notebook 04 trains the two architectures on the same data.

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
import time
from dataclasses import replace

import numpy as np
import torch

from loopvalley import hessian as hs
from loopvalley.experiments import hessian_dynamics as hd
from loopvalley.markov import make_markov_data
from loopvalley.models import looped_attn
from loopvalley.plots import spectra as ps
from loopvalley.train import Trainer, next_token_loss
from loopvalley.widgets.spectra import spectrum_widget

setup_ = hd.preset(scale)
print(f"scale = {scale}: d_model = {setup_.model.d_model}, {setup_.train.max_steps} steps, "
      f"{len(setup_.probe_steps)} spectra on {setup_.train.probe_batch_size} training sequences, at steps "
      f"{', '.join(map(str, setup_.probe_steps))}; spectra in {str(setup_.dtype).replace('torch.', '')}")

# %% [markdown]
# ## 1. Hessian-vector products
#
# The Hessian of a model with n parameters has n² entries, but every method below only needs
# **products** $Hv$. Two ways to get one from automatic differentiation:
#
# * **reverse-over-reverse** (double backward): keep the gradient $g(\theta) = \nabla L(\theta)$ as
#   a graph and differentiate $\langle g(\theta), v\rangle$ once more:
#   $Hv = \nabla_\theta \langle \nabla L(\theta), v\rangle$. The graph of $g$ is built once per
#   Hessian, so each product costs one extra backward pass.
# * **forward-over-reverse**: push the direction $v$ forward through the gradient function,
#   $Hv = \tfrac{d}{dt}\nabla L(\theta + t v)\big|_{t=0}$ (`torch.func.jvp` of `torch.func.grad`).
#
# Both give the same numbers. `benchmarks/hessian_speed.py` times them, and `Hessian` uses the
# faster one (reverse) by default. One trap: PyTorch's fused CPU attention kernel has no double
# backward, so `Hessian` runs the model on the explicit $\mathrm{softmax}(QK^\top/\sqrt{d})V$ path,
# in eval mode and in float64 (the training-time spectra below use float32 at the CI scale, three
# times faster; its eigenvalue error, about $10^{-6}\lambda_{\max}$, is far below the river threshold
# $\varepsilon = 10^{-3}\lambda_{\max}$).
#
# We start with a tiny Looped-Attn model (d = 4, 8 tokens), trained for a few steps so that its
# Hessian is no longer the random-initialisation one.

# %%
tiny_setup = replace(setup_.markov, seq_len=8)
tiny_data = make_markov_data(tiny_setup, 512, 64, torch.Generator().manual_seed(0))
tiny = looped_attn(replace(setup_.model, d_model=4, max_len=8), 3, torch.Generator().manual_seed(0))
tiny_trainer = Trainer(tiny, tiny_data.train, None, replace(setup_.train, max_steps=150, probe_batch_size=64))
tiny_trainer.run()

H = hs.Hessian(tiny, next_token_loss, tiny_trainer.probe_batch)  # all parameters, float64
print(f"n = {H.n} parameters: " + ", ".join(f"{k} ({s.stop - s.start})" for k, s in H.slices.items()))
v = torch.randn(H.n, generator=g, dtype=torch.float64)
Hv = H.hvp(v)
fd = hs.finite_difference_hvp(H, v)
Hv_fwd = hs.Hessian(tiny, next_token_loss, tiny_trainer.probe_batch, method="forward").hvp(v)
print(f"relative difference to finite differences of the gradient: {float((Hv - fd).norm() / fd.norm()):.1e}")
print(f"reverse-over-reverse vs forward-over-reverse:               {float((Hv - Hv_fwd).norm() / Hv.norm()):.1e}")

# %% tags=["nbval-ignore-output"]
# Timing (machine-dependent): one gradient vs one Hessian-vector product.
theta = H.theta.clone().requires_grad_(True)
t0 = time.perf_counter()
for _ in range(20):
    torch.autograd.grad(H.loss_at(theta), theta)
t_grad = (time.perf_counter() - t0) / 20
t0 = time.perf_counter()
for _ in range(20):
    H.hvp(v)
t_hvp = (time.perf_counter() - t0) / 20
print(f"gradient {1e3 * t_grad:.2f} ms, HVP {1e3 * t_hvp:.2f} ms: ratio {t_hvp / t_grad:.1f}")

# %% [markdown]
# ## 2. The dense Hessian, Lanczos and power iteration
#
# For a small model we can afford n products and build $H$ column by column: that is our ground
# truth (`torch.linalg.eigvalsh`). **Lanczos** builds an orthonormal basis $Q_m$ of the Krylov space
# $\{v, Hv, \dots, H^{m-1}v\}$ in which $H$ is tridiagonal, $Q_m^\top H Q_m = T_m$. The eigenvalues of
# $T_m$ (the Ritz values) converge to the extreme eigenvalues of $H$, largest first. We
# re-orthogonalise every new vector against the whole basis. Without that step, rounding errors
# create spurious copies of converged eigenvalues. We report residuals $\lVert Hv - \lambda v\rVert$,
# which bound each eigenvalue's error.
#
# **Deflated power iteration** (PyHessian's method) repeats $v \leftarrow Hv/\lVert Hv\rVert$ until
# the Rayleigh quotient settles, then removes the eigenvector found and starts again. It needs many
# more products, and it is noisier: close eigenvalues converge at rate $|\lambda_{i+1}/\lambda_i|$,
# and its stopping test can fire early. It also ranks eigenvalues by $|\lambda|$, so it finds
# large *negative* eigenvalues too. Below, its second eigenvalue is the most negative one, which the
# "largest" Lanczos run (`which="LA"`) skips; `which="LM"` would find it.

# %%
D = H.dense()
exact = torch.linalg.eigvalsh(D)  # ascending
lz = hs.lanczos(H, 5, tol=1e-10)
pw = hs.power_iteration(H, 5, tol=1e-6, max_iter=2000)
print(" i   dense λ_i     Lanczos      residual     power iter.")
for i in range(5):
    print(f"{i + 1:2d}  {exact.flip(0)[i]:.6e}  {lz.eigenvalues[i]:.6e}  {lz.residuals[i]:.1e}     "
          f"{pw.eigenvalues[i]:.6e}")
print(f"Hessian-vector products: Lanczos {lz.n_hvp} (incl. {5} for the residuals), power iteration {pw.n_hvp}")

# %%
fig = ps.plot_lanczos_convergence(exact, hs.ritz_history(H, 40, k=5), pw, k=5)

# %% [markdown]
# **Try this:** the Hessian here is over all parameters. Pass `params="W_Q"` (or `"W_K"`, `"W_V"`,
# `"W_O"`, `"output"`, `"embedding"`, `"attention"`, or a list) to `hs.Hessian` to get a diagonal
# block. `H.block(D, "attn.W_Q.weight")` cuts the same block out of the dense matrix.
#
# ## 3. Traces and the spectral density
#
# **Hutchinson** estimates $\operatorname{tr} H = \mathbb{E}[z^\top H z]$ with random ±1 vectors $z$;
# its error shrinks like $1/\sqrt{m}$. **Hutch++** first computes the trace exactly on a sketch of the top
# eigenspace, then runs Hutchinson on the remainder; its error shrinks like $1/m$ for the same m products.
# **Stochastic Lanczos quadrature** (SLQ) turns a few short Lanczos runs into a Gauss quadrature for
# the whole spectral density $\phi(t) = \frac1n\sum_i \delta(t - \lambda_i)$.

# %%
tr = float(exact.sum())
print(f"exact trace {tr:.5f}")
for m in (30, 90):
    hu, hpp = hs.hutchinson(H, m, generator=g), hs.hutch_plus_plus(H, m, generator=g)
    print(f"m = {m:3d} products: Hutchinson {hu.estimate:.5f} (± {hu.std_err:.5f}), Hutch++ {hpp.estimate:.5f}")
fig = ps.plot_slq_density(exact, hs.slq(H, n_vectors=8, n_steps=30, generator=g), sigma=0.02 * float(exact.abs().max()))

# %% [markdown]
# ## 4. Spectra over training
#
# Now the real runs. Data, model and optimiser are those of notebook 04
# (`experiments.sample_dynamics.settings`): the IC-graded Markov language, one softmax head with
# pre-LayerNorm, AdamW. The one change is a narrower residual stream (d = 16 on CPU instead of 32),
# so that the Hessian we track stays dense. That Hessian is over the **attention weights**
# $W_Q, W_K, W_V, W_O$ ($4d^2 = 1024$ dimensions): the weights that Looped-Attn shares across its 3
# loops. It is the Hessian of the training loss on one fixed batch of training sequences. Both models
# start from the same weights.
#
# Why d = 16 and not narrower: the spectra only test the paper's story if these runs have the
# sample-level phenomenon of notebook 04, Looped-Attn ending clearly above Single-Attn on the complex
# split. At d = 8 the gap shrinks to about 4 points; at d = 16 it is about 11 (printed below, and
# reported with every claim).
#
# **When to probe.** The paper ties the collapse to the first phase of training, when both models fit
# the simple patterns. In notebook 04 that phase is over within the first 25–50 of 600 steps. A
# spectrum every 50 steps would see only its start (step 0) and its aftermath. So the probes follow a
# schedule that is dense early and sparse late (`hs.probe_schedule`: every 5 steps up to step 20,
# then gaps growing by ×1.33–1.5), 15 spectra per run, about as many as an even grid would take.

# %% tags=["nbval-ignore-output"]
t0 = time.perf_counter()
runs = hd.run_pair(setup_, seed=0)
print(f"trained both models with spectra in {time.perf_counter() - t0:.0f} s")

# %%
for name, rec in runs.items():
    rows = rec.probes["spectrum"]
    print(f"{name:6s}: {len(rows['step'])} spectra of {len(rows['eigenvalues'][0])} eigenvalues; "
          f"final complex-split accuracy {rec.eval_acc['complex'][-1]:.3f}")
fig = ps.plot_spectra_over_training(runs)

# %% [markdown]
# ## 5. The three phases, written as a rule
#
# The paper names the phases but gives no rule. Ours works on the **spectral entropy**
# $S = -\sum_i p_i \log p_i$ with $p_i = |\lambda_i| / \sum_j |\lambda_j|$ and the **effective rank**
# $r = e^{S}$. The effective rank is the number of curvature directions that carry the spectrum's
# mass: 1 if one eigenvalue dominates, n if all are equal. With $r_k$ at probe $k$ and
# $c = \arg\min_k r_k$:
#
# * **Collapse**: $r_c \le (1 - 0.2)\, r_0$ (the mass concentrates on a few outliers);
# * **Diversification**: $\max_{k > c} r_k \ge (1 + 0.2)\, r_c$ (many new curvature directions appear);
# * **Stabilization**: over the last 25 % of the probes, $(\max r - \min r)/\operatorname{mean} r \le 0.1$;
# * **in order**: $c$ < the onset of the rise < the start of that final window.
#
# With the early-dense schedule, the last 25 % of the probes (4 of 15) cover steps 240–600 of 600.
#
# The rule reads the whole spectrum, so it does not depend on ε or τ. Its own thresholds are round
# numbers that we chose in advance; we did not tune them to the verdicts. Section 8 varies them.

# %%
spectra = hd.spectra_of(runs)
phases = {k: hd.detect_phases(spectra[k][0], hd.effective_ranks(spectra[k][1])) for k in hd.MODELS}
for k in hd.MODELS:
    p = phases[k]
    print(f"{k:6s}: collapse {p['collapse']!s:5} (r_min/r_0 = {p['drop']:.2f} at step {p['minimum_step']}), "
          f"diversification {p['diversification']!s:5} (peak/min = {p['rise']:.2f}), "
          f"stabilization {p['stabilization']!s:5} (final spread {p['spread']:.2f}); all three in order: {p['three_phases']}")
fig = ps.plot_phases(runs, phases)

# %% [markdown]
# ## 6. River, valley and κ(H_valley)
#
# Definition 1 splits the eigendirections by a threshold ε: the **river** is $|\lambda| \le \varepsilon$
# (flat) and the **valley** is $\lambda > \varepsilon$ (the walls). Eigenvalues $\lambda < -\varepsilon$
# (negative curvature) are neither. We count them separately and keep them out of
# $\kappa(H_\text{valley}) = \lambda_\max / \lambda_\min$ over the valley eigenvalues. We set
# ε = 10⁻³·λ_max and τ = 10⁻²·λ_max, relative to each spectrum's own largest eigenvalue. That makes the
# split scale-free (multiplying the loss by c changes nothing) and measures curvature as the optimiser
# feels it, as a step η λ_i relative to η λ_max. One consequence is visible at once: κ can never exceed
# λ_max/ε = 1000, and in a spectrum with a dense bulk near zero κ sits close to that bound. **κ
# measures ε as much as the landscape**, which is why section 8 varies ε.
#
# We compare the two models over Looped-Attn's **diversification window**, the probes from its
# effective-rank minimum to its peak.

# %%
m = hd.measure_seed(runs)
window = m["window"]
h3 = m["h3"]
print(f"diversification window: steps {window[0]}–{window[-1]} ({h3['n_steps']} probes)")
print(f"mean κ(H_valley): Looped {h3['kappa_looped']:.0f}, Single {h3['kappa_single']:.0f}; "
      f"κ_L > κ_S on {h3['kappa_larger_frac']:.0%} of the probes")
print(f"mean # valley eigenvalues below τ: Looped {h3['n_low_looped']:.1f}, Single {h3['n_low_single']:.1f}")
fig = ps.plot_kappa(runs, window)

# %% [markdown]
# ## 7. Assumption 1, eigenvalue by eigenvalue
#
# Assumption 1 says that below τ, Looped-Attn has (i) **more** valley eigenvalues than Single-Attn
# and (ii) **component-wise smaller** ones. The paper supports it with two histograms (Fig. 8(o) vs
# 7(j)). Reviewers asked for per-eigenvalue evidence. So at every probe we sort each model's low valley
# eigenvalues $\lambda/\lambda_\max \in (\varepsilon, \tau)$ in ascending order and compare them in
# pairs, $\lambda^{L}_{(i)} \le \lambda^{S}_{(i)}$ for $i \le \min(n_L, n_S)$. The assumption holds at
# a probe if (i) holds and (ii) holds for every pair.

# %%
print(" step   n_L  n_S   share of pairs with λ_L ≤ λ_S   Assumption 1")
for s in window:
    i = list(spectra["looped"][0]).index(s)
    a1 = hd.assumption1(spectra["looped"][1][i], spectra["single"][1][i])
    share = f"{a1['frac_smaller']:.2f}" if np.isfinite(a1["frac_smaller"]) else " -- "
    print(f"{s:5d}  {a1['n_low_looped']:4d} {a1['n_low_single']:4d}   {share:>29s}   {a1['holds']}")
mid = window[len(window) // 2]
i = list(spectra["looped"][0]).index(mid)
fig = ps.plot_assumption1(hd.assumption1(spectra["looped"][1][i], spectra["single"][1][i]), step=mid)

# %% [markdown]
# ## 8. How much do the verdicts depend on the thresholds?
#
# Reviewer 3: "the river/valley split itself depends on a threshold ε without sensitivity analysis".
# Below, H3 and its three parts are recomputed from the stored spectra for every (ε, τ) on a grid.
# The phase verdicts (H1, H2) do not involve ε or τ, so for them we vary the rule's own thresholds.
# Green cells hold, red cells fail. A verdict that changes colour across the grid depends on the
# threshold, not only on the model.

# %%
grid = hd.threshold_sensitivity({0: runs})
fig = ps.plot_threshold_sensitivity(grid)
held = np.nansum(grid["holds"] == 1)
cells = np.isfinite(grid["holds"]).sum()
print(f"H3 holds in {held:.0f} of {cells} (ε, τ) cells")

# %%
rule_grid = hd.rule_sensitivity({0: runs})
fig = ps.plot_rule_sensitivity(rule_grid)
print(f"H1 holds in {int((rule_grid['H1'] >= 0.5).sum())} and H2 in {int((rule_grid['H2'] >= 0.5).sum())} "
      f"of {rule_grid['H1'].size} rule settings")

# %% [markdown]
# ## 9. Scrub through training
#
# Move the probe index to walk through training. Move ε and τ to watch the river band and the set
# of low valley eigenvalues change, and with them Assumption 1 at that step. The static figures
# above use the default ε and τ; the widget starts from the middle of the diversification window.

# %% tags=["nbval-ignore-output"]
spectrum_widget(runs, hd.assumption1, index=i)

# %% [markdown]
# **Try this:**
# * `hd.run_pair(replace(setup_, params=None), 0)` tracks the Hessian of *all* parameters (with
#   the embeddings, 1.6× the dimensions and Hessian-vector products). Does the picture change?
# * `hd.detect_phases(steps, r, hd.PhaseRule(rise=0.5, flat=0.2))` applies a stricter or looser rule.
# * At `LOOPVALLEY_SCALE=small` the runs have more data and a 4× larger probe batch. In our run with
#   seed 0, Looped-Attn's effective rank dips late (steps 40–120) to 0.85·r_0, short of a collapse,
#   and is still rising at the end: H1–H3 fail there too. Does another seed differ?
#
# ## Claims check
#
# **H1**: Looped-Attn shows the three phases in order. **H2**: Single-Attn lacks the
# diversification phase. **H3**: during Looped-Attn's diversification, κ(H_valley) is larger for
# Looped-Attn, and it has more and component-wise smaller low valley eigenvalues (Assumption 1).
# The library computes the verdicts from the numbers above (`hd.hessian_claims`, which
# `python -m loopvalley reproduce` also runs). `expected` records what the CI-scale run gives, so
# this cell fails if a verdict changes. The runs do have the sample-level phenomenon (complex-split
# accuracy 66 % for Looped-Attn vs 55 % for Single-Attn; both are in every claim's `measured`). Still,
# at the CI scale all three **do not hold**:
#
# * H1: there is no collapse. Even with a spectrum every 5 steps while the simple patterns are
#   fitted, Looped-Attn's effective rank never drops below its starting value (r_min/r_0 = 1.00; it
#   rises from about 89 to 144 by step 20, dips to about 114 at step 60, then climbs to 185). It is
#   also still moving at the end (spread 0.22 over the last four probes, threshold 0.1);
# * H2: Single-Attn's effective rank rises after its minimum even more than Looped-Attn's (×3.5 vs ×2.1);
# * H3: Looped-Attn does have more low valley eigenvalues (96 vs 42 on average), and κ is larger on
#   79 % of the probes. But the component-wise part of Assumption 1 holds on only 36 % of them.
#
# Each printed note gives the reason in numbers.

# %%
claims = hd.hessian_claims({0: runs}, scale)
for c in claims:
    print(f"{c.id}: {'holds' if c.holds else 'does not hold'} — {c.note}")
expected = {"H1": False, "H2": False, "H3": False}
from loopvalley.claims import assert_verdicts; print(assert_verdicts(claims, expected))
