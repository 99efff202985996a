"""Shared test settings: the lib tests always compute (the run cache CI enables for its second
notebook pass, ``$LOOPVALLEY_RUN_CACHE``, is switched off inside every test); ``use_rules`` swaps the
rules table for one test."""

import pytest


@pytest.fixture(autouse=True)
def _no_run_cache(monkeypatch):
    monkeypatch.delenv("LOOPVALLEY_RUN_CACHE", raising=False)


@pytest.fixture
def use_rules(tmp_path, monkeypatch):
    """``use_rules(text)``: the rules table (:mod:`loopvalley.rules`) is ``text`` (TOML) for this test;
    returns the file. The table's caches are cleared on the way in and out."""
    from loopvalley import rules as R

    def use(text: str):
        f = tmp_path / "rules.toml"
        f.write_text(text, encoding="utf-8")
        monkeypatch.setattr(R, "RULES_FILE", f)
        R._raw.cache_clear()
        R.table.cache_clear()
        return f

    yield use
    R._raw.cache_clear()
    R.table.cache_clear()
