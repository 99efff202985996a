"""Chapter 06's exercise checker: check_flops_per_forward accepts the reference, an independent count and
the stub, and names the mistake of plausible wrong counts (one test per mistake)."""

import re

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from loopvalley.checking import ExerciseError
from loopvalley.looped.models import ModelConfig, looped_attn
from loopvalley.scale.exercises_ch06 import check_flops_per_forward, flops_per_forward_reference


def by_hand(B, T, d, V, n):
    return n * (8 * B * T * d * d + 4 * B * T * T * d) + 2 * B * T * d * V


def test_reference_is_what_torch_counts():
    """Independent truth: PyTorch's FLOP counter on the explicit (math) attention path."""
    B, T, d, V = 3, 10, 8, 5
    model = looped_attn(ModelConfig(vocab_size=V, max_len=T, d_model=d), 3)
    model.backend = "math"
    x = torch.randint(0, V, (B, T))
    for n in (1, 3):
        with FlopCounterMode(display=False) as fc:
            model(x, n_loops=n)
        assert fc.get_total_flops() == flops_per_forward_reference(B, T, d, V, n)


@pytest.mark.parametrize("fn", [by_hand, flops_per_forward_reference])
def test_accepts_correct_implementations(fn):
    assert check_flops_per_forward(fn) is fn


def test_stub_falls_back(capsys):
    def stub(*args):
        raise NotImplementedError

    assert check_flops_per_forward(stub) is flops_per_forward_reference
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("fn, message", [
    (lambda B, T, d, V, n: by_hand(B, T, d, V, n) / 2, "a multiply–add is 2 FLOPs"),
    (lambda B, T, d, V, n: n * 8 * B * T * d * d + 2 * B * T * d * V, "the attention's own products are missing"),
    (lambda B, T, d, V, n: n * (8 * B * T * d * d + 2 * B * T * T * d) + 2 * B * T * d * V, "only one of the two T × T products"),
    (lambda B, T, d, V, n: n * (6 * B * T * d * d + 4 * B * T * T * d) + 2 * B * T * d * V, "a projection is missing"),
    (lambda B, T, d, V, n: n * (8 * B * T * d * d + 4 * B * T * T * d + 2 * B * T * d * V), "the readout is paid once"),
    (lambda B, T, d, V, n: n * (8 * B * T * d * d + 4 * B * T * T * d), "the readout W_out (d → V, 2·B·T·d·V) is missing"),
    (lambda B, T, d, V, n: by_hand(1, T, d, V, n), "multiply by the batch"),
])
def test_rejects_plausible_mistakes(fn, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_flops_per_forward(fn)
