"""The Hessian of the training loss: products, spectra, traces, and the paper's river/valley split.

Everything here works on one fixed batch: H = ∇²_θ L(θ; batch) at the model's current weights,
restricted to a chosen set of parameters (all of them, or blocks such as W_Q, W_K, W_V, output).

- :class:`Hessian` — the operator (checked by :func:`finite_difference_hvp`). ``H.hvp(v)`` is a Hessian-vector product by double backward
  through a gradient graph built once per Hessian (``method="reverse"``, the default: on our
  models it is 3–5× faster than forward-over-reverse, ``method="forward"``, and costs 1.2–1.8
  gradients; see ``benchmarks/hessian_speed.py``); ``H.dense()`` is the full matrix for small models
  (n products pruned by the symmetry H = Hᵀ; ``benchmarks/hessian_dense_speed.py``).
  Second derivatives run in float64 (optional), in eval mode, on the explicit attention path
  (the fused CPU softmax kernel has no double backward).
  With ``group=`` (``torchrun``) each rank holds a shard of the batch and the products are all-reduced.
- Eigenvalues: :func:`lanczos` (top-k with full reorthogonalisation and residuals ‖Hv − λv‖; a warm
  ``start`` from a previous result), :func:`power_iteration` (deflated, as PyHessian does it: slower
  and noisier, for teaching). One recurrence, :func:`lanczos_recurrence`, serves :func:`lanczos`,
  :func:`ritz_history`, :func:`slq` and :func:`loopvalley.hessian.spectra.lanczos_spectrum`.
- Traces and densities: :func:`hutchinson`, :func:`hutch_plus_plus`, :func:`slq` (stochastic
  Lanczos quadrature) with :func:`density`.
- What a spectrum says (the paper's river/valley split, its κ, the statistic family, phases) and
  the probe that records spectra during training live in :mod:`loopvalley.hessian.spectra`.

Introduced in notebooks/05_hessian_dynamics.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
from torch.func import functional_call, grad, jvp
from torch.nn.parallel import DistributedDataParallel

from loopvalley._validate import check_choice, check_int, check_positive
from loopvalley.looped.models import PARAM_BLOCKS, block_params

# ----------------------------------------------------------------------------------------------
# Parameter blocks

HVP_METHODS = ("reverse", "forward")
# Hessian.dense batches products only for batches of at most this many elements (tokens): above it,
# one product per backward pass is faster on CPU (benchmarks/hessian_dense_speed.py).
_BATCHED_UP_TO = 4096
WHICH = ("LA", "SA", "LM")


def select_params(model: torch.nn.Module, params=None) -> list[str]:
    """Names of the trainable parameters a Hessian is taken over, in the model's order.

    ``params``: ``None`` (all), or a name / list of names, each a block of
    :data:`loopvalley.looped.models.PARAM_BLOCKS` (``"W_Q"``, ``"attention"``, ``"output"`` ...; on an
    untied model, every layer's) or an exact parameter name (``"attn.W_K.weight"``).

    Introduced in notebooks/05_hessian_dynamics.
    """
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    if params is None:
        chosen = set(trainable)
    else:
        wanted = [params] if isinstance(params, str) else list(params)
        chosen = set()
        for w in wanted:
            names = [w] if w in trainable else None
            if names is None and w in PARAM_BLOCKS:
                try:
                    names = block_params(model, w)
                except ValueError:
                    names = None
            if names is None:
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


def _numel(batch) -> int:
    """Number of elements of the tensors in ``batch`` (a tensor, or a tuple/list/dict of them)."""
    if isinstance(batch, torch.Tensor):
        return batch.numel()
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (tuple, list)):
        return sum(_numel(b) for b in batch)
    return 0


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
    - ``H.dense()`` — the (n, n) matrix, from n products pruned by symmetry (small models only).
    - ``H.n_hvp`` — how many products have been computed (vectors, not calls).

    ``method="reverse"`` differentiates the gradient ∇L (kept as a graph, built once, with one
    leaf per parameter) along v: Hv = ∇_θ ⟨∇L(θ), v⟩ — one backward pass per product. ``method="forward"`` pushes v forward
    through the gradient function instead: Hv = d/dt ∇L(θ + t v) at t = 0 (``torch.func.jvp``
    of ``torch.func.grad``). Both give the same numbers; ``benchmarks/hessian_speed.py`` times them.

    **Several processes** (``group``: a ``torch.distributed`` process group, e.g. ``dist.group.WORLD``
    under ``torchrun``): ``batch`` is this rank's shard of the batch. Each rank differentiates its own
    shard's loss L_r on the model itself (a ``DistributedDataParallel`` wrapper is unwrapped: double
    backward through DDP raises), and every product, gradient, loss and dense matrix is all-reduced with
    the shard's share of the batch as its weight, w_r = N_r / Σ N (N: elements of the shard), so that
    H = Σ_r w_r H_r is the Hessian of the mean loss over the concatenated batch — the same on every
    rank, and Lanczos from the same start runs identically everywhere. (``loss_at`` stays L_r.)

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
        group=None,
    ):
        self.method = check_choice("method", method, HVP_METHODS)
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
        if isinstance(model, DistributedDataParallel):
            model = model.module  # the model itself: products never run through the DDP wrapper
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
        self._offsets = [int(o) for o in offsets]  # θ_p = θ[offsets[p] : offsets[p + 1]]
        self.slices = {k: slice(int(a), int(b)) for k, a, b in zip(self.names, offsets[:-1], offsets[1:])}
        # θ = concatenation of the selected parameters: (n,)
        self.theta = torch.cat([named[k].detach().to(dtype).reshape(-1) for k in self.names])
        self.n = int(self.theta.numel())
        self.n_hvp = 0
        self._graph = None  # (one leaf per parameter, ∇L with create_graph=True), built on first use
        self.group, self.share = group, 1.0  # share: this rank's w_r = N_r / Σ_r N_r (1 in one process)
        if group is not None:
            total = torch.tensor(float(_numel(batch)), dtype=torch.float64, device=self.device)
            dist.all_reduce(total, group=group)  # Σ_r N_r
            self.share = _numel(batch) / float(total)

    def _reduce(self, x: torch.Tensor) -> torch.Tensor:
        """Σ_r w_r x_r over the group's ranks: this shard's x weighted by its share (x itself in one process)."""
        if self.group is None:
            return x
        x = self.share * x  # a new tensor: never reduce in place into one autograd may hold
        dist.all_reduce(x, group=self.group)
        return x

    # -- the loss as a function of θ ----------------------------------------------------------------
    def _params(self, theta: torch.Tensor) -> dict:
        """θ (n,) → {name: tensor of the parameter's shape}, plus the frozen rest."""
        return self._params_from([t.view(s) for t, s in zip(theta.split(self.sizes), self.shapes)])

    def _params_from(self, tensors) -> dict:
        """One tensor per selected parameter (in its shape) → {name: tensor}, plus the frozen rest."""
        out = dict(self._fixed)
        out.update(zip(self.names, tensors))
        return out

    def loss_at(self, theta: torch.Tensor) -> torch.Tensor:
        """L(θ) on the fixed batch (differentiable in θ; with a ``group``, this rank's shard's L_r)."""
        with second_order_mode(self.model):
            return self.loss_fn(_Bound(self.model, self._params(theta)), self.batch)

    def loss(self) -> float:
        """L(θ₀) at the Hessian's weights."""
        with torch.no_grad():
            return float(self._reduce(self.loss_at(self.theta)))

    def _gradient_graph(self):
        """``(leaves, grads)``: one leaf per selected parameter and ∇L as a graph (create_graph),
        built once. Leaves per parameter rather than one flat θ, so that a product can start from
        some of the gradients and stop at some of the parameters (:meth:`dense` uses both)."""
        if self._graph is None:
            leaves = [t.reshape(s).clone().requires_grad_(True) for t, s in zip(self.theta.split(self.sizes), self.shapes)]
            with torch.enable_grad(), second_order_mode(self.model):
                loss = self.loss_fn(_Bound(self.model, self._params_from(leaves)), self.batch)
                grads = torch.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)  # ∇L, per parameter
            grads = [torch.zeros_like(x) if g is None else g for g, x in zip(grads, leaves)]  # unused → 0
            self._graph = (leaves, grads)
        return self._graph

    def gradient(self) -> torch.Tensor:
        """∇L(θ₀): (n,)."""
        return self._reduce(torch.cat([g.detach().reshape(-1) for g in self._gradient_graph()[1]]))

    def _pullback(self, first: int, cotangents, start: int, k: int | None) -> torch.Tensor:
        """∇_{θ_start…} Σ_p ⟨∂L/∂θ_p, c_p⟩ for the parameters p = first, first+1, … that ``cotangents``
        cover: rows ``offsets[start]:`` of H c, flattened (``(m,)``, or ``(k, m)`` for k batched
        cotangents). One backward pass through the cached gradient graph, which visits only the
        nodes between those gradients and those parameters."""
        leaves, grads = self._gradient_graph()
        live = [(g, c) for g, c in zip(grads[first:], cotangents) if g.requires_grad]
        inputs = leaves[start:]
        lead = () if k is None else (k,)
        if not live:  # every gradient is constant in θ: H c = 0
            return torch.zeros(*lead, self.n - self._offsets[start], dtype=self.dtype, device=self.device)
        outs = torch.autograd.grad(
            [g for g, _ in live], inputs, [c for _, c in live],
            retain_graph=True, allow_unused=True, is_grads_batched=k is not None,
        )
        return torch.cat([
            (torch.zeros(*lead, x.numel(), dtype=self.dtype, device=self.device) if o is None else o.reshape(*lead, -1))
            for o, x in zip(outs, inputs)
        ], dim=-1)

    # -- products -------------------------------------------------------------------------------------
    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        """H v for one vector ``(n,)`` or a batch ``(k, n)`` (returns the same shape).

        Introduced in notebooks/05_hessian_dynamics.
        """
        v = torch.as_tensor(v)
        if v.shape[-1] != self.n or v.dim() not in (1, 2):
            raise ValueError(f"v must have shape ({self.n},) or (k, {self.n}), got {tuple(v.shape)}")
        v = v.to(device=self.device, dtype=self.dtype)
        k, off = (v.shape[0] if v.dim() == 2 else None), self._offsets
        self.n_hvp += 1 if k is None else k
        if self.method == "forward":
            return self._reduce(self._hvp_forward(v) if k is None else torch.func.vmap(self._hvp_forward)(v))  # (k, n)
        # H v = ∇_θ ⟨∇L, v⟩, v cut into one piece per parameter (batched backward for (k, n))
        if k is None:
            v = v.contiguous()
            pieces = [v[off[p] : off[p + 1]].view(s) for p, s in enumerate(self.shapes)]  # views, no copies
        else:
            pieces = [v[:, off[p] : off[p + 1]].reshape(k, *s) for p, s in enumerate(self.shapes)]
        return self._reduce(self._pullback(0, pieces, 0, k))

    def _hvp_forward(self, v: torch.Tensor) -> torch.Tensor:
        # Hv = d/dt ∇L(θ + t v) |_{t=0}
        return jvp(grad(self.loss_at), (self.theta,), (v,))[1]

    def __matmul__(self, v):
        return self.hvp(v)

    def dense(self, chunk: int = 8) -> torch.Tensor:
        """The full Hessian (n, n) from products with the basis vectors e_1 … e_n.

        With ``method="reverse"`` (the default) it uses the symmetry H = Hᵀ and the cached gradient
        graph. For a basis vector e_c of parameter p the product starts from ∂L/∂θ_p alone and stops
        at the parameters p, p+1, …: it yields the rows of H e_c in p's block and below, and the
        backward pass skips the rest of the graph. The blocks above the diagonal are the transposes
        of those below; the diagonal blocks are symmetrised as (B + Bᵀ)/2 to remove rounding
        asymmetry. Equal to n full products up to rounding; on notebook 05's attention Hessian
        (n = 1024) it takes 1.2–1.7× less CPU time than them with 3 loops and 2–3.4× less with 1 loop
        (``benchmarks/hessian_dense_speed.py``): the products of a 3-loop model share most of the
        graph, so skipping its tail saves less.

        ``chunk``: at most this many products per batched (vmapped) backward pass. Batching saves
        per-operation overhead while the model's tensors are small, and costs more than it saves
        (copies, memory traffic) once they are large, so the chunk shrinks with the batch: at most
        max(1, 4096 // N) products per pass, N the number of elements of the batch (B·T tokens).
        With ``method="forward"``: ``chunk`` vmapped forward-over-reverse products per call, then
        (H + Hᵀ)/2.

        Introduced in notebooks/05_hessian_dynamics.
        """
        chunk = check_int("chunk", chunk, 1)
        n, off = self.n, self._offsets
        if self.method == "forward":
            eye = torch.eye(n, dtype=self.dtype, device=self.device)
            Hm = torch.cat([self.hvp(eye[i : i + chunk]) for i in range(0, n, chunk)])  # row i = H e_i: (n, n)
            return 0.5 * (Hm + Hm.T)
        chunk = min(chunk, max(1, _BATCHED_UP_TO // max(1, _numel(self.batch))))
        owner = np.searchsorted(off, np.arange(n), side="right") - 1  # the parameter of each coordinate
        M = torch.empty(n, n, dtype=self.dtype, device=self.device)  # M[c, r] = (H e_c)_r
        for i in range(0, n, chunk):
            c = min(chunk, n - i)
            a, b = int(owner[i]), int(owner[i + c - 1])  # the chunk's columns lie in parameters a..b
            E = torch.zeros(c, off[b + 1] - off[a], dtype=self.dtype, device=self.device)  # (c, n_a + … + n_b)
            E[torch.arange(c), torch.arange(i - off[a], i - off[a] + c)] = 1.0  # rows: e_i … e_{i+c−1}
            lead = (c,) if c > 1 else ()  # one vector: a plain backward pass, no batching
            cots = [e.reshape(*lead, *s) for e, s in zip(E.split(self.sizes[a : b + 1], dim=1), self.shapes[a : b + 1])]
            M[i : i + c, off[a] :] = self._pullback(a, cots, a, c if c > 1 else None)  # rows off[a]: of H e_i …
            self.n_hvp += c
        for p in range(len(self.names)):  # complete M in place into the symmetric H
            P, R = slice(off[p], off[p + 1]), slice(off[p + 1], n)
            M[P, P] = 0.5 * (M[P, P] + M[P, P].T)  # diagonal block: (B + Bᵀ)/2
            M[R, P] = M[P, R].T  # below it: H[r, c] = (H e_c)_r = M[c, r]; above it M[P, R] is H[P, R]
        return self._reduce(M)

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
    return H._reduce((grad_at(H.theta + h * v) - grad_at(H.theta - h * v)) / (2 * h))  # (∇L(θ+hv) − ∇L(θ−hv)) / 2h


def hessian(model, loss_fn, batch, params=None, dtype=torch.float64, method="reverse", group=None) -> Hessian:
    """Shortcut for :class:`Hessian`. Introduced in notebooks/05_hessian_dynamics."""
    return Hessian(model, loss_fn, batch, params=params, dtype=dtype, method=method, group=group)


# ----------------------------------------------------------------------------------------------
# Operators: a Hessian, a dense symmetric matrix, or any (matvec, n)


class _Operator:
    """A symmetric linear operator: ``matvec(v)``, ``n``, ``dtype``, ``device``, ``n_hvp``. ``H`` is a
    :class:`Hessian`, a square tensor, or any operator with ``hvp``, ``n``, ``dtype`` and ``device`` (e.g.
    :class:`loopvalley.hessian.gauge.ProjectedHessian`)."""

    def __init__(self, H):
        if isinstance(H, Hessian) or all(hasattr(H, a) for a in ("hvp", "n", "dtype", "device")):
            self.H, self.n, self.dtype, self.device = H, int(H.n), H.dtype, H.device
            self._mv = H.hvp
        elif isinstance(H, torch.Tensor):
            if H.dim() != 2 or H.shape[0] != H.shape[1]:
                raise ValueError(f"H must be a square matrix, got shape {tuple(H.shape)}")
            self.H, self.n, self.dtype, self.device = H, H.shape[0], H.dtype, H.device
            self._mv = lambda v: H @ v if v.dim() == 1 else v @ H  # H v; for (k, n): V H = (H Vᵀ)ᵀ, H symmetric
        else:
            raise ValueError("H must be a loopvalley.hessian.operator.Hessian, a square torch.Tensor, or an operator "
                             "with hvp, n, dtype and device")
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


def _start(start, op, generator) -> torch.Tensor:
    """The start of :func:`lanczos`: a random unit vector (``start`` None); a given vector (n,) or block
    (b, n); or, from a previous :class:`EigResult` (a warm start), v0 = Σ_i y_i / √k + 0.01 r: its k Ritz
    vectors y_i and a random unit vector r."""
    if start is None:
        return _random_unit(op.n, generator, op.dtype, op.device)
    if isinstance(start, EigResult):
        if start.eigenvectors is None or start.eigenvectors.shape[-1] != op.n:
            raise ValueError(f"start: an EigResult must carry its eigenvectors (k, {op.n}): "
                             "lanczos(..., return_vectors=True)")
        Y = start.eigenvectors.to(dtype=op.dtype, device=op.device)  # (k, n)
        r = _random_unit(op.n, generator, op.dtype, op.device)
        return Y.sum(0) / math.sqrt(Y.shape[0]) + 0.01 * r  # v0 = Σ_i y_i / √k + 0.01 r
    start = torch.as_tensor(start)
    if start.dim() not in (1, 2) or start.shape[-1] != op.n or (start.dim() == 2 and not 1 <= start.shape[0] <= op.n):
        raise ValueError(f"start must have shape ({op.n},) or (b, {op.n}) with 1 <= b <= {op.n}, got {tuple(start.shape)}")
    if not bool(torch.isfinite(start).all()) or not bool(start.abs().sum(-1).gt(0).all()):
        raise ValueError("start must hold finite, nonzero vectors")
    return start.to(dtype=op.dtype, device=op.device)


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


@dataclass
class Krylov:
    """The state of the Lanczos recurrence (:func:`lanczos_recurrence`): an orthonormal basis of a
    Krylov space of H and the projection of H onto it, kept so that a run can be continued or re-read.

    - ``basis`` (N, n): the rows q_0 … q_{N−1}; the first ``steps`` of them have been multiplied by H
      (one product each), the others wait for their product.
    - ``T`` (N, N), float64: T[i, j] = q_iᵀ H q_j for the multiplied q_j (and its mirror T[j, i]): a band
      matrix, tridiagonal from one start vector, of band width b from a block of b.
    - ``betas`` (steps,): β_j = ‖w_j‖, the part of H q_j outside the basis it was orthogonalised
      against — the weight T[i, j] of the vector q_i it created, or the remainder dropped where the
      Krylov space closed (an invariant subspace).

    The multiplied rows satisfy H Q_Pᵀ = Q_Nᵀ T[:, :P] (P = ``steps``) up to the dropped remainders: the
    Ritz pairs of T[:P, :P] = S diag(θ) Sᵀ are (θ_i, y_i = Q_Pᵀ s_i), with residual
    ‖H y_i − θ_i y_i‖ = ‖T[P:, :P] s_i‖ (:meth:`ritz`).

    Introduced in notebooks/05_hessian_dynamics.
    """

    basis: torch.Tensor  # (N, n)
    T: np.ndarray  # (N, N)
    betas: list  # (steps,)
    steps: int

    @property
    def alphas(self) -> np.ndarray:
        """α_j = q_jᵀ H q_j: the diagonal of T over the multiplied rows, (steps,)."""
        return np.diag(self.T)[: self.steps].copy()

    def ritz(self, steps: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(θ, S, r)`` after the first P = ``steps`` products (default all): Ritz values θ (ascending),
        T[:P, :P] = S diag(θ) Sᵀ, and residual norms r_i = ‖H y_i − θ_i y_i‖ = ‖T[P:, :P] s_i‖
        (|β_P s_{P,i}| from one start vector)."""
        P = self.steps if steps is None else steps
        theta, S = _eigh_small(np.ascontiguousarray(self.T[:P, :P]))  # T_P = S diag(θ) Sᵀ
        coupling = self.T[P:, :P]  # (N − P, P): how H q_j (j < P) reaches the rows not yet multiplied
        return theta, S, np.linalg.norm(coupling @ S, axis=0)  # ‖T[P:, :P] s_i‖


def krylov_start(start: torch.Tensor) -> Krylov:
    """The :class:`Krylov` state before any product: the start vectors, (n,) or (b, n), orthonormalised in
    order by Gram–Schmidt (twice); a start vector inside the span of the earlier ones is dropped.

    Introduced in notebooks/05_hessian_dynamics.
    """
    V = start[None] if start.dim() == 1 else start  # (b, n)
    Q = torch.zeros_like(V)
    N, size = 0, float(V.norm(dim=1).max())
    for v in V:
        for _ in range(2 if N else 0):
            v = v - Q[:N].T @ (Q[:N] @ v)  # v ← v − Qᵀ Q v
        norm = float(v.norm())
        if norm > 1e-10 * size:
            Q[N] = v / norm
            N += 1
    return Krylov(Q[:N], np.zeros((N, N)), [], 0)


def lanczos_recurrence(matvec: Callable, start, n_steps: int, *, stop: Callable | None = None) -> Krylov:
    """The Lanczos recurrence with full reorthogonalisation ("twice is enough"), one product per step.

    Step j multiplies the oldest basis vector not yet multiplied, w = H q_j; records T[j, j] = α_j = q_jᵀ w
    and T[i, j] = q_iᵀ w for the later basis vectors; removes every component along the basis
    (w ← w − Qᵀ Q w, twice); and appends q = w / β_j, β_j = ‖w‖ — unless β_j ≤ 1e-10 ‖T‖ (an invariant
    subspace: nothing new to add) or the basis already spans all n dimensions.

    ``start``: one vector (n,) — the classical recurrence, T tridiagonal (α_j on the diagonal, β_j off
    it); a block (b, n) — block Lanczos one product at a time: T is a band of width b and the space
    grows as span{V, HV, H²V, …}, b products per degree (see :func:`krylov_start`); or a kept
    :class:`Krylov` of the same operator, which is continued: its products are not repeated, and the
    result is the one an uninterrupted run gives, bit for bit.

    Runs until ``n_steps`` products in all (a continued state's included), until every basis vector has
    been multiplied (the Krylov space closed), or until ``stop(krylov)`` is true; ``stop`` is asked after
    every step up to step 50, then every ⌈j/50⌉ steps (it usually solves the small eigenproblem of T).
    Returns the :class:`Krylov` state.

    Introduced in notebooks/05_hessian_dynamics.
    """
    K = start if isinstance(start, Krylov) else krylov_start(start)
    (N, n), steps, betas = K.basis.shape, K.steps, list(K.betas)
    rows = N + max(n_steps - steps, 0)  # each product adds at most one vector
    Q = torch.zeros(rows, n, dtype=K.basis.dtype, device=K.basis.device)  # rows are the basis vectors
    T = np.zeros((rows, rows))
    Q[:N], T[:N, :N] = K.basis, K.T
    scale = max([abs(T[j, j]) + b for j, b in enumerate(betas)], default=0.0)  # ‖T‖ ≥ max_j |α_j| + β_j
    while steps < min(n_steps, N):
        j, Qn = steps, Q[:N]
        w = matvec(Q[j])  # H q_j
        T[j, j] = alpha = float(Q[j] @ w)  # α_j = q_jᵀ H q_j
        c = Qn @ w  # q_iᵀ H q_j for every basis vector: (N,)
        w = w - Qn.T @ c  # w ← w − Qᵀ Q w removes α_j q_j, the band, every rounding leak ...
        w = w - Qn.T @ (Qn @ w)  # ... twice
        T[j + 1 : N, j] = T[j, j + 1 : N] = c[j + 1 : N].double().cpu().numpy()  # q_iᵀ H q_j, i > j (a block start)
        beta = float(w.norm())  # β_j = ‖w‖
        betas.append(beta)
        scale = max(scale, abs(alpha) + beta)
        steps += 1
        if beta > 1e-10 * max(scale, 1e-300) and N < n:  # else: an invariant subspace, or all of ℝⁿ: drop w
            Q[N] = w / beta  # q_N = w / β_j
            T[N, j] = T[j, N] = beta
            N += 1
        if stop is not None and steps < min(n_steps, N) and (steps <= 50 or steps % -(-steps // 50) == 0):
            if stop(Krylov(Q[:N], T[:N, :N], betas, steps)):
                break
    return Krylov(Q[:N], T[:N, :N].copy(), betas, steps)


def _tridiag(alphas, betas) -> np.ndarray:
    """T_m (m, m) from α (m,) on the diagonal and β_1 … β_{m−1} off it (numpy float64)."""
    m = len(alphas)
    T = np.diag(np.asarray(alphas, dtype=np.float64))
    if m > 1:
        off = np.asarray(betas[: m - 1], dtype=np.float64)
        i = np.arange(m - 1)
        T[i, i + 1] = T[i + 1, i] = off
    return T


def _eigh_small(T: np.ndarray):
    """T = S diag(θ) Sᵀ for a small symmetric numpy matrix (θ ascending), with torch's LAPACK, which
    follows torch's thread setting (numpy's OpenBLAS may start threads of its own for 30 × 30)."""
    theta, S = torch.linalg.eigh(torch.from_numpy(T))
    return theta.numpy(), S.numpy()


def _order(theta: np.ndarray, which) -> np.ndarray:
    if which == "LA":
        return np.argsort(-theta, kind="stable")
    if which == "SA":
        return np.argsort(theta, kind="stable")
    return np.argsort(-np.abs(theta), kind="stable")


def _ritz_errors(theta, res, idx):
    """Error bounds of the Ritz values θ_i (i in ``idx``) from their residuals r_i = ‖H y_i − θ_i y_i‖:
    with the gap δ_i to the nearest other Ritz value, min(r_i, r_i²/δ_i) (just r_i while there is only
    one Ritz value: no gap is known yet)."""
    r = res[idx]
    if theta.size < 2:
        return r
    d = np.abs(theta[idx][:, None] - theta[None, :])  # (k, m)
    d[np.arange(len(idx)), idx] = np.inf
    gap = d.min(axis=1)  # δ_i
    return np.minimum(r, r**2 / np.maximum(gap, 1e-300))


def _top_converged(K: Krylov, k: int, which: str, tol: float) -> bool:
    """The stopping test of :func:`lanczos`: every one of the k wanted Ritz values θ_i has an error
    bound min(r_i, r_i²/δ_i) ≤ tol·|θ_i|."""
    if K.steps < k:
        return False
    theta, _, res = K.ritz()
    idx = _order(theta, which)[:k]
    return bool((_ritz_errors(theta, res, idx) <= tol * np.maximum(np.abs(theta[idx]), 1e-300)).all())


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
    start=None,
) -> EigResult:
    """Top-k eigenpairs of H by Lanczos with full reorthogonalisation.

    Runs Lanczos (:func:`lanczos_recurrence`) until every wanted Ritz value θ_i has an error estimate
    below ``tol``·|θ_i|, or for ``max_iter`` products (default min(n, max(4k, 200))). The estimate
    is min(r_i, r_i²/δ_i), with residual r_i = ‖H y_i − θ_i y_i‖ and δ_i the gap to the nearest
    other Ritz value. For a symmetric matrix the error is at most r_i (Bauer–Fike) and about
    r_i²/δ_i once the neighbours are resolved (with one Ritz value, r_i alone). The test runs after
    every step up to step 50, then every ⌈j/50⌉ steps (it costs an m × m eigenproblem).
    ``which``: "LA" largest, "SA" smallest, "LM" largest |λ|. With ``explicit_residuals`` the
    reported residuals are ‖H v − λ v‖ computed with k more products (batched).

    ``start``: a random unit vector from ``generator`` (default); a vector (n,); a block (b, n) (block
    Lanczos: the space grows as span{V, HV, H²V, …}, b products per degree); or the :class:`EigResult`
    of a similar matrix, with its eigenvectors (``return_vectors=True``): a *warm start* from
    v0 = Σ_i y_i / √k + 0.01 r, its Ritz vectors y_i and a random unit vector r (a cold start, 100×
    weaker: no direction is out of reach). The stopping test is the cold start's. What a warm start
    saves depends on how far the matrix moved (``benchmarks/hessian_tracking.py``): 7 % of the products
    over a training run, whose Hessians move by 26–109 % between probes; 13–26 % on a matrix moved by
    1e-6 to 1e-1 of its norm. The Ritz vectors as a block start need only their k products when the
    matrix moved by 1e-6, and twice the cold start's over the training run.

    Introduced in notebooks/05_hessian_dynamics.
    """
    op = _Operator(H)
    k = _check_k(k, op.n)
    check_choice("which", which, WHICH)
    check_positive("tol", tol)
    m = min(op.n, max(4 * k, 200)) if max_iter is None else check_int("max_iter", max_iter, k, op.n)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    v0 = _start(start, op, g)
    K = lanczos_recurrence(op, v0, m, stop=lambda K: _top_converged(K, k, which, tol))
    theta, S, est = K.ritz()  # Ritz values θ, T_P = S diag(θ) Sᵀ, residuals ‖T[P:, :P] s_i‖
    idx = _order(theta, which)[:k]
    err = _ritz_errors(theta, est, idx)  # error estimates
    lam = torch.from_numpy(theta[idx].copy())  # (k,)
    converged = bool((err <= tol * np.maximum(np.abs(theta[idx]), 1e-300)).all())
    vecs = None
    if return_vectors or explicit_residuals:
        Q = K.basis[: K.steps]
        vecs = torch.from_numpy(S[:, idx].T.copy()).to(device=Q.device, dtype=Q.dtype) @ Q  # y_i = Qᵀ s_i: (k, n)
    res = torch.from_numpy(est[idx].copy())
    if explicit_residuals:
        HV = op(vecs)  # (k, n)
        res = (HV - lam.to(HV)[:, None] * vecs).norm(dim=1).to(torch.float64).cpu()  # ‖Hy − θy‖
    return EigResult(lam, vecs if return_vectors else None, res, op.count, K.steps, converged)


def ritz_history(H, n_steps: int, k: int = 5, *, generator: torch.Generator | None = None) -> np.ndarray:
    """The top-k Ritz values after each Lanczos step (one product per step): ``(n_steps, k)``,
    nan where fewer than k exist yet. Shows how Lanczos converges, largest eigenvalues first.

    Introduced in notebooks/05_hessian_dynamics.
    """
    op = _Operator(H)
    m = _check_k(n_steps, op.n, "n_steps")
    k = check_int("k", k, 1)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    K = lanczos_recurrence(op, _random_unit(op.n, g, op.dtype, op.device), m)
    out = np.full((m, k), np.nan)
    for j in range(K.steps):
        theta = K.ritz(j + 1)[0][::-1][:k]  # Ritz values of T_j
        out[j, : theta.size] = theta
    out[K.steps:] = out[K.steps - 1]  # an invariant subspace was found: the values are final
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
        theta, S, _ = lanczos_recurrence(op, v0, m).ritz()
        nodes.append(torch.from_numpy(theta))
        weights.append(torch.from_numpy(S[0] ** 2))  # w_j = (e_1ᵀ s_j)²
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
