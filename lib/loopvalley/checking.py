"""The checker core of the exercises: compare a student's function with a reference on several cases
and say in one sentence what is wrong (:func:`run_checks`, :func:`guided_checks` with targeted hints).

Introduced in notebooks/00_start_here.
"""


from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np
import torch


class ExerciseError(AssertionError):
    """A student's function gave a wrong answer; the message says what is wrong."""


# The one line a checker prints while the student's function is still the stub (and the notebook goes
# on with the library's version): scripts/check_student_release.py looks for it.
NOT_IMPLEMENTED = "not implemented yet"


def not_implemented_notice(name: str) -> str:
    """The checker's notice for a stub that still raises ``NotImplementedError``.

    Introduced in notebooks/00_start_here.
    """
    return (f"… {name} is {NOT_IMPLEMENTED}: the notebook goes on with the library's version "
            "(write yours and rerun this cell to use it).")


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=float)


def diagnose(got, want, name: str = "the result", rtol: float = 1e-6, atol: float = 1e-9) -> str | None:
    """``None`` when ``got`` matches ``want``; otherwise one sentence a student understands: wrong
    type/shape, NaN, off by a constant factor, flipped sign, off by a constant, or the largest error.

    Introduced in notebooks/00_start_here.
    """
    if got is None:
        return f"{name} is None: did you forget to return it?"
    try:
        g, w = _np(got), _np(want)
    except (TypeError, ValueError):
        return f"{name} should be an array or a number, got {type(got).__name__}"
    if g.shape != w.shape:
        return f"{name} has shape {tuple(g.shape)}, expected {tuple(w.shape)}"
    if not np.isfinite(g).all() and np.isfinite(w).all():
        return f"{name} contains NaN or inf"
    if np.allclose(g, w, rtol=rtol, atol=atol):
        return None
    scale = max(float(np.abs(w).max()), atol)
    if np.allclose(g, -w, rtol=rtol, atol=atol):
        return f"{name} has the wrong sign (it is −1 × the expected value)"
    nz = np.abs(w) > 1e-12 * scale
    if nz.any():
        ratio = g[nz] / w[nz]
        if np.allclose(ratio, ratio.flat[0], rtol=1e-6) and np.allclose(g[~nz], 0, atol=atol):
            return f"{name} is off by a constant factor of {float(ratio.flat[0]):.4g}"
    diff = g - w
    if g.size > 1 and np.allclose(diff, diff.flat[0], rtol=0, atol=max(atol, rtol * scale)):
        return f"{name} is off by a constant {float(diff.flat[0]):+.4g}"
    i = np.unravel_index(np.argmax(np.abs(diff)), diff.shape)
    where = f" at index {tuple(int(k) for k in i)}" if g.ndim else ""
    return f"{name} is wrong{where}: got {float(g[i]):.6g}, expected {float(w[i]):.6g}"


def run_checks(name: str, fn: Callable, reference: Callable, cases: Sequence[tuple], *,
               extra: Iterable[Callable[[Callable], str | None]] = (), rtol: float = 1e-6, atol: float = 1e-9,
               quiet: bool = False) -> Callable:
    """Check ``fn`` against ``reference`` on ``cases`` (each a tuple of positional arguments, or
    ``(args, description)``), then on the ``extra`` property checks (each returns a message or
    ``None``). Returns ``fn`` when it passes, ``reference`` (with a notice) while ``fn`` is a stub
    that raises ``NotImplementedError``; raises :class:`ExerciseError` otherwise.

    Introduced in notebooks/00_start_here.
    """
    n = 0
    for case in cases:
        args, label = (case if len(case) == 2 and isinstance(case[1], str) and isinstance(case[0], tuple) else (case, ""))
        try:
            got = fn(*args)
        except NotImplementedError:
            if not quiet:
                print(not_implemented_notice(name))
            return reference
        except ExerciseError:
            raise
        except Exception as e:  # a student's bug: say where, in one line
            raise ExerciseError(f"{name} raised {type(e).__name__}: {e}" + (f" (case: {label})" if label else "")) from e
        msg = diagnose(got, reference(*args), f"{name}'s result", rtol, atol)
        if msg:
            raise ExerciseError(msg + (f" (case: {label})" if label else ""))
        n += 1
    for prop in extra:
        msg = prop(fn)
        if msg:
            raise ExerciseError(f"{name}: {msg}")
        n += 1
    if not quiet:
        print(f"✓ {name} passes all {n} checks")
    return fn


def _args(case):
    """The positional arguments of a case (a tuple of arguments, or ``(args, description)``)."""
    return case[0] if len(case) == 2 and isinstance(case[1], str) and isinstance(case[0], tuple) else case


def shape_hint(got, want, name: str) -> str | None:
    """A sentence when ``got`` has the wrong shape (transposed shapes get a hint), else ``None``.

    Introduced in notebooks/01_river_valley.
    """
    try:
        g, w = _np(got), _np(want)
    except (TypeError, ValueError):
        return f"{name} should be an array or a number, got {type(got).__name__}"
    if g.shape == w.shape:
        return None
    msg = f"{name} has shape {tuple(g.shape)}, expected {tuple(w.shape)}"
    if g.ndim == 2 and g.shape == w.shape[::-1]:
        msg += " (it looks transposed: stack along the last axis)"
    return msg


def guided_checks(name: str, fn: Callable, reference: Callable, cases: Sequence[tuple],
                  hints: Sequence[Callable[[Callable], str | None]] = (), quiet: bool = False) -> Callable:
    """Check ``fn`` like :func:`loopvalley.checking.run_checks`, with targeted ``hints`` first.

    1. ``fn`` raises ``NotImplementedError`` on the first case (the stub as shipped): return the
       reference, with run_checks' notice.
    2. Each hint (``hint(fn) -> message | None``) runs in order; the first message raises
       :class:`~loopvalley.checking.ExerciseError` ("<name>: <message>").
    3. Every case is compared with the reference (run_checks); returns ``fn`` when all pass.

    Introduced in notebooks/01_river_valley.
    """
    try:
        fn(*_args(cases[0]))
    except NotImplementedError:
        return run_checks(name, fn, reference, cases[:1], quiet=quiet)
    except Exception:  # noqa: BLE001 - run_checks reports the student's exception below
        return run_checks(name, fn, reference, cases, quiet=quiet)
    for hint in hints:
        try:
            msg = hint(fn)
        except ExerciseError:
            raise
        except Exception as e:  # a student's bug on a probe input: say so in one line
            raise ExerciseError(f"{name} raised {type(e).__name__}: {e}") from e
        if msg:
            raise ExerciseError(f"{name}: {msg}")
    return run_checks(name, fn, reference, cases, quiet=quiet)


def close(got, want, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """``got`` equals ``want`` (same shape, all close): a hint's test for one plausible mistake.

    Introduced in notebooks/01_river_valley.
    """
    try:
        g, w = _np(got), _np(want)
    except (TypeError, ValueError):
        return False
    return g.shape == w.shape and bool(np.allclose(g, w, rtol=rtol, atol=atol))
