"""Widgets for the Markov language (notebook 03): knobs on top of the static figures (defaults equal
the static calls, sliders with ``continuous_update=False``).

Introduced in notebooks/03_markov_language.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from loopvalley.language.plots import plot_ic_distribution, plot_references


def markov_widget(data_config, seed: int = 0):
    """α, vocabulary and length of the language: redraws the IC distribution and the reference
    predictors' accuracy per split. ``data_config`` is the language sample of the static figures
    (``presets.markov_run(scale).data``, a :class:`~loopvalley.looped.runs.DataConfig`); the widget
    changes its ``markov`` fields and draws ``data_config.sample(seed)``, so its defaults are the
    static call.

    Introduced in notebooks/03_markov_language.
    """
    from dataclasses import replace

    import ipywidgets as W


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
