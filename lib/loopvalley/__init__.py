"""loopvalley: the river-valley view of looped transformers, as a small library.

A teaching companion to Gong, Teng & Liu, *What Makes Looped Transformers Perform Better
Than Non-Recursive Ones (Provably)* (arXiv 2510.10089). Each module holds one concept; each
public function's docstring names the notebook that teaches it.
"""

__version__ = "0.2.0"

from loopvalley.scales import SCALES, current_scale  # noqa: F401
