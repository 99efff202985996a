"""Chapter 07's exercise checker: check_gradient_coherence accepts the reference, an independent
implementation and the stub, and names the mistake of plausible wrong ones; the reference is the
equation the SHIFT controller records."""

import math
import re
from types import SimpleNamespace

import pytest
import torch

from loopvalley.checking import ExerciseError
from loopvalley.shift.controller import ShiftConfig, ShiftController
from loopvalley.shift.exercises_ch07 import check_gradient_coherence, gradient_coherence_reference


def brute_coherence(grads):
    k, n = grads.shape
    s = [sum(float(grads[j, i]) for j in range(k)) for i in range(n)]
    norms = [math.sqrt(sum(float(grads[j, i]) ** 2 for i in range(n))) for j in range(k)]
    return math.sqrt(sum(x * x for x in s)) / sum(norms) if sum(norms) > 0 else 0.0


def test_reference_against_planted_windows():
    g = torch.randn(1, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert gradient_coherence_reference(g.repeat(6, 1)) == pytest.approx(1.0)  # aligned steps
    assert gradient_coherence_reference(torch.cat([g, -g, g, -g])) == pytest.approx(0.0, abs=1e-15)  # hopping
    assert gradient_coherence_reference(torch.zeros(4, 3)) == 0.0
    noise = torch.randn(400, 2000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert gradient_coherence_reference(noise) == pytest.approx(1 / math.sqrt(400), rel=0.05)  # iid: 1/√k
    G = torch.randn(5, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert gradient_coherence_reference(G) == pytest.approx(brute_coherence(G), rel=1e-12)
    with pytest.raises(ValueError, match="grads"):
        gradient_coherence_reference(torch.ones(3))


def test_reference_is_what_the_controller_records():
    """Feed ShiftController a planted gradient per step: its ρ_t at the check is the reference's."""
    model = torch.nn.Linear(3, 2, bias=False)
    model.n_loops = 1  # what the controller records beside ρ_t
    ctl = ShiftController(ShiftConfig(check_every=5, act=False))
    grads = torch.randn(5, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    trainer = SimpleNamespace(model=model, step=0, record=SimpleNamespace(train_loss=[]))
    for t in range(1, 6):
        trainer.step = t
        trainer.record.train_loss.append(1.0 / t)
        model.weight.grad = grads[t - 1].view(2, 3).float()
        ctl(trainer)
    want = gradient_coherence_reference(grads.float().double())
    assert ctl.history["coherence"][-1] == pytest.approx(want, rel=1e-6)


def test_accepts_a_correct_implementation(capsys):
    assert check_gradient_coherence(brute_coherence) is brute_coherence
    assert "✓ gradient_coherence passes" in capsys.readouterr().out


def test_stub_falls_back_to_the_reference(capsys):
    def stub(grads):
        raise NotImplementedError

    assert check_gradient_coherence(stub) is gradient_coherence_reference
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda g: float(g.norm(dim=1).sum() / g.sum(0).norm()), "upside down"),
    (lambda g: float(g.mean(0).norm() / g.norm(dim=1).sum()), "factor 1/k"),
    (lambda g: float(g.sum(0).norm() / g.norm(dim=1).mean()), "factor k"),
    (lambda g: float(g.sum(0).norm() ** 2 / (g.norm(dim=1) ** 2).sum()), "squared"),
    (lambda g: float(g.sum(1).norm() / g.norm(dim=0).sum()), "over the parameters"),
    (lambda g: float(g.sum(0).norm() / g.norm(dim=1).sum()), "NaN (0 / 0)"),
    (lambda g: g.sum(0) / g.norm(dim=1).sum(), "one number"),
])
def test_names_the_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_gradient_coherence(wrong)


# -- scp_switch (the mechanism) ---------------------------------------------------------------------
from loopvalley.shift.controller import switch_criterion  # noqa: E402
from loopvalley.shift.exercises_ch07 import (  # noqa: E402
    _scp_variant,
    check_scp_switch,
    check_shift_flop_fraction,
    scp_switch_reference,
    shift_flop_fraction_reference,
)


def scp_by_hand(loss, coherence, delta1, delta2, patience):
    count = 0
    for t in range(1, len(loss)):
        r = (loss[t - 1] - loss[t]) / loss[t - 1]
        count = count + 1 if (r < delta1 and coherence[t] < delta2) else 0
        if count >= patience:
            return t
    return None


def test_scp_reference_is_the_controllers_criterion():
    h = {"loss": [1.0, 0.9, 0.9, 0.89, 0.89, 0.889], "coherence": [0.1] * 6, "step": [0, 25, 50, 75, 100, 125]}
    fire = scp_switch_reference(h["loss"], h["coherence"], 0.02, 0.2, 3)
    assert fire == scp_by_hand(h["loss"], h["coherence"], 0.02, 0.2, 3) == 4
    assert switch_criterion(h, 0.02, 0.2, 3) == h["step"][fire]


@pytest.mark.parametrize("fn", [scp_by_hand, scp_switch_reference])
def test_scp_accepts_correct_implementations(fn):
    assert check_scp_switch(fn) is fn


def test_scp_stub_falls_back(capsys):
    def stub(*args):
        raise NotImplementedError

    assert check_scp_switch(stub) is scp_switch_reference
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("kw, message", [
    (dict(first=True), "check 0 has no previous loss"),
    (dict(reset=False), "the patience counter is not reset"),
    (dict(both=False), "both conditions"),
    (dict(late=True), "it fires one check late"),
    (dict(relative=False), "r_t is *relative*"),
    (dict(sign=-1), "the improvement has the wrong sign"),
])
def test_scp_rejects_plausible_mistakes(kw, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_scp_switch(lambda L, rho, d1, d2, W: _scp_variant(L, rho, d1, d2, W, **kw))


def test_scp_asks_for_none_when_it_never_fires():
    with pytest.raises(ExerciseError, match=re.escape("return None then")):
        check_scp_switch(lambda *args: scp_by_hand(*args) or False)


# -- shift_flop_fraction (the derivation's result) ---------------------------------------------------
def fraction_by_hand(s, T_L, S, c, phi):
    return (T_L - s * (phi - c)) / S


def test_fraction_reference_is_the_bound_at_phi_one_and_saves_only_above_c():
    from loopvalley.shift.controller import flop_ratio_bound

    assert shift_flop_fraction_reference(150, 600, 600, 0.34, 1.0) == pytest.approx(flop_ratio_bound(150, 600, 600, 0.34))
    assert shift_flop_fraction_reference(150, 600, 600, 0.34, 0.34) == pytest.approx(1.0)  # φ = c: no saving
    assert shift_flop_fraction_reference(150, 600, 600, 0.34, 0.2) > 1.0  # φ < c: SHIFT costs more


@pytest.mark.parametrize("fn", [fraction_by_hand, shift_flop_fraction_reference])
def test_fraction_accepts_correct_implementations(fn):
    assert check_shift_flop_fraction(fn) is fn


@pytest.mark.parametrize("fn, message", [
    (lambda s, T_L, S, c, phi: (T_L - s * (1 - c)) / S, "it ignores φ"),
    (lambda s, T_L, S, c, phi: T_L - s * (phi - c), "divide by S"),
    (lambda s, T_L, S, c, phi: (s + T_L - phi * s) / S, "a Single step costs only c"),
    (lambda s, T_L, S, c, phi: (T_L - s * (phi - c) + 1) / S, "counting step by step gives"),
])
def test_fraction_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_shift_flop_fraction(fn)


def test_the_coherence_checker_accepts_its_reference():
    from loopvalley.shift.exercises_ch07 import gradient_coherence_reference

    assert check_gradient_coherence(gradient_coherence_reference) is gradient_coherence_reference
