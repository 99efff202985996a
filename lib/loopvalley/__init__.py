"""loopvalley: the river-valley view of looped transformers, as a small library.

A teaching companion to Gong, Teng & Liu, *What Makes Looped Transformers Perform Better
Than Non-Recursive Ones (Provably)* (arXiv 2510.10089). One folder per chapter group (``valley``,
``language``, ``looped``, ``hessian``, ``shift``, ``scale``) over a shared core; each public
function's docstring names the notebook that teaches it.

Importing the package first pins the CPU kernels (:mod:`loopvalley.cpu_kernels`), before torch is
imported, so that the same seed gives the same numbers on every x86 machine.
"""

from loopvalley import cpu_kernels

cpu_kernels.pin()  # before torch computes its first kernel

from loopvalley.scales import SCALES, current_scale  # noqa: E402

__version__ = "0.2.0"
__all__ = ["SCALES", "current_scale", "cpu_kernels"]
