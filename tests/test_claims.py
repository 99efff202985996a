"""The claims ledger: margins → intervals → three-valued verdicts; seeds; the registry; the CLI."""

import math

import numpy as np
import pytest
from scipy import stats

from loopvalley import claims as C
from loopvalley import rules as R
from loopvalley import seeds as S
from loopvalley.__main__ import main
from loopvalley.registry import REGISTRY, Context, load_all, register, reproduce
from loopvalley.scales import current_scale
from loopvalley.stats import mean_interval, median_interval, seeds_for_power, t_quantile

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
    js, md = C.write_ledger(claims, tmp_path, forest="forest.png", meta={"scale": "ci"})
    rows = C.load_ledger(js)
    assert [r["verdict"] for r in rows] == ["holds", "inconclusive"] and rows[1]["holds"] is False
    head = C.load_ledger_meta(js)
    assert head["rules_hash"] == R.table_hash() and head["scale"] == "ci"
    text = md.read_text()
    assert "| claim | kind | statement | verdict | margin [95 % interval] | seeds | seeds for 80 % power |" in text
    assert "forest.png" in text and "**inconclusive**" in text and "decided on seeds 1000–1002" in text
    assert C.verdict_table(rows) in text and C.scorecard(rows) in text  # the README's tables are functions of the ledger


def test_forest_plot_draws_every_claim():
    import matplotlib

    matplotlib.use("Agg")
    from loopvalley.forest import forest_alt_text, plot_forest, standardised

    claims = [_claim({"a": [1.0, 1.1, 0.9]}), _claim({"a": [-3.0, -2.9, -3.1]}),
              _claim({"a": [math.nan]}, deterministic=True, seeds=[], exploratory_seeds=[], kind="identity",
                     why="an identity")]
    fig = plot_forest(claims)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert sum(t.startswith("X1  ") for t in texts) == 2  # the two empirical rows, with their numbers
    assert any("X1 (identity" in t for t in texts)  # the identity listed apart, without an effect size
    alt = forest_alt_text(claims)
    assert "holds: X1" in alt and "fails: X1" in alt and "Listed apart" in alt
    d, lo, hi = standardised(claims[0].to_json())  # mean / s, interval / s
    s = np.std([1.0, 1.1, 0.9], ddof=1)
    assert (d, lo, hi) == pytest.approx((claims[0].margin / s, claims[0].ci_low / s, claims[0].ci_high / s))


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


# -- the rules table, robustness, kinds ---------------------------------------------------------------

PLANTED = """
[X2]
chapter = "04"
experiment = "planted"
kind = "empirical"
statement = "x is positive"
paper = "[INF] x > 0"
rule = "per seed, x − {c} with window {w}"
version = "1"
parts = [ { key = "a", name = "x − c", unit = "points" } ]
params = { c = 0.0 }
choices = [ { key = "w", name = "window", main = 1, alternatives = [2, 3] } ]

[X3]
chapter = "02"
experiment = "planted"
kind = "identity"
deterministic = true
why = "it is an identity"
statement = "one equals one"
paper = "[INF] 1 = 1"
rule = "1e-9 − |1 − 1|"
version = "1"
parts = [ { key = "a", name = "1e-9 − error" } ]
"""


@pytest.fixture
def planted_rules(use_rules):
    return use_rules(PLANTED)


def test_the_shipped_rules_table_is_complete():
    """Every entry parses; empirical claims declare alternatives; the others say why they hold; every
    rule text fills its placeholders from its params and main choices (plus run-time numbers)."""
    import string

    rules = R.table()
    assert rules, "rules.toml is empty"
    for cid, r in rules.items():
        names = {f for _, f, _, _ in string.Formatter().parse(r.rule) if f}
        extra = {k: 1 for k in names - set(r.params) - set(r.main)}  # numbers a run supplies (e.g. a horizon)
        assert r.text(**extra)
        assert r.kind != "empirical" or (r.choices and all(c.alternatives for c in r.choices)), cid
        assert r.kind == "empirical" or r.why, cid
        assert r.paper.startswith("["), f"{cid}: the paper's wording is tagged by its source"


def test_judge_recomputes_every_declared_alternative(planted_rules):
    base = np.array([1.0, 1.2, 0.9, 1.1, 1.0])
    c = C.judge("X2", lambda spec: {"a": list(base - 0.75 * (spec["w"] - 1))}, scale="small", seeds=CONF)
    assert c.verdict == "holds" and c.kind == "empirical" and c.chapter == "04"
    windows = [a for a in c.alternatives if a["key"] == "w"]
    assert [a["value"] for a in windows] == [2, 3]
    assert windows[0]["verdict"] == "holds" and windows[1]["verdict"] == "fails"  # w = 3 shifts every margin by −1.5
    assert c.robust is False and c.flips == ["window = 3"] and c.status == "fragile"
    assert c.rule == "per seed, x − 0 with window 1" and c.rule_hash == R.rule("X2").hash


