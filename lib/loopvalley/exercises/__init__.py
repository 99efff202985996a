"""Exercises with checkers: a student writes a function, a checker runs it against the library's
reference on several cases (edge cases included) and says *what* is wrong in one sentence.

How an exercise looks in a notebook (ARENA-style)::

    def one_gd_hop(v, lam, eta):
        # YOUR CODE HERE: v_{k+1} = (1 − η λ) ⊙ v_k
        raise NotImplementedError

    one_gd_hop = check_one_gd_hop(one_gd_hop)   # "✓ passes 6 cases", or the reason it does not

A checker returns the function the rest of the notebook should use: the student's own once it
passes, or — while the stub still raises ``NotImplementedError`` (as shipped) — the reference, with
a visible notice, so the notebook runs top to bottom under nbval with the stubs as they are. A
wrong implementation raises :class:`ExerciseError` (an ``AssertionError``) whose message names the
first thing that is wrong. The solution sits in a collapsed ``<details>`` block under the exercise.

Each chapter's checkers live in ``loopvalley.exercises.chNN`` and are re-exported here.

Introduced in notebooks/00_start_here.
"""

from .checking import ExerciseError, close, diagnose, guided_checks, run_checks, shape_hint  # noqa: F401
from .ch01 import check_river_valley_grad  # noqa: F401  (notebooks/01_river_valley)
from .ch02 import check_cumulative_force_bound, check_kappa_valley  # noqa: F401  (notebooks/02_u_vs_v_valleys)
from .ch03 import check_unigram_predictive  # noqa: F401  (notebooks/03_markov_language)
from .ch04 import check_causal_attention, check_previous_token_score  # noqa: F401  (notebooks/04_single_vs_looped)
from .ch05 import check_effective_rank, check_kappa_k  # noqa: F401  (notebooks/05_hessian_dynamics)
from .ch07 import check_gradient_coherence  # noqa: F401  (notebooks/07_shift)
