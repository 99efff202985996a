"""Chapter 06's exercise: the FLOPs of a looped forward pass, counted by hand.

``flops_per_forward(B, T, d, V, n_loops)``: the floating-point operations of one forward pass of the
one-head, attention-only Looped-Attn of notebook 04 (width d, vocabulary V) on B sequences of T
tokens, counting every matrix product (a multiply–add is 2 FLOPs) and nothing elementwise.
:func:`check_flops_per_forward` compares it with :func:`loopvalley.looped.models.forward_flops` and
names the usual mistakes: a multiply–add counted once, the T × T attention products left out (or only
one of them), a projection missing, the readout paid at every loop, the batch forgotten.

Introduced in notebooks/06_full_gpu_training.
"""

from __future__ import annotations

from typing import Callable

from loopvalley.checking import _np, close, guided_checks, shape_hint
from loopvalley.looped.models import ModelConfig, forward_flops


def flops_per_forward_reference(B: int, T: int, d: int, V: int, n_loops: int) -> float:
    """FLOPs of one forward pass of the attention-only, one-head looped model: the library's
    :func:`loopvalley.looped.models.forward_flops` for ``ModelConfig(vocab_size=V, max_len=T, d_model=d)``.

    Introduced in notebooks/06_full_gpu_training.
    """
    cfg = ModelConfig(vocab_size=int(V), max_len=max(int(T), 2), d_model=int(d))
    return forward_flops(cfg, int(n_loops), int(B), int(T))


_CASES = [
    ((64, 32, 32, 3, 3), "the ci preset: B = 64, T = 32, d = 32, V = 3, Looped-Attn"),
    ((64, 32, 32, 3, 1), "the same at 1 loop (Single-Attn)"),
    ((1, 1, 1, 2, 1), "the smallest model: B = T = d = 1, V = 2"),
    ((8, 128, 64, 50, 4), "a longer sequence and a larger vocabulary, 4 loops"),
]


def _parts(B, T, d, V):
    proj = 2 * B * T * d * d  # one d×d projection of B·T vectors
    mix = 2 * B * T * T * d  # one T×T·d product (Q Kᵀ, or A V)
    read = 2 * B * T * d * V  # the readout
    return proj, mix, read


def _hints():
    B, T, d, V, n = 16, 24, 20, 7, 3  # every term has its own size
    want = flops_per_forward_reference(B, T, d, V, n)
    proj, mix, read = _parts(B, T, d, V)

    def shape(fn):
        return shape_hint(fn(B, T, d, V, n), float(want), "the FLOP count")

    def count(fn):
        got = float(_np(fn(B, T, d, V, n)))
        if close(got, want / 2):
            return "it is half the count: a multiply–add is 2 FLOPs (an (a×b)·(b×c) product costs 2·a·b·c)"
        if close(got, n * 4 * proj + read):
            return ("the attention's own products are missing: Q Kᵀ (T × T scores) and the mix A V, each "
                    "2·B·T²·d — the term that grows with T²")
        if close(got, n * (4 * proj + mix) + read):
            return "only one of the two T × T products is counted: there are Q Kᵀ *and* A V"
        if close(got, n * (3 * proj + 2 * mix) + read):
            return "a projection is missing: W_Q, W_K, W_V *and* W_O, four d × d maps per loop"
        if close(got, n * (4 * proj + 2 * mix + read)):
            return "the readout is paid once, after the last loop, not at every loop"
        if close(got, n * (4 * proj + 2 * mix)):
            return "the readout W_out (d → V, 2·B·T·d·V) is missing"
        if close(got, want / B):
            return f"it is the count for one sequence: multiply by the batch B = {B}"
        return None

    return [shape, count]


def check_flops_per_forward(fn: Callable) -> Callable:
    """Check a student's ``flops_per_forward(B, T, d, V, n_loops)`` (five integers → a number) against
    :func:`loopvalley.looped.models.forward_flops`; returns the function to use next.

    Introduced in notebooks/06_full_gpu_training.
    """
    return guided_checks("flops_per_forward", fn, flops_per_forward_reference, _CASES, _hints())
