"""The claims ledger: margins → intervals → three-valued verdicts; seeds; the registry; the CLI."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from loopvalley import claims as C
from loopvalley import seeds as S
from loopvalley.__main__ import main
from loopvalley.registry import REGISTRY, Context, load_all, register, reproduce
from loopvalley.scales import current_scale
from loopvalley.stats import mean_interval, t_quantile

CONF = S.confirmatory(5)
EXPL = S.exploratory(3)


def _claim(margins, **kw):
    base = dict(rule="x > 0", rule_version="1", scale="ci", seeds=CONF[: len(next(iter(margins.values())))],
                exploratory_seeds=EXPL)
    return C.claim_from_margins("X1", "x is positive", "x > 0", margins, **{**base, **kw})


# -- intervals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("df", [1, 2, 4, 9, 30, 200])
@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.999])
def test_t_quantile_matches_scipy(df, p):
    assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9, abs=1e-12)
    assert t_quantile(1 - p, df) == pytest.approx(-stats.t.ppf(p, df), rel=1e-9, abs=1e-12)


def test_mean_interval_matches_scipy():
    x = np.random.default_rng(0).normal(size=7)
    m, lo, hi = mean_interval(x)
    want = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert m == pytest.approx(x.mean()) and (lo, hi) == pytest.approx(want, rel=1e-10)
    with pytest.raises(ValueError, match="values"):
        mean_interval([1.0])
    with pytest.raises(ValueError, match="finite"):
        mean_interval([1.0, math.nan])


def test_interval_coverage_on_planted_normal_margins():
    # 95 % intervals of 5 seeds drawn around a known mean cover it in ≈ 95 % of repetitions
    rng = np.random.default_rng(1)
    hits = [lo <= 0.3 <= hi for lo, hi in (mean_interval(rng.normal(0.3, 1.0, 5))[1:] for _ in range(2000))]
    assert 0.93 < np.mean(hits) < 0.97


# -- verdicts ----------------------------------------------------------------------------------------


def test_three_values_from_the_interval():
    assert _claim({"a": [1.0, 1.2, 0.9, 1.1, 1.0]}).verdict == "holds"
    assert _claim({"a": [-1.0, -1.2, -0.9, -1.1, -1.0]}).verdict == "fails"
    unclear = _claim({"a": [1.0, -1.0, 0.5, -0.4, 0.2]})
    assert unclear.verdict == "inconclusive" and "contains 0" in unclear.note
    assert unclear.holds is False  # the derived boolean


def test_margin_and_interval_are_reported():
    c = _claim({"a": [1.0, 2.0, 3.0]})
    m, lo, hi = mean_interval([1.0, 2.0, 3.0])
    assert (c.margin, c.ci_low, c.ci_high, c.n_seeds) == (pytest.approx(m), pytest.approx(lo), pytest.approx(hi), 3)
    j = c.to_json()
    for k in ("verdict", "margin", "ci_low", "ci_high", "n_seeds", "seeds", "exploratory_seeds", "deterministic",
              "holds", "rule_version", "parts"):
        assert k in j
    assert j["seeds"] == CONF[:3] and j["exploratory_seeds"] == EXPL


def test_weakest_part_decides():
    strong, weak, bad = [2.0, 2.1, 1.9], [0.5, -0.4, 0.3], [-2.0, -2.2, -1.8]
    c = _claim({"strong": strong, "weak": weak})
    assert c.verdict == "inconclusive" and c.deciding_part == "weak"
    c = _claim({"strong": strong, "weak": weak, "bad": bad})
    assert c.verdict == "fails" and c.deciding_part == "bad"  # any failing part fails the conjunction
    c = _claim({"strong": strong, "also": [0.4, 0.5, 0.45]})
    assert c.verdict == "holds" and c.deciding_part == "also"  # the part with the lowest lower end


def test_missing_or_non_finite_numbers_are_inconclusive_never_a_crash():
    for bad in ([1.0, math.nan, 1.0], [1.0, None, 2.0], [1.0, math.inf, 2.0]):
        c = _claim({"a": bad})
        assert c.verdict == "inconclusive" and "missing or not finite" in c.note
    one = _claim({"a": [3.0]})
    assert one.verdict == "inconclusive" and "one seed" in one.note


def test_deterministic_claims_keep_two_values():
    kw = dict(deterministic=True, seeds=[], exploratory_seeds=[])
    assert _claim({"a": [0.5]}, **kw).verdict == "holds"
    c = _claim({"a": [0.0]}, **kw)
    assert c.verdict == "fails" and c.deterministic and c.ci_low == c.ci_high == 0.0
    assert _claim({"a": [math.nan]}, **kw).verdict == "inconclusive"


def test_verdict_seeds_must_differ_from_exploratory_seeds():
    with pytest.raises(ValueError, match="exploratory"):
        _claim({"a": [1.0, 2.0]}, seeds=[0, 1], exploratory_seeds=[1, 2])
    exploration = _claim({"a": [1.0, 2.0]}, seeds=[5, 6], exploratory_seeds=[0])
    assert not exploration.confirmatory and _claim({"a": [1.0, 2.0]}).confirmatory


def test_seed_sets_are_disjoint_and_stable():
    assert set(S.confirmatory(50)).isdisjoint(S.exploratory(100))
    assert S.confirmatory(3) == S.confirmatory(10)[:3]  # adding seeds never changes the ones used
    assert all(S.is_confirmatory(s) for s in S.confirmatory(4)) and not any(map(S.is_confirmatory, S.exploratory(5)))
    a, b = S.data_generator(3), S.data_generator(3)
    assert a.initial_seed() == b.initial_seed() != S.data_generator(4).initial_seed()


def test_assert_verdicts_takes_sets():
    ok, bad = _claim({"a": [1.0, 1.1, 0.9]}), _claim({"a": [-1.0, -1.1, -0.9]})
    assert "X1: holds" in C.assert_verdicts([ok], {"X1": "holds"})
    assert "fails" in C.assert_verdicts([bad], {"X1": {"fails", "inconclusive"}})
    with pytest.raises(AssertionError, match="X1 is fails, expected holds"):
        C.assert_verdicts([bad], {"X1": "holds"})
    with pytest.raises(AssertionError, match="not measured"):
        C.assert_verdicts([ok], {"X1": "holds", "Z9": "holds"})
    with pytest.raises(ValueError, match="unknown verdicts"):
        C.assert_verdicts([ok], {"X1": "maybe"})
    # a set of every verdict cannot fail: refused; such a claim is listed as unchecked instead
    with pytest.raises(ValueError, match="cannot fail"):
        C.assert_verdicts([bad], {"X1": {"holds", "fails", "inconclusive"}})
    assert "not checked" in C.assert_verdicts([bad], {}, unchecked=("X1",))
    with pytest.raises(AssertionError, match="no allowed verdicts"):
        C.assert_verdicts([bad], {})


def test_ledger_files(tmp_path):
    claims = [_claim({"a": [1.0, 1.1, 0.9]}), _claim({"a": [-1.0, 0.5, 0.2]})]
    js, md = C.write_ledger(claims, tmp_path, forest="forest.png")
    rows = json.loads(js.read_text())
    assert [r["verdict"] for r in rows] == ["holds", "inconclusive"] and rows[1]["holds"] is False
    text = md.read_text()
    assert "| claim | statement | verdict | margin [95 % interval] | seeds |" in text
    assert "forest.png" in text and "**inconclusive**" in text and "decided on seeds 1000–1002" in text
    assert C.verdict_table(rows) in text  # the README table is the same function of the ledger


def test_forest_plot_draws_every_claim():
    import matplotlib

    matplotlib.use("Agg")
    from loopvalley.forest import forest_alt_text, plot_forest

    claims = [_claim({"a": [1.0, 1.1, 0.9]}), _claim({"a": [-3.0, -2.9, -3.1]}),
              _claim({"a": [math.nan]}, deterministic=True, seeds=[], exploratory_seeds=[])]
    fig = plot_forest(claims)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["X1"] * 3
    assert "holds: X1" in forest_alt_text(claims) and "fails: X1" in forest_alt_text(claims)


def test_summary_keeps_non_finite_per_seed():
    s = C.summary([1.0, 2.0, 3.0])
    assert s["mean"] == pytest.approx(2.0) and s["per_seed"] == [1.0, 2.0, 3.0]
    s = C.summary([1.0, math.inf])
    assert s["mean"] == 1.0 and s["per_seed"] == [1.0, "inf"] and s["n_not_finite"] == 1


# -- scales, registry, CLI -------------------------------------------------------------------------


def test_scales(monkeypatch):
    monkeypatch.setenv("LOOPVALLEY_SCALE", "small")
    assert current_scale() == "small"
    assert current_scale("paper") == "paper"
    with pytest.raises(ValueError, match="scale"):
        current_scale("huge")
    monkeypatch.setenv("LOOPVALLEY_SCALE", "bogus")
    with pytest.raises(ValueError, match="scale"):
        current_scale()


def test_reproduce_writes_ledger(tmp_path):
    @register("_dummy", ["D1"], "test experiment")
    def _run(ctx: Context):
        seeds = S.confirmatory(ctx.n_seeds or 3)
        return [C.claim_from_margins("D1", "s", "p", {"n": [1.0 + 0.1 * i for i in range(len(seeds))]},
                                     rule="r", rule_version="1", scale=ctx.scale, seeds=seeds, exploratory_seeds=[0])]

    try:
        got = reproduce(only=["_dummy"], scale="ci", out=tmp_path, progress=False)
        assert [c.id for c in got] == ["D1"] and got[0].verdict == "holds" and got[0].n_seeds == 3
        assert (tmp_path / "claims.json").exists() and (tmp_path / "REPORT.md").exists()
        assert (tmp_path / "forest.png").exists() and (tmp_path / "forest.svg").exists()
        got = reproduce(only=["_dummy"], scale="ci", seeds=4, out=tmp_path, progress=False)
        assert got[0].seeds == S.confirmatory(4)
    finally:
        REGISTRY.pop("_dummy")


def test_experiments_side_by_side_write_the_ledger_one_after_another_would(tmp_path):
    """Two experiments at once, each in its own process: the same claims, in the registry's order
    (the first ends last), and the same figures listed, as one after another in this process."""
    import dataclasses
    import os
    import time

    import matplotlib.pyplot as plt

    def experiment(cid, pause):
        def _run(ctx: Context):
            time.sleep(pause)
            fig, ax = plt.subplots()
            ax.plot([0, 1], [0, 1])
            ctx.save_figure(fig, f"fig_{cid}")
            seeds = S.confirmatory(ctx.n_seeds or 3)
            c = C.claim_from_margins(cid, "s", "p", {"n": [1.0 + 0.1 * i for i in range(len(seeds))]},
                                     rule="r", rule_version="1", scale=ctx.scale, seeds=seeds, exploratory_seeds=[0])
            return [dataclasses.replace(c, note=str(os.getpid()))]  # the note says where it ran
        return _run

    register("_slow", ["D1"], "test experiment")(experiment("D1", 0.6))
    register("_fast", ["D2"], "test experiment")(experiment("D2", 0.0))
    try:
        ledgers = {}
        for at_once in (1, 2):
            got = reproduce(only=["_slow", "_fast"], scale="ci", out=tmp_path / str(at_once), progress=False, at_once=at_once)
            assert [c.id for c in got] == ["D1", "D2"]
            pids = {c.note for c in got}
            if at_once == 1:
                assert pids == {str(os.getpid())}
            else:  # each in a process of its own
                assert len(pids) == 2 and str(os.getpid()) not in pids
            ledgers[at_once] = [dataclasses.replace(c, note="").to_json() for c in got]
            report = (tmp_path / str(at_once) / "REPORT.md").read_text()
            assert report.index("fig_D1.png") < report.index("fig_D2.png")
        assert ledgers[1] == ledgers[2]
    finally:
        REGISTRY.pop("_slow")
        REGISTRY.pop("_fast")


def test_unknown_experiment_lists_known_names(capsys):
    known = sorted(load_all())
    with pytest.raises(SystemExit) as e:
        main(["reproduce", "--only", "no-such-experiment", "--scale", "ci"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "no-such-experiment" in err
    for name in known:
        assert name in err


def test_bad_seed_count(tmp_path):
    with pytest.raises(ValueError, match="seeds"):
        reproduce(only=[], scale="ci", seeds=1, out=tmp_path)
