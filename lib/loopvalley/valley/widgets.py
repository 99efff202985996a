"""Widgets for the river-valley chapters: knobs on top of the static figures.

Each widget takes the function that computes what to show (``run``, from
:mod:`loopvalley.valley.experiment`) so that its defaults reproduce the static call exactly;
sliders use ``continuous_update=False`` (a redraw per release, not per pixel).

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from loopvalley.valley.plots import plot_cumulative_force, plot_loss_curves, plot_river_valley
from loopvalley.valley.simulate import SCHEDULES


def river_valley_widget(run, lr: float = 0.9, noise: float = 0.5, schedule: str = "wsd", steps: int = 400):
    """Learning rate, gradient noise and schedule for one SGD run on the 2-D river valley:
    ``run(lrs=(lr,), noise=noise, schedule=schedule, steps=steps)`` must return ``(landscape, traj)``
    (e.g. ``experiments.river_valley.wen_runs``). Redraws the trajectory and the loss curves; the
    learning rate goes past the divergence limit 2/λ (a diverged run is drawn up to its blow-up,
    with the step at which it happened).

    Introduced in notebooks/01_river_valley.
    """
    import ipywidgets as W

    knobs = {
        "lr": W.FloatSlider(value=lr, min=0.05, max=2.5, step=0.05, description="lr", continuous_update=False),
        "noise": W.FloatSlider(value=noise, min=0.0, max=1.5, step=0.05, description="noise σ", continuous_update=False),
        "schedule": W.Dropdown(value=schedule, options=list(SCHEDULES), description="schedule"),
    }

    def draw(lr, noise, schedule):
        land, traj = run(lrs=(lr,), noise=noise, schedule=schedule, steps=steps)
        label = f"lr = {lr:g}, σ = {noise:g}, {schedule}"
        if bool(traj.diverged[0]):
            rep = traj.divergence_report()[0]
            print(f"diverged at step {rep['step']} (lr {rep['lr']:.3g}): above the stability limit 2/λ = "
                  f"{2 / land.hill:.3g} the valley coordinate grows every step")
            label += f": diverged at step {rep['step']}"
        plot_river_valley(land, traj, labels=[label])
        plot_loss_curves(land, traj, labels=[f"lr = {lr:g}"])
        plt.show()

    out = W.interactive_output(draw, knobs)
    return W.VBox([W.HBox(list(knobs.values())), out])


def u_vs_v_widget(run, kappa: float = 100.0, eta: float = 1.5, K: int = 2000, curves: dict | None = None):
    """κ of the V-valley, step size η and horizon K: ``run(eta=eta, K=K, kappa=kappa)`` must return the
    force curves of ``experiments.river_valley.force_curves``. Redraws C_K with 𝒞 and C_∞ for U and V.
    ``curves``: the static figure's result for the default knobs, reused instead of recomputed.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    import ipywidgets as W

    knobs = {
        "kappa": W.FloatLogSlider(value=kappa, base=10, min=0, max=4, step=0.25, description="κ (V)", continuous_update=False),
        "eta": W.FloatSlider(value=eta, min=0.05, max=2.2, step=0.05, description="η", continuous_update=False),
        "K": W.IntSlider(value=K, min=10, max=10000, step=10, description="K", continuous_update=False),
    }

    cache = {(kappa, eta, K): curves} if curves is not None else {}

    def draw(kappa, eta, K):
        key = (kappa, eta, K)
        curves = cache[key] if key in cache else cache.setdefault(key, run(eta=eta, K=K, kappa=kappa))
        for name in ("U", "V"):
            if curves[name]["diverged_step"] >= 0:
                print(f"{name}-valley diverged at step {curves[name]['diverged_step']} (η = {eta:g} > 2/λ_max)")
        plot_cumulative_force(curves)
        plt.show()

    out = W.interactive_output(draw, knobs)
    return W.VBox([W.HBox(list(knobs.values())), out])
