"""Shared test settings: the lib tests always compute (the run cache CI enables for its second
notebook pass, ``$LOOPVALLEY_RUN_CACHE``, is switched off inside every test)."""

import pytest


@pytest.fixture(autouse=True)
def _no_run_cache(monkeypatch):
    monkeypatch.delenv("LOOPVALLEY_RUN_CACHE", raising=False)
