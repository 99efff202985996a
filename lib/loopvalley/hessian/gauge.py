"""The attention block's gauge symmetries: directions of the Hessian that are the same "river" in
every arm, and the spectrum with them projected out.

Attention scores depend on W_Q and W_K only through W_Qᵀ W_K, and the head's output on W_V and W_O
only through W_O W_V. So for every invertible A, B (d_h × d_h, per head and per layer)

    W_Q → A W_Q,   W_K → A⁻ᵀ W_K,   W_V → B W_V,   W_O → W_O B⁻¹

leaves the loss unchanged: the loss is constant along a 2·d_h²-dimensional orbit per head and layer.
Its tangent directions at the current weights, obtained at A = I + εE, B = I + εF,

    δW_Q = E W_Q,   δW_K = −Eᵀ W_K,   δW_V = F W_V,   δW_O = −W_O F,

are a structural "river": the gradient is orthogonal to them and the loss is flat along them to
first order, in every arm alike (a single d = 16 attention layer: 512 of its 1024 directions). The
spectrum a student compares across arms should also be read with them projected out
(:class:`ProjectedHessian`).

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

from collections import defaultdict

import torch

from loopvalley.hessian.operator import Hessian

SUFFIXES = ("W_Q.weight", "W_K.weight", "W_V.weight", "W_O.weight")


def _layers(H: Hessian) -> dict:
    """``{layer prefix: {"W_Q": name, …}}`` of the attention weights in ``H`` (one entry for a shared
    layer, one per layer of an untied stack)."""
    out: dict = defaultdict(dict)
    for name in H.names:
        for suf in SUFFIXES:
            if name.endswith(suf):
                out[name[: -len(suf)]][suf.split(".")[0]] = name
    return {k: v for k, v in out.items() if len(v) == 4}


def gauge_tangents(H: Hessian, n_heads: int = 1) -> torch.Tensor:
    """The gauge orbit's tangent vectors at H's weights, as the columns of a ``(n, r)`` matrix in H's
    parameter order (r = 2·n_heads·d_h² per attention layer in ``H``; zero rows for every other
    parameter). ``n_heads``: the heads of every layer (the rows of W_Q split into ``n_heads`` blocks).

    Introduced in notebooks/05_hessian_dynamics.
    """
    layers = _layers(H)
    if not layers:
        raise ValueError("H has no complete attention layer (W_Q, W_K, W_V, W_O) among its parameters")
    named = {k: H.theta[H.slices[k]].view(s) for k, s in zip(H.names, H.shapes)}
    cols = []
    for names in layers.values():
        WQ, WK, WV, WO = (named[names[k]] for k in ("W_Q", "W_K", "W_V", "W_O"))  # (A, d), (A, d), (A, d), (d, A)
        A = WQ.shape[0]
        if A % n_heads:
            raise ValueError(f"n_heads = {n_heads} does not divide the attention width {A}")
        dh = A // n_heads
        for h in range(n_heads):
            rows = slice(h * dh, (h + 1) * dh)
            for a in range(dh):
                for b in range(dh):
                    # E = e_a e_bᵀ on head h: δW_Q = E W_Q (row a gets W_Q[b]), δW_K = −Eᵀ W_K (row b gets −W_K[a])
                    t = torch.zeros(H.n, dtype=H.dtype, device=H.device)
                    q = torch.zeros_like(WQ)
                    q[rows][a] = WQ[rows][b]
                    k = torch.zeros_like(WK)
                    k[rows][b] = -WK[rows][a]
                    t[H.slices[names["W_Q"]]] = q.reshape(-1)
                    t[H.slices[names["W_K"]]] = k.reshape(-1)
                    cols.append(t)
                    # F = e_a e_bᵀ on head h: δW_V = F W_V (row a gets W_V[b]), δW_O = −W_O F (column b gets −W_O[:, a])
                    t = torch.zeros(H.n, dtype=H.dtype, device=H.device)
                    v = torch.zeros_like(WV)
                    v[rows][a] = WV[rows][b]
                    o = torch.zeros_like(WO)
                    o[:, rows][:, b] = -WO[:, rows][:, a]
                    t[H.slices[names["W_V"]]] = v.reshape(-1)
                    t[H.slices[names["W_O"]]] = o.reshape(-1)
                    cols.append(t)
    return torch.stack(cols, dim=1)  # (n, r)


class ProjectedHessian:
    """PHP with P = I − T(TᵀT)⁻¹Tᵀ: the Hessian with the gauge directions (or any columns ``T``)
    projected out, in the parameter coordinates. Its spectrum is the complement's (CᵀHC for an
    orthonormal basis C of the complement) plus ``n_gauge`` exact zeros — which no statistic of the
    family counts (each weighs an eigenvalue by |λ| or counts |λ| above a threshold), so the family of
    PHP is the family of the complement. ``hvp`` as a Hessian's, so every spectrum function of
    :mod:`loopvalley.hessian.spectra` takes it.

    Introduced in notebooks/05_hessian_dynamics.
    """

    def __init__(self, H: Hessian, T: torch.Tensor | None = None, n_heads: int = 1):
        self.H = H
        self.T = gauge_tangents(H, n_heads) if T is None else T.to(H.dtype)  # (n, r)
        self._L = torch.linalg.cholesky(self.T.T @ self.T)  # TᵀT = L Lᵀ, (r, r)
        self.n, self.n_gauge = H.n, int(self.T.shape[1])
        self.dtype, self.device = H.dtype, H.device

    @property
    def n_hvp(self) -> int:
        return self.H.n_hvp

    def project(self, v: torch.Tensor) -> torch.Tensor:
        """P v = v − T (TᵀT)⁻¹ Tᵀ v for v of shape (n,) or (k, n)."""
        rhs = (v @ self.T).reshape(-1, self.n_gauge).T  # Tᵀ v: (r, k)
        x = torch.cholesky_solve(rhs, self._L)  # (TᵀT)⁻¹ Tᵀ v
        return v - (self.T @ x).T.reshape(v.shape)

    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        """(PHP) v for v of shape (n,) or (k, n)."""
        return self.project(self.H.hvp(self.project(v)))
