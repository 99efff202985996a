"""The Hessian of the training loss: products, spectra, traces, and the paper's river/valley split.

Everything here works on one fixed batch: H = ∇²_θ L(θ; batch) at the model's current weights,
restricted to a chosen set of parameters (all of them, or blocks such as W_Q, W_K, W_V, output).

- :class:`Hessian` — the operator (checked by :func:`finite_difference_hvp`). ``H.hvp(v)`` is a Hessian-vector product by double backward
  through a gradient graph built once per Hessian (``method="reverse"``, the default: on our
  models it is 3–5× faster than forward-over-reverse, ``method="forward"``, and costs 1.2–1.8
  gradients; see ``benchmarks/hessian_speed.py``); ``H.dense()`` is the full matrix for small models.
  Second derivatives run in float64 (optional), in eval mode, on the explicit attention path
  (the fused CPU softmax kernel has no double backward).
- Eigenvalues: :func:`lanczos` (top-k with full reorthogonalisation and residuals ‖Hv − λv‖),
  :func:`power_iteration` (deflated, as PyHessian does it: slower and noisier, for teaching).
- Traces and densities: :func:`hutchinson`, :func:`hutch_plus_plus`, :func:`slq` (stochastic
  Lanczos quadrature) with :func:`density`.
- The paper's split (Definition 1): river = {|λ| ≤ ε}, valley = {λ > ε}; :func:`kappa_valley`,
  :func:`n_low_valley` (valley eigenvalues below τ), :func:`spectral_entropy`,
  :func:`spectrum_summary`.
- Tracking: :class:`SpectrumProbe` records spectra during training (the trainer's probe protocol).

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch.func import functional_call, grad, jvp

from ._validate import check_choice, check_int, check_positive, check_range

# ----------------------------------------------------------------------------------------------
# Parameter blocks

# Short names for the parameter blocks of :class:`loopvalley.models.LoopedAttn`.
PARAM_BLOCKS = {
    "W_Q": ("attn.W_Q.weight",),
    "W_K": ("attn.W_K.weight",),
    "W_V": ("attn.W_V.weight",),
    "W_O": ("attn.W_O.weight",),
    "attention": ("attn.W_Q.weight", "attn.W_K.weight", "attn.W_V.weight", "attn.W_O.weight"),
    "output": ("readout.weight",),
    "embedding": ("embed.weight", "pos"),
}
HVP_METHODS = ("reverse", "forward")
WHICH = ("LA", "SA", "LM")


def select_params(model: torch.nn.Module, params=None) -> list[str]:
    """Names of the trainable parameters a Hessian is taken over, in the model's order.

    ``params``: ``None`` (all), or a name / list of names, each a block of :data:`PARAM_BLOCKS`
    (``"W_Q"``, ``"attention"``, ``"output"`` ...) or an exact parameter name (``"attn.W_K.weight"``).

    Introduced in notebooks/05_hessian_dynamics.
    """
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    if params is None:
        chosen = set(trainable)
    else:
        wanted = [params] if isinstance(params, str) else list(params)
        chosen = set()
        for w in wanted:
            names = PARAM_BLOCKS.get(w, (w,))
            unknown = [n for n in names if n not in trainable]
            if unknown:
                raise ValueError(
                    f"params: {w!r} is not a block ({', '.join(PARAM_BLOCKS)}) or a trainable "
                    f"parameter ({', '.join(trainable)})"
                )
            chosen.update(names)
    if not chosen:
        raise ValueError("params selects no parameter: pass None (all) or at least one name")
    return [n for n in trainable if n in chosen]


@contextlib.contextmanager
def second_order_mode(model: torch.nn.Module):
    """Eval mode + the explicit attention path (double-backward safe) inside this block.

    Sets ``model.backend = "math"`` when the model has one (:class:`LoopedAttn`) and restricts
    ``F.scaled_dot_product_attention`` to its math kernel for any other model.

    Introduced in notebooks/05_hessian_dynamics.
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel

    was_training = model.training
    old_backend = getattr(model, "backend", None)
    model.eval()
    if old_backend is not None:
        model.backend = "math"
    try:
        with sdpa_kernel(SDPBackend.MATH):
            yield model
    finally:
        model.train(was_training)
        if old_backend is not None:
            model.backend = old_backend


class _Bound:
    """``model`` with its parameters replaced by ``params`` (a dict), callable like the model."""

    def __init__(self, model, params):
        self._model, self._params = model, params

    def __call__(self, *args, **kwargs):
        return functional_call(self._model, self._params, args, kwargs)

    def __getattr__(self, name):
        return getattr(self._model, name)


# ----------------------------------------------------------------------------------------------
# The operator


