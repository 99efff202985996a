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
    assert "not written yet" in capsys.readouterr().out


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
