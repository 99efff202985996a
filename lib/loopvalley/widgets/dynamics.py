"""Widgets for the Markov language (notebook 03) and the Single-vs-Looped dynamics (notebook 04).

Knobs on top of the static figures: defaults equal the static calls, sliders use
``continuous_update=False``.

Introduced in notebooks/03_markov_language and notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import matplotlib.pyplot as plt


def markov_widget(alpha: float = 0.5, vocab_size: int = 3, seq_len: int = 32, n_train: int = 2048, n_test: int = 256, seed: int = 0):
    """α, vocabulary and length of the language: redraws the IC distribution and the reference
    predictors' accuracy per split.

    Introduced in notebooks/03_markov_language.
    """
    import ipywidgets as W
    import torch

    from ..markov import MarkovConfig, make_markov_data
    from ..plots.dynamics import plot_ic_distribution, plot_references

    knobs = {
        "alpha": W.FloatLogSlider(value=alpha, base=10, min=-1.5, max=1, step=0.1, description="α", continuous_update=False),
        "vocab_size": W.IntSlider(value=vocab_size, min=2, max=8, description="vocab V", continuous_update=False),
        "seq_len": W.IntSlider(value=seq_len, min=8, max=128, step=8, description="length T", continuous_update=False),
    }

    def draw(alpha, vocab_size, seq_len):
        cfg = MarkovConfig(vocab_size=vocab_size, seq_len=seq_len, alpha=alpha, simple_quantile=0.2, complex_quantile=0.8)
        data = make_markov_data(cfg, n_train, n_test, torch.Generator().manual_seed(seed))
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