class Hessian:
    """H = ∇²_θ L(θ) of ``loss_fn(model, batch)`` at the model's current weights, as an operator.

    ``params`` picks the parameters θ (see :func:`select_params`); the others stay fixed.
    ``dtype`` (default float64) is the precision of every product. The weights are copied when
    the Hessian is made, so training the model afterwards does not change it.

    - ``H.n`` — the dimension; ``H.names``/``H.slices`` — where each parameter sits in θ.
    - ``H.hvp(v)`` — H v for ``v`` of shape ``(n,)`` or ``(k, n)`` (k products, batched).
    - ``H.dense()`` — the (n, n) matrix, built from n products (small models only).
    - ``H.n_hvp`` — how many products have been computed (vectors, not calls).

    ``method="reverse"`` differentiates the gradient ∇L (kept as a graph, built once) along v:
    Hv = ∇_θ ⟨∇L(θ), v⟩ — one backward pass per product. ``method="forward"`` pushes v forward
    through the gradient function instead: Hv = d/dt ∇L(θ + t v) at t = 0 (``torch.func.jvp``
    of ``torch.func.grad``). Both give the same numbers; ``benchmarks/hessian_speed.py`` times them.

    Introduced in notebooks/05_hessian_dynamics.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: Callable,
        batch,
        params=None,
        dtype: torch.dtype = torch.float64,
        method: str = "reverse",
    ):
        self.method = check_choice("method", method, HVP_METHODS)
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
        self.model, self.loss_fn, self.batch, self.dtype = model, loss_fn, batch, dtype
        self.names = select_params(model, params)
        named = dict(model.named_parameters())
        self.device = named[self.names[0]].device
        # every other parameter and buffer, frozen and cast to dtype
        self._fixed = {k: p.detach().to(dtype) for k, p in named.items() if k not in self.names}
        self._fixed.update(
            {k: (b.to(dtype) if b.is_floating_point() else b) for k, b in model.named_buffers()}
        )
        self.shapes = [named[k].shape for k in self.names]
        self.sizes = [named[k].numel() for k in self.names]
        offsets = np.cumsum([0] + self.sizes)
        self.slices = {k: slice(int(a), int(b)) for k, a, b in zip(self.names, offsets[:-1], offsets[1:])}
        # θ = concatenation of the selected parameters: (n,)
        self.theta = torch.cat([named[k].detach().to(dtype).reshape(-1) for k in self.names])
        self.n = int(self.theta.numel())
        self.n_hvp = 0
        self._graph = None  # (θ leaf, ∇L(θ) with create_graph=True), built on first use

    # -- the loss as a function of θ ----------------------------------------------------------------
    def _params(self, theta: torch.Tensor) -> dict:
        """θ (n,) → {name: tensor of the parameter's shape}, plus the frozen rest."""
        out = dict(self._fixed)
        for k, t, s in zip(self.names, theta.split(self.sizes), self.shapes):
            out[k] = t.view(s)
        return out

    def loss_at(self, theta: torch.Tensor) -> torch.Tensor:
        """L(θ) on the fixed batch (differentiable in θ)."""
        with second_order_mode(self.model):
            return self.loss_fn(_Bound(self.model, self._params(theta)), self.batch)

    def loss(self) -> float:
        """L(θ₀) at the Hessian's weights."""
        with torch.no_grad():
            return float(self.loss_at(self.theta))

    def _gradient_graph(self):
        if self._graph is None:
            theta = self.theta.clone().requires_grad_(True)
            with torch.enable_grad():
                (g,) = torch.autograd.grad(self.loss_at(theta), theta, create_graph=True)  # ∇L: (n,)
            self._graph = (theta, g)
        return self._graph

    def gradient(self) -> torch.Tensor:
        """∇L(θ₀): (n,)."""
        return self._gradient_graph()[1].detach().clone()

    # -- products -------------------------------------------------------------------------------------
    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        """H v for one vector ``(n,)`` or a batch ``(k, n)`` (returns the same shape).

        Introduced in notebooks/05_hessian_dynamics.
        """
        v = torch.as_tensor(v)
        if v.shape[-1] != self.n or v.dim() not in (1, 2):
            raise ValueError(f"v must have shape ({self.n},) or (k, {self.n}), got {tuple(v.shape)}")
        v = v.to(self.dtype).to(self.device)
        if v.dim() == 2:
            self.n_hvp += v.shape[0]
            if self.method == "reverse":
                theta, g = self._gradient_graph()
                # H V = ∇_θ ⟨∇L, V_i⟩ for each row (vmapped backward)
                return torch.autograd.grad(g, theta, v, retain_graph=True, is_grads_batched=True)[0]
            return torch.func.vmap(self._hvp_forward)(v)  # (k, n)
        self.n_hvp += 1
        if self.method == "reverse":
            theta, g = self._gradient_graph()
            return torch.autograd.grad(g, theta, v, retain_graph=True)[0]  # Hv = ∇_θ ⟨∇L, v⟩
        return self._hvp_forward(v)

    def _hvp_forward(self, v: torch.Tensor) -> torch.Tensor:
        # Hv = d/dt ∇L(θ + t v) |_{t=0}
        return jvp(grad(self.loss_at), (self.theta,), (v,))[1]

    def __matmul__(self, v):
        return self.hvp(v)

    def dense(self, chunk: int = 8) -> torch.Tensor:
        """The full Hessian (n, n), column block by column block (``chunk`` products per batched
        call; batching saves 10–20 % on our models), symmetrised as (H + Hᵀ)/2 to remove rounding
        asymmetry.

        Introduced in notebooks/05_hessian_dynamics.
        """
        chunk = check_int("chunk", chunk, 1)
        eye = torch.eye(self.n, dtype=self.dtype, device=self.device)
        if chunk == 1:
            cols = [self.hvp(e) for e in eye]
        else:
            cols = [self.hvp(eye[i : i + chunk]) for i in range(0, self.n, chunk)]
            cols = [c for block in cols for c in block]
        Hm = torch.stack(cols)  # row i = H e_i = column i (H symmetric): (n, n)
        return 0.5 * (Hm + Hm.T)

    def block(self, H_dense: torch.Tensor, rows: str, cols: str | None = None) -> torch.Tensor:
        """The sub-block of a dense Hessian for parameters ``rows`` × ``cols`` (exact names)."""
        r, c = self.slices[rows], self.slices[cols or rows]
        return H_dense[r, c]


def finite_difference_hvp(H: Hessian, v: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    """The check every HVP should pass: Hv ≈ (∇L(θ + h v) − ∇L(θ − h v)) / 2h (central difference,
    error O(h²) plus rounding O(ε_machine/h)). Two gradients, no second derivative.

    Introduced in notebooks/05_hessian_dynamics.
    """
    h = check_positive("h", h)

    def grad_at(theta):
        theta = theta.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            return torch.autograd.grad(H.loss_at(theta), theta)[0]

    v = torch.as_tensor(v).to(H.dtype).to(H.device)
    return (grad_at(H.theta + h * v) - grad_at(H.theta - h * v)) / (2 * h)  # (∇L(θ+hv) − ∇L(θ−hv)) / 2h


def hessian(model, loss_fn, batch, params=None, dtype=torch.float64, method="reverse") -> Hessian:
    """Shortcut for :class:`Hessian`. Introduced in notebooks/05_hessian_dynamics."""
    return Hessian(model, loss_fn, batch, params=params, dtype=dtype, method=method)


# ----------------------------------------------------------------------------------------------
# Operators: a Hessian, a dense symmetric matrix, or any (matvec, n)


class _Operator:
    """A symmetric linear operator: ``matvec(v)``, ``n``, ``dtype``, ``device``, ``n_hvp``."""

    def __init__(self, H):
        if isinstance(H, Hessian):
            self.H, self.n, self.dtype, self.device = H, H.n, H.dtype, H.device
            self._mv = H.hvp
        elif isinstance(H, torch.Tensor):
            if H.dim() != 2 or H.shape[0] != H.shape[1]:
                raise ValueError(f"H must be a square matrix, got shape {tuple(H.shape)}")
            self.H, self.n, self.dtype, self.device = H, H.shape[0], H.dtype, H.device
            self._mv = lambda v: v @ H  # (…, n) @ (n, n): H symmetric, so v Hᵀ = (H v)ᵀ
        else:
            raise ValueError("H must be a loopvalley.hessian.Hessian or a square torch.Tensor")
        self.count = 0

    def __call__(self, v):
        self.count += 1 if v.dim() == 1 else v.shape[0]
        return self._mv(v)


def _check_k(k, n, name="k"):
    k = check_int(name, k, 1)
    if k > n:
        raise ValueError(f"{name} must be <= the Hessian's dimension n={n}, got {k}")
    return k


def _random_unit(n, generator, dtype, device):
    v = torch.randn(n, generator=generator, dtype=torch.float64).to(dtype=dtype, device=device)
    return v / v.norm()


# ----------------------------------------------------------------------------------------------
# Lanczos


@dataclass
class EigResult:
    """Eigenvalues (sorted as requested), optional eigenvectors ``(k, n)``, the residuals
    ‖H v_i − λ_i v_i‖ (explicit, or the Lanczos estimate |β_m s_{m,i}|), and the cost.

    Introduced in notebooks/05_hessian_dynamics."""

    eigenvalues: torch.Tensor  # (k,)
    eigenvectors: torch.Tensor | None  # (k, n) or None
    residuals: torch.Tensor  # (k,)
    n_hvp: int  # Hessian-vector products used
    n_iter: int  # Lanczos steps (or power iterations)
    converged: bool
    history: list = field(default_factory=list)  # power iteration: (products so far, i, λ estimate)


def _lanczos_basis(matvec, v0, m, *, tol=None, k=None, which="LA", check=None):
    """m Lanczos steps from ``v0`` with full reorthogonalisation ("twice is enough").

    Builds Q = [q_1 … q_m] with H Q_m = Q_m T_m + β_m q_{m+1} e_mᵀ, T_m tridiagonal (α on the
    diagonal, β off it). Stops early at an invariant subspace (β ≈ 0) or, when ``tol`` is given,
    once the top-k Ritz values have residual estimates |β_m s_{m,i}| ≤ tol·|θ_i|.
    Returns ``(alphas, betas, Q, beta_last)``.
    """
    n = v0.numel()
    Q = torch.zeros(m + 1, n, dtype=v0.dtype, device=v0.device)  # rows are the Lanczos vectors
    Q[0] = v0 / v0.norm()
    alphas, betas = [], []
    scale = 0.0
    for j in range(m):
        w = matvec(Q[j])  # H q_j
        alpha = float(Q[j] @ w)  # α_j = q_jᵀ H q_j
        # w ← w − Q Qᵀ w, twice: removes α_j q_j, β_{j−1} q_{j−1} and every rounding leak
        for _ in range(2):
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        beta = float(w.norm())  # β_j = ‖w‖
        alphas.append(alpha)
        scale = max(scale, abs(alpha) + beta)
        if beta <= 1e-10 * max(scale, 1e-300) or j + 1 == n:  # invariant subspace: T is exact
            betas.append(0.0)
            break
        betas.append(beta)
        Q[j + 1] = w / beta
        if tol is not None and j + 1 >= k and check(alphas, betas, tol, k, which):
            break
    return alphas, betas, Q[: len(alphas)], betas[-1]


def _tridiag(alphas, betas, dtype=torch.float64):
    m = len(alphas)
    T = torch.diag(torch.tensor(alphas, dtype=dtype))
    if m > 1:
        off = torch.tensor(betas[: m - 1], dtype=dtype)
        T = T + torch.diag(off, 1) + torch.diag(off, -1)
    return T  # (m, m)


def _order(theta, which):
    if which == "LA":
        return torch.argsort(theta, descending=True)
    if which == "SA":
        return torch.argsort(theta)
    return torch.argsort(theta.abs(), descending=True)


def _ritz_errors(theta, S, beta, idx):
    """Error bounds of the Ritz values θ_i (i in ``idx``): residual r_i = |β_m s_{m,i}| and, with
    the gap δ_i to the nearest other Ritz value, the refined bound min(r_i, r_i²/δ_i)."""
    res = (beta * S[-1, idx]).abs()  # ‖H y_i − θ_i y_i‖ = |β_m s_{m,i}|
    d = (theta[idx][:, None] - theta[None, :]).abs()  # (k, m)
    d[torch.arange(len(idx)), idx] = float("inf")
    gap = d.min(dim=1).values  # δ_i
    return res, torch.minimum(res, res**2 / gap.clamp_min(1e-300))


def _ritz_converged(alphas, betas, tol, k, which):
    theta, S = torch.linalg.eigh(_tridiag(alphas, betas))
    idx = _order(theta, which)[:k]
    _, err = _ritz_errors(theta, S, betas[-1], idx)
    return bool((err <= tol * theta[idx].abs().clamp_min(1e-300)).all())


def lanczos(
    H,
    k: int = 10,
    *,
    which: str = "LA",
    tol: float = 1e-8,
    max_iter: int | None = None,
    generator: torch.Generator | None = None,
    return_vectors: bool = False,
    explicit_residuals: bool = True,
) -> EigResult:
    """Top-k eigenpairs of H by Lanczos with full reorthogonalisation.

    Runs Lanczos from a random start until every wanted Ritz value θ_i has an error estimate
    below ``tol``·|θ_i|, or for ``max_iter`` steps (default min(n, max(4k, 200))). The estimate
    is min(r_i, r_i²/δ_i), with residual r_i = |β_m s_{m,i}| and δ_i the gap to the nearest
    other Ritz value. For a symmetric matrix the error is at most r_i (Bauer–Fike) and about
    r_i²/δ_i once the neighbours are resolved.
    ``which``: "LA" largest, "SA" smallest, "LM" largest |λ|. With ``explicit_residuals`` the
    reported residuals are ‖H v − λ v‖ computed with k more products (batched).

    Introduced in notebooks/05_hessian_dynamics.
    """
    op = _Operator(H)
    k = _check_k(k, op.n)
    check_choice("which", which, WHICH)
    check_positive("tol", tol)
    m = min(op.n, max(4 * k, 200)) if max_iter is None else check_int("max_iter", max_iter, k, op.n)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    v0 = _random_unit(op.n, g, op.dtype, op.device)
    alphas, betas, Q, beta_last = _lanczos_basis(op, v0, m, tol=tol, k=k, which=which, check=_ritz_converged)
    theta, S = torch.linalg.eigh(_tridiag(alphas, betas))  # Ritz values θ, T = S diag(θ) Sᵀ
    idx = _order(theta, which)[:k]
    lam = theta[idx]  # (k,)
    est, err = _ritz_errors(theta, S, beta_last, idx)  # residuals |β_m s_{m,i}|, error estimates
    converged = bool((err <= tol * lam.abs().clamp_min(1e-300)).all())
    vecs = None
    if return_vectors or explicit_residuals:
        vecs = S[:, idx].T.to(Q.dtype).to(Q.device) @ Q  # Ritz vectors y_i = Q s_i: (k, n)
    res = est
    if explicit_residuals:
        HV = op(vecs)  # (k, n)
        res = (HV - lam.to(HV.dtype)[:, None] * vecs).norm(dim=1).to(torch.float64).cpu()  # ‖Hy − θy‖
    return EigResult(lam, vecs if return_vectors else None, res, op.count, len(alphas), converged)


def ritz_history(H, n_steps: int, k: int = 5, *, generator: torch.Generator | None = None) -> np.ndarray:
    """The top-k Ritz values after each Lanczos step (one product per step): ``(n_steps, k)``,
    nan where fewer than k exist yet. Shows how Lanczos converges, largest eigenvalues first.

    Introduced in notebooks/05_hessian_dynamics.
    """
    op = _Operator(H)
    m = _check_k(n_steps, op.n, "n_steps")
    k = check_int("k", k, 1)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    alphas, betas, _, _ = _lanczos_basis(op, _random_unit(op.n, g, op.dtype, op.device), m)
    out = np.full((m, k), np.nan)
    for j in range(len(alphas)):
        theta = torch.linalg.eigvalsh(_tridiag(alphas[: j + 1], betas[: j + 1])).flip(0)[:k]  # Ritz values of T_j
        out[j, : theta.numel()] = theta.numpy()
    out[len(alphas):] = out[len(alphas) - 1]  # an invariant subspace was found: the values are final
    return out


# ----------------------------------------------------------------------------------------------
# Deflated power iteration (PyHessian's method)


def power_iteration(
    H,
    k: int = 10,
    *,
    tol: float = 1e-4,
    max_iter: int = 1000,
    generator: torch.Generator | None = None,
) -> EigResult:
    """Top-k eigenpairs (largest |λ|) by power iteration, deflating the pairs already found.

    For i = 1..k: v ← H v / ‖H v‖ with v kept orthogonal to v_1..v_{i−1}, until the Rayleigh
    quotient λ = vᵀHv changes by less than ``tol`` (relative). Converges at rate |λ_{i+1}/λ_i|
    per step, so close eigenvalues take many products and the stopping test can stop early:
    slower and noisier than :func:`lanczos`; taught for comparison (this is PyHessian's method).

    Introduced in notebooks/05_hessian_dynamics.
    """
    op = _Operator(H)
    k = _check_k(k, op.n)
    check_positive("tol", tol)
    max_iter = check_int("max_iter", max_iter, 1)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    found, values, res, iters, ok, history = [], [], [], 0, True, []

    def deflate(v):
        for u in found:  # v ← v − (uᵀv) u
            v = v - (u @ v) * u
        return v

    for _ in range(k):
        v = deflate(_random_unit(op.n, g, op.dtype, op.device))
        v = v / v.norm()
        lam_old, conv = None, False
        for _ in range(max_iter):
            iters += 1
            w = op(v)  # H v
            lam = float(v @ w)  # Rayleigh quotient λ = vᵀ H v
            history.append((op.count, len(found), lam))
            w = deflate(w)
            if lam_old is not None and abs(lam - lam_old) <= tol * max(abs(lam_old), 1e-300):
                conv = True
                break
            lam_old = lam
            v = w / w.norm()
        ok &= conv
        res.append(float((op(v) - lam * v).norm()))  # ‖Hv − λv‖
        found.append(v)
        values.append(lam)
    return EigResult(
        torch.tensor(values, dtype=torch.float64), torch.stack(found), torch.tensor(res), op.count, iters, ok,
        history,
    )


# ----------------------------------------------------------------------------------------------
# Traces


@dataclass
class TraceResult:
    """A trace estimate with its standard error and cost. Introduced in notebooks/05_hessian_dynamics."""

    estimate: float  # the trace estimate
    std_err: float  # its standard error (Hutchinson; nan for Hutch++)
    n_hvp: int


def _rademacher(k, n, generator, dtype, device):
    z = torch.randint(0, 2, (k, n), generator=generator).to(dtype=dtype, device=device)
    return 2 * z - 1  # entries ±1: E[z zᵀ] = I


def hutchinson(H, n_samples: int = 100, *, generator: torch.Generator | None = None, chunk: int = 1) -> TraceResult:
    """Hutchinson's trace estimate tr H ≈ (1/m) Σ_i z_iᵀ H z_i, z_i Rademacher (±1 entries).

    Unbiased; standard error σ/√m shrinks slowly (error ∝ ‖H‖_F/√m).

    Introduced in notebooks/05_hessian_dynamics.
    """
    op = _Operator(H)
    m = check_int("n_samples", n_samples, 1)
    chunk = check_int("chunk", chunk, 1)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    Z = _rademacher(m, op.n, g, op.dtype, op.device)  # (m, n)
    vals = []
    for i in range(0, m, chunk):
        z = Z[i : i + chunk]
        HZ = op(z[0]).unsqueeze(0) if chunk == 1 else op(z)
        vals.append((z * HZ).sum(1))  # z_iᵀ H z_i
    q = torch.cat(vals).to(torch.float64).cpu()
    se = float(q.std() / math.sqrt(m)) if m > 1 else float("nan")
    return TraceResult(float(q.mean()), se, op.count)


def hutch_plus_plus(H, n_hvp: int = 99, *, generator: torch.Generator | None = None) -> TraceResult:
    """Hutch++ (Meyer, Musco, Musco & Woodruff 2021): exact trace on a sketched top subspace plus
    Hutchinson on the rest. With s = ⌊m/3⌋: Q = orth(H S), S (n, s) Rademacher;

        tr H ≈ tr(Qᵀ H Q) + (1/s) tr(Gᵀ (I − QQᵀ) H (I − QQᵀ) G),   G (n, s) Rademacher.

    Uses m products (3s); error ∝ 1/m instead of 1/√m; exact when s ≥ n.

    Introduced in notebooks/05_hessian_dynamics.
    """
    op = _Operator(H)
    m = check_int("n_hvp", n_hvp, 3)
    s = m // 3
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    S = _rademacher(s, op.n, g, op.dtype, op.device)  # (s, n)
    G = _rademacher(s, op.n, g, op.dtype, op.device)  # (s, n)
    Q = torch.linalg.qr(op(S).T).Q  # orthonormal basis of range(H S): (n, min(n, s))
    HQ = op(Q.T.contiguous())  # (q, n)
    t_top = float(torch.einsum("in,ni->", HQ, Q))  # tr(Qᵀ H Q)
    G_perp = G - (G @ Q) @ Q.T  # (I − QQᵀ) G, row-wise: (s, n)
    t_rest = float((G_perp * op(G_perp)).sum() / s)  # (1/s) tr(G⊥ᵀ H G⊥)
    return TraceResult(t_top + t_rest, float("nan"), op.count)


# ----------------------------------------------------------------------------------------------
# Stochastic Lanczos quadrature


@dataclass
class SLQResult:
    """Quadrature nodes θ and weights w of each random start: the spectral density is
    φ(t) ≈ (1/n_v) Σ_v Σ_j w_{v,j} δ(t − θ_{v,j}); Σ_j w_{v,j} = 1.

    Introduced in notebooks/05_hessian_dynamics."""

    nodes: list  # n_v tensors (m_v,)
    weights: list  # n_v tensors (m_v,)
    n: int  # the Hessian's dimension
    n_hvp: int

    def moment(self, f: Callable) -> float:
        """(1/n) tr f(H) ≈ (1/n_v) Σ_v Σ_j w_{v,j} f(θ_{v,j})."""
        return float(np.mean([float((w * f(t)).sum()) for t, w in zip(self.nodes, self.weights)]))


def slq(
    H,
    n_vectors: int = 4,
    n_steps: int = 80,
    *,
    generator: torch.Generator | None = None,
    starts: torch.Tensor | None = None,
) -> SLQResult:
    """Stochastic Lanczos quadrature: the spectral density of H from ``n_vectors`` random starts.

    For a unit start v, m Lanczos steps give T_m = S diag(θ) Sᵀ, and the Gauss quadrature
    vᵀ f(H) v ≈ Σ_j (S_{1j})² f(θ_j), exact for polynomials f of degree < 2m. Averaging over
    random v (E[v vᵀ] = I/n) estimates (1/n) tr f(H) = ∫ f dφ. The starts are Rademacher
    vectors unless ``starts`` ``(n_vectors, n)`` is given.

    Introduced in notebooks/05_hessian_dynamics.
    """
    op = _Operator(H)
    nv = check_int("n_vectors", n_vectors, 1)
    m = check_int("n_steps", n_steps, 1)
    m = min(m, op.n)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    if starts is None:
        starts = _rademacher(nv, op.n, g, op.dtype, op.device)  # (n_vectors, n)
    elif tuple(starts.shape) != (nv, op.n):
        raise ValueError(f"starts must have shape ({nv}, {op.n}), got {tuple(starts.shape)}")
    nodes, weights = [], []
    for v0 in starts.to(op.dtype).to(op.device):
        alphas, betas, _, _ = _lanczos_basis(op, v0, m)
        theta, S = torch.linalg.eigh(_tridiag(alphas, betas))
        nodes.append(theta)
        weights.append(S[0] ** 2)  # w_j = (e_1ᵀ s_j)²
    return SLQResult(nodes, weights, op.n, op.count)


def density(result: SLQResult, grid, sigma: float) -> np.ndarray:
    """The SLQ spectral density smoothed by a Gaussian of width ``sigma`` on ``grid``:
    φ_σ(t) = (1/n_v) Σ_v Σ_j w_{v,j} N(t; θ_{v,j}, σ²). Integrates to 1.

    Introduced in notebooks/05_hessian_dynamics.
    """
    check_positive("sigma", sigma)
    t = np.asarray(grid, dtype=float)[:, None]
    out = np.zeros(t.shape[0])
    for th, w in zip(result.nodes, result.weights):
        th, w = th.cpu().numpy()[None], w.cpu().numpy()[None]
        out += (w * np.exp(-0.5 * ((t - th) / sigma) ** 2)).sum(1) / (sigma * math.sqrt(2 * math.pi))
    return out / len(result.nodes)


# ----------------------------------------------------------------------------------------------
# The paper's river/valley split (Definition 1) and summaries of a spectrum


def _eigs(eigs) -> np.ndarray:
    a = eigs.detach().cpu().numpy() if isinstance(eigs, torch.Tensor) else np.asarray(eigs)
    a = np.asarray(a, dtype=float).ravel()
    if a.size == 0:
        raise ValueError("eigs must contain at least one eigenvalue")
    if not np.isfinite(a).all():
        raise ValueError("eigs must be finite")
    return a


def river_valley_split(eigs, eps: float) -> dict:
    """Split eigenvalues by the threshold ε (paper's Definition 1):

    - river:    |λ| ≤ ε (flat directions);
    - valley:   λ > ε (steep walls: positive curvature);
    - negative: λ < −ε (descent directions: neither river nor valley; counted, kept out of κ).

    Returns boolean masks ``{"river", "valley", "negative"}`` (numpy, one per eigenvalue).

    Introduced in notebooks/05_hessian_dynamics.
    """
    a = _eigs(eigs)
    eps = check_positive("eps", eps, allow_zero=True)
    return {"river": np.abs(a) <= eps, "valley": a > eps, "negative": a < -eps}


def valley_eigenvalues(eigs, eps: float) -> np.ndarray:
    """The valley eigenvalues {λ > ε}, ascending. Introduced in notebooks/05_hessian_dynamics."""
    a = _eigs(eigs)
    return np.sort(a[river_valley_split(a, eps)["valley"]])


def kappa_valley(eigs, eps: float) -> float:
    """κ(H_valley) = λ_max / λ_min over the valley eigenvalues λ > ε (nan when there are none).

    Negative eigenvalues (λ < −ε) are not valley walls and are left out; so κ ≤ λ_max/ε, and
    κ depends on ε — the sensitivity the notebook shows.

    Introduced in notebooks/05_hessian_dynamics.
    """
    v = valley_eigenvalues(eigs, eps)
    return float(v[-1] / v[0]) if v.size else float("nan")  # κ = λ_max(H_V) / λ_min(H_V)


def n_low_valley(eigs, eps: float, tau: float) -> int:
    """#{ε < λ < τ}: valley eigenvalues below τ (low-curvature walls; Assumption 1 (i)).

    Introduced in notebooks/05_hessian_dynamics.
    """
    eps = check_positive("eps", eps, allow_zero=True)
    tau = check_positive("tau", tau)
    if tau <= eps:
        raise ValueError(f"tau must be > eps, got tau={tau!r}, eps={eps!r}")
    v = valley_eigenvalues(eigs, eps)
    return int((v < tau).sum())


def low_valley_eigenvalues(eigs, eps: float, tau: float) -> np.ndarray:
    """The valley eigenvalues below τ, ascending (the ones Assumption 1 compares component-wise).

    Introduced in notebooks/05_hessian_dynamics.
    """
    n_low_valley(eigs, eps, tau)  # validates
    v = valley_eigenvalues(eigs, eps)
    return v[v < tau]


def spectral_entropy(eigs) -> float:
    """S = −Σ p_i log p_i with p_i = |λ_i| / Σ_j |λ_j| (nats). exp(S) is the *effective number*
    of curvature directions: 1 if one eigenvalue carries all the mass, n if all are equal.

    Introduced in notebooks/05_hessian_dynamics.
    """
    a = np.abs(_eigs(eigs))
    total = a.sum()
    if total == 0:
        return 0.0
    p = a[a > 0] / total  # p_i = |λ_i| / Σ|λ_j|
    return float(-(p * np.log(p)).sum())


def thresholds(eigs, eps_rel: float = 1e-3, tau_rel: float = 1e-2) -> tuple[float, float]:
    """Absolute (ε, τ) = (eps_rel, tau_rel) × λ_max: thresholds relative to the steepest wall.

    Relative thresholds make the split scale-free (multiplying the loss by c leaves it unchanged)
    and compare what the optimiser sees: the step η λ_i relative to η λ_max.

    Introduced in notebooks/05_hessian_dynamics.
    """
    eps_rel = check_range("eps_rel", eps_rel, 0.0, 1.0, hi_open=True)
    tau_rel = check_range("tau_rel", tau_rel, 0.0, 1.0, lo_open=True)
    if tau_rel <= eps_rel:
        raise ValueError(f"tau_rel must be > eps_rel, got tau_rel={tau_rel!r}, eps_rel={eps_rel!r}")
    lam_max = float(_eigs(eigs).max())
    if lam_max <= 0:
        raise ValueError("the spectrum has no positive eigenvalue: relative thresholds are undefined")
    return eps_rel * lam_max, tau_rel * lam_max


def spectrum_summary(eigs, eps_rel: float = 1e-3, tau_rel: float = 1e-2) -> dict:
    """Every number the notebook tracks, from one spectrum, with ε = eps_rel·λ_max, τ = tau_rel·λ_max:
    ``lambda_max``, ``lambda_min``, ``trace``, ``n_river``, ``n_valley``, ``n_negative``,
    ``kappa_valley``, ``n_low_valley``, ``entropy``, ``effective_rank`` (= exp(entropy)).

    Introduced in notebooks/05_hessian_dynamics.
    """
    a = _eigs(eigs)
    eps, tau = thresholds(a, eps_rel, tau_rel)
    split = river_valley_split(a, eps)
    S = spectral_entropy(a)
    return {
        "lambda_max": float(a.max()),
        "lambda_min": float(a.min()),
        "trace": float(a.sum()),
        "n_river": int(split["river"].sum()),
        "n_valley": int(split["valley"].sum()),
        "n_negative": int(split["negative"].sum()),
        "kappa_valley": kappa_valley(a, eps),
        "n_low_valley": n_low_valley(a, eps, tau),
        "entropy": S,
        "effective_rank": float(math.exp(S)),
    }


# ----------------------------------------------------------------------------------------------
# Tracking spectra during training


@dataclass
class SpectrumProbe:
    """A trainer probe (``probe(trainer) -> dict | None``) that records the Hessian spectrum of the
    training loss on ``trainer.probe_batch`` every ``every`` steps, or at the steps of an explicit
    schedule ``steps`` (a sorted tuple; e.g. :func:`probe_schedule`, dense early and sparse late).
    With a schedule the probe sets ``every = 1`` and returns ``None`` (nothing recorded) off the
    schedule, except at the trainer's final call at the end of training.

    When the Hessian has at most ``dense_max`` dimensions it stores the full spectrum
    (``eigenvalues``, ascending, from ``torch.linalg.eigvalsh`` of the dense Hessian); otherwise
    the ``top_k`` largest eigenvalues by :func:`lanczos` (``top``, ``residuals``) and an SLQ density
    (``slq_nodes``, ``slq_weights``). Either way it adds :func:`spectrum_summary` numbers
    (computed at ``eps_rel``/``tau_rel``; the stored spectrum lets you recompute them at any
    thresholds), the epoch, the number of loops and the seconds spent.

    Introduced in notebooks/05_hessian_dynamics.
    """

    every: int = 50  # steps between spectra (ignored, set to 1, when ``steps`` is given)
    steps: tuple | None = None  # explicit schedule: the steps to probe at (sorted, distinct, >= 0)
    top_k: int = 10  # eigenvalues from Lanczos when the Hessian is too large for dense
    dense_max: int = 4000  # use the dense Hessian up to this many parameters
    params: object = None  # parameter blocks (see select_params); None = all
    dtype: torch.dtype = torch.float64  # precision of the Hessian products
    eps_rel: float = 1e-3  # river/valley threshold ε as a fraction of λ_max
    tau_rel: float = 1e-2  # low-valley threshold τ as a fraction of λ_max
    slq_vectors: int = 4  # SLQ random starts (large models)
    slq_steps: int = 80  # SLQ Lanczos steps per start (large models)
    loss_fn: Callable | None = None  # default: the trainer's loss_fn
    seed: int = 0  # seeds the random starts
    name: str = "spectrum"  # key in record.probes
    chunk: int = 8  # products per batched call when building the dense Hessian

    def __post_init__(self):
        check_int("every", self.every, 1)
        if self.steps is not None:
            self.steps = tuple(check_int("steps", s, 0) for s in self.steps)
            if not self.steps or any(a >= b for a, b in zip(self.steps, self.steps[1:])):
                raise ValueError(f"steps must be a non-empty, strictly increasing schedule, got {self.steps!r}")
            self.every = 1  # the trainer offers every step; __call__ keeps the scheduled ones
        check_int("top_k", self.top_k, 1)
        check_int("dense_max", self.dense_max, 0)
        thresholds([1.0], self.eps_rel, self.tau_rel)  # validates the pair
        check_int("slq_vectors", self.slq_vectors, 1)
        check_int("slq_steps", self.slq_steps, 1)

    def __call__(self, trainer) -> dict | None:
        if self.steps is not None and int(trainer.step) not in self.steps and not trainer.done:
            return None  # off the schedule (the final call at the end of training always records)
        t0 = time.perf_counter()
        loss_fn = self.loss_fn or getattr(trainer, "loss_fn", None)
        if loss_fn is None:
            from .train import next_token_loss as loss_fn
        H = Hessian(trainer.model, loss_fn, trainer.probe_batch, self.params, self.dtype)
        g = torch.Generator().manual_seed(self.seed + int(trainer.step))
        out = {"epoch": float(getattr(trainer, "epoch", 0)), "n_loops": int(getattr(trainer.model, "n_loops", 1))}
        out["loss"] = H.loss()
        if H.n <= self.dense_max:
            eigs = torch.linalg.eigvalsh(H.dense(self.chunk)).cpu()  # ascending: (n,)
            out["eigenvalues"] = eigs.tolist()
            out["top"] = eigs.flip(0)[: self.top_k].tolist()
        else:
            res = lanczos(H, min(self.top_k, H.n), generator=g, explicit_residuals=True)
            out["top"] = res.eigenvalues.tolist()
            out["residuals"] = res.residuals.tolist()
            d = slq(H, self.slq_vectors, self.slq_steps, generator=g)
            out["slq_nodes"] = [t.tolist() for t in d.nodes]
            out["slq_weights"] = [w.tolist() for w in d.weights]
            eigs = torch.cat(d.nodes)  # Ritz values stand in for the spectrum in the summary
        if float(eigs.max()) > 0:
            out.update(spectrum_summary(eigs, self.eps_rel, self.tau_rel))
        out["n_hvp"] = H.n_hvp
        out["seconds"] = time.perf_counter() - t0
        return out


def probe_schedule(max_steps: int, base=(0, 5, 10, 15, 20, 30, 40, 60, 80, 120, 160, 240, 320, 440, 600),
                   base_steps: int = 600) -> tuple:
    """A probe schedule dense early and sparse late: ``base`` (steps of a ``base_steps``-step run,
    spaced roughly geometrically: every 5 steps up to 20, then ×1.33–1.5) scaled to ``max_steps``,
    rounded, duplicates dropped; always starts at 0 and ends at ``max_steps``. Early training
    changes fastest (the simple patterns are fitted in the first few dozen steps), so that is where
    the probes go.

    Introduced in notebooks/05_hessian_dynamics.
    """
    max_steps = check_int("max_steps", max_steps, 1)
    base_steps = check_int("base_steps", base_steps, 1)
    f = max_steps / base_steps
    out = {0, max_steps} | {min(max_steps, int(round(s * f))) for s in base}  # s · max_steps / base_steps
    return tuple(sorted(out))


def record_spectra(record, name: str = "spectrum") -> tuple[np.ndarray, list]:
    """``(steps, spectra)`` from a run record: the full spectra a :class:`SpectrumProbe` stored
    (ascending numpy arrays), one per probe call.

    Introduced in notebooks/05_hessian_dynamics.
    """
    rows = record.probes[name] if hasattr(record, "probes") else record["probes"][name]
    if "eigenvalues" not in rows:
        raise ValueError(f"probe {name!r} stored no full spectra (the Hessian exceeded dense_max)")
    return np.asarray(rows["step"]), [np.asarray(e, dtype=float) for e in rows["eigenvalues"]]
