"""The claims ledger, the experiment registry and the command line."""

import json

import pytest

from loopvalley import claims as C
from loopvalley.__main__ import main
from loopvalley.experiments import Context, load_all, register, reproduce, REGISTRY
from loopvalley.scales import by_scale, current_scale


def _claim(value, **kw):
    return C.check(
        "X1", "x is big", "x ≫ 1", {"x": value}, lambda m: m["x"] > 10,
        rule="x > 10", scale="ci", seeds=[0, 1], fails_because="x is small", **kw,
    )


def test_verdict_is_computed_from_measured():
    assert _claim(11.0).holds is True
    bad = _claim(3.0)
    assert bad.holds is False and bad.note == "x is small"


def test_summary_statistics():
    s = C.summary([1.0, 2.0, 3.0])
    assert s["mean"] == pytest.approx(2.0) and s["min"] == 1.0 and s["max"] == 3.0
    assert s["std"] == pytest.approx((2 / 3) ** 0.5, rel=1e-5) and s["per_seed"] == [1.0, 2.0, 3.0]


def test_assert_verdicts():
    ok, bad = _claim(11.0), _claim(3.0)
    assert "X1: holds" in C.assert_verdicts([ok])
    with pytest.raises(AssertionError, match="X1 expected to hold"):
        C.assert_verdicts([bad])
    assert "does NOT hold" in C.assert_verdicts([bad], {"X1": False})
    with pytest.raises(AssertionError, match="not measured"):
        C.assert_verdicts([ok], {"Z9": True})


def test_ledger_files(tmp_path):
    js, md = C.write_ledger([_claim(11.0), _claim(3.0)], tmp_path)
    rows = json.loads(js.read_text())
    assert [set(r) >= {"id", "statement", "paper", "measured", "holds", "scale", "seeds"} for r in rows] == [True, True]
    assert rows[1]["holds"] is False
    text = md.read_text()
    assert "| claim | paper | measured | verdict |" in text
    assert "x is small" in text  # the plain sentence for a failing claim


def test_scales(monkeypatch):
    monkeypatch.setenv("LOOPVALLEY_SCALE", "small")
    assert current_scale() == "small"
    assert current_scale("paper") == "paper"
    assert by_scale("ci", ci=1, small=2, paper=3) == 1
    with pytest.raises(ValueError, match="scale"):
        current_scale("huge")
    monkeypatch.setenv("LOOPVALLEY_SCALE", "bogus")
    with pytest.raises(ValueError, match="scale"):
        current_scale()


def test_reproduce_writes_ledger(tmp_path):
    @register("_dummy", ["D1"], "test experiment")
    def _run(ctx: Context):
        return [C.check("D1", "s", "p", {"n": len(ctx.seeds_or(2))}, lambda m: m["n"] == 2,
                        rule="n == 2", scale=ctx.scale, seeds=ctx.seeds_or(2))]

    try:
        got = reproduce(only=["_dummy"], scale="ci", out=tmp_path, progress=False)
        assert [c.id for c in got] == ["D1"] and got[0].holds
        assert (tmp_path / "claims.json").exists() and (tmp_path / "REPORT.md").exists()
        got = reproduce(only=["_dummy"], scale="ci", seeds=3, out=tmp_path, progress=False)
        assert not got[0].holds and got[0].seeds == [0, 1, 2]
    finally:
        REGISTRY.pop("_dummy")


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
        reproduce(only=[], scale="ci", seeds=0, out=tmp_path)


def test_report_survives_non_finite_numbers(tmp_path):
    c = C.check("N1", "s", "p", {"x": C.summary([1.0, float("inf")]), "y": float("nan")},
                lambda m: m["y"] is None, rule="y is NaN", scale="ci", seeds=[0, 1])
    assert c.holds and c.measured["y"] is None and c.measured["x"]["mean"] == "inf"
    _, md = C.write_ledger([c], tmp_path)
    assert "x = inf" in md.read_text()
