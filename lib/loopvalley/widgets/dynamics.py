"""Widgets for the Markov language (notebook 03) and the Single-vs-Looped dynamics (notebook 04).

Knobs on top of the static figures: defaults equal the static calls, sliders use
``continuous_update=False``.

Introduced in notebooks/03_markov_language and notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import matplotlib.pyplot as plt


def markov_widget(data_config, seed: int = 0):
    """α, vocabulary and length of the language: redraws the IC distribution and the reference
    predictors' accuracy per split. ``data_config`` is the language sample of the static figures
    (``presets.markov_run(scale).data``, a :class:`~loopvalley.presets.DataConfig`); the widget
    changes its ``markov`` fields and draws ``data_config.sample(seed)``, so its defaults are the
    static call.

    Introduced in notebooks/03_markov_language.
    """
    from dataclasses import replace

    import ipywidgets as W

    from ..plots.dynamics import plot_ic_distribution, plot_references

    cfg = data_config.markov
    knobs = {
        "alpha": W.FloatLogSlider(value=cfg.alpha, base=10, min=-1.5, max=1, step=0.1, description="α",
                                  continuous_update=False),
        "vocab_size": W.IntSlider(value=cfg.vocab_size, min=2, max=8, description="vocab V", continuous_update=False),
        "seq_len": W.IntSlider(value=cfg.seq_len, min=8, max=128, step=8, description="length T", continuous_update=False),
    }

    def draw(alpha, vocab_size, seq_len):
        dc = replace(data_config, markov=replace(cfg, alpha=alpha, vocab_size=vocab_size, seq_len=seq_len))
        data = dc.sample(seed)
        r = data.references["complex"]
        print(f"α = {alpha:.3g}, V = {vocab_size}, T = {seq_len}: mean IC {float(data.ic['train'].mean()):.3f} nats/token; "
              f"complex split: Bayes − unigram = {100 * (r['bayes']['acc'] - r['unigram']['acc']):.1f} points")
        plot_ic_distribution(data)
        plot_references(data.references)
        plt.show()

    out = W.interactive_output(draw, knobs)
    return W.VBox([W.HBox(list(knobs.values())), out])


def looped_widget(run, n_loops: int = 3, d_model: int = 32):
    """Loops and width of the attention layer: ``run(n_loops=..., d_model=...)`` must return a list
    of ``{"single": RunRecord, "looped": RunRecord}`` (e.g. ``experiments.sample_dynamics.run_variant``).
    Press "train" to retrain (a few seconds at the CI scale) and redraw the per-split accuracy curves.

    Introduced in notebooks/04_single_vs_looped.
    """
    import ipywidgets as W

    from ..plots.dynamics import plot_split_curves

    def draw(n_loops, d_model):
        records = run(n_loops=n_loops, d_model=d_model)
        plot_split_curves(records, metric="acc", labels={"looped": f"Looped-Attn ({n_loops} loops)"})
        plt.show()

    return W.interactive(
        draw,
        {"manual": True, "manual_name": "train"},
        n_loops=W.IntSlider(value=n_loops, min=1, max=6, description="loops", continuous_update=False),
        d_model=W.Dropdown(value=d_model, options=[8, 16, 32, 64, 128], description="width d"),
    )