def test_leave_one_seed_out_catches_a_knife_edge(planted_rules):
    """The S4 margins of the old ledger: an interval just above 0, carried by one seed — fragile."""
    knife = [2.87, 10.73, 10.41, 9.93, -0.25]
    c = C.judge("X2", lambda spec: {"a": knife}, scale="small", seeds=CONF)
    assert c.verdict == "holds" and c.status == "fragile"
    assert any(f.startswith("without seed") for f in c.flips)
    strong = C.judge("X2", lambda spec: {"a": [10.0, 11.0, 9.5, 10.5, 10.2]}, scale="small", seeds=CONF)
    assert strong.robust is True and strong.status == "holds"


def test_identities_are_two_valued_and_never_fragile(planted_rules):
    c = C.judge("X3", {"a": [1e-9]}, scale="small", seeds=[])
    assert c.deterministic and c.verdict == "holds" and c.robust is None and c.status == "holds"
    assert c.kind == "identity" and c.why == "it is an identity"
    assert "identity" in C.status_text(c.to_json())


def test_a_malformed_rule_is_a_clear_error(use_rules):
    use_rules(PLANTED.replace('kind = "identity"', 'kind = "obvious"'))
    with pytest.raises(ValueError, match="X3.*kind"):
        R.table()
    use_rules(PLANTED)
    with pytest.raises(ValueError, match="no entry"):
        R.rule("NOPE")


def test_sign_interval_covers_the_median_of_a_bimodal_mixture():
    """Distribution-free: margins from a two-mode mixture (seeds that finished a climb and seeds that
    did not) — the t interval's normality fails, the sign-test interval keeps its coverage."""
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(2000):
        x = np.where(rng.random(10) < 0.4, rng.normal(7, 0.5, 10), rng.normal(-2, 0.5, 10))
        _, lo, hi, cov = median_interval(x)
        hits += lo <= -0.25 <= hi or lo <= 6.0 <= hi  # the mixture's median lies between the modes' inner tails
    assert cov == pytest.approx(1 - 2 * 11 / 1024)
    m, lo, hi, cov5 = median_interval([6.9, -2.4, -1.6, -2.3, 7.3])
    assert (m, lo, hi) == (-1.6, -2.4, 7.3) and cov5 == pytest.approx(1 - 2 / 32)


def test_seeds_for_power_reaches_80_percent():
    """At the n it returns, the exact power of the two-sided t test (noncentral t) is ≥ 0.8, and one
    seed fewer falls short (up to the formula's approximation)."""
    for margins in ([2.87, 10.73, 10.41, 9.93, -0.25], [0.2, -0.1, 0.4, 0.1, 0.3], [6.9, -2.4, -1.6, -2.3, 7.3]):
        a = np.asarray(margins)
        d = abs(a.mean()) / a.std(ddof=1)
        n = seeds_for_power(margins)

        def power(k):
            crit = stats.t.ppf(0.975, k - 1)
            return 1 - stats.nct.cdf(crit, k - 1, d * np.sqrt(k)) + stats.nct.cdf(-crit, k - 1, d * np.sqrt(k))

        assert power(n) >= 0.78 and (n <= 3 or power(n - 1) < 0.82)
    assert seeds_for_power([1.0, 1.0, 1.0]) is None


def test_inconclusive_claims_say_how_many_seeds_would_settle_them():
    c = _claim({"a": [6.9, -2.4, -1.6, -2.3, 7.3]})
    assert c.verdict == "inconclusive" and c.seeds_needed > 50  # measurement-limited, not seed-limited
    assert "measurement-limited" in C.verdict_table([c.to_json()])


def test_a_main_analysis_this_run_did_not_record_is_inconclusive_and_says_why(planted_rules):
    """A --max-steps smoke run ends before the step a rule reads: the claim is 'not measured', the run goes on."""
    def margins(spec):
        raise C.NotMeasured("anchor step 20 is past this run's last probe (10)")

    c = C.judge("X2", margins, scale="small", seeds=CONF)
    assert c.verdict == "inconclusive" and c.margin is None and c.robust is None and c.alternatives == []
    assert "not measured in this run: anchor step 20" in c.note
    d = C.not_measured("X2", "no probe", scale="small", seeds=CONF)
    assert d.verdict == "inconclusive" and "no probe" in d.note
