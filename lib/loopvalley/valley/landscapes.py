"""Closed-form river-valley loss landscapes: loss, gradient and Hessian, batched over runs.

Two landscapes, both written so that every formula is one line you can check by hand:

* :class:`RiverValley2D` — Wen et al.'s picture of a *river valley* in two dimensions,

      L(x, y) = g(x) + (λ/2) (y − f(x))²,   g(x) = −h·x,   f(x) = a·sin(ω x).

  The river is the curve y = f(x) (the valley floor); along it the loss descends slowly with slope h.
  Across it the hillsides have curvature ≈ λ ≫ h. Our choice (Wen et al.'s toy function is not
  public): a straight-line descent g keeps "progress along the river" equal to −Δg/h, and a sine
  river makes the floor curved, so the iterate has to follow a bend.

* :class:`RiverValleyQuadratic` — the paper's Setting 1 (reconstructed): a river coordinate r ∈ ℝ and
  an m-dimensional valley v ∈ ℝᵐ,

      L(r, v) = −h·r + ½ vᵀ H_V v + r·bᵀv,

  with H_V = diag(λ_1..λ_m) (we work in the valley eigenbasis) and coupling H_RV = bᵀ. A U-valley
  has κ(H_V) ≤ 1 + δ, a V-valley κ(H_V) ≫ 1 at the same λ_max.

Theorem 1's closed forms live here too: the cumulative force C_K that the valley exerts on the
river after K GD steps, its bound 𝒞 and its limit as K → ∞.

Shapes: an iterate batch ``theta`` is ``(R, d)`` (R runs); parameters are scalars or per-run
tensors broadcasting against it. Everything is float64.

Introduced in notebooks/01_river_valley.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from loopvalley._validate import check_choice, check_finite, check_int, check_positive, check_range

DTYPE = torch.float64


def _as_tensor(name: str, value, *, positive: bool = False) -> torch.Tensor:
    """``value`` as a float64 tensor whose entries are all finite (and > 0 with ``positive``)."""
    try:
        t = torch.as_tensor(value, dtype=DTYPE)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not (t > 0).all():
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return t


def _check_theta(theta, dim: int) -> torch.Tensor:
    t = torch.as_tensor(theta, dtype=DTYPE)
    if t.shape[-1:] != (dim,):
        raise ValueError(f"theta must have last dimension {dim}, got shape {tuple(t.shape)}")
    return t


class Landscape:
    """What the simulator needs from a landscape (all methods act on ``theta`` of shape (..., d)).

    ``loss``, ``grad``, ``hessian`` in closed form; ``field`` is what the optimizer follows (the
    gradient, unless stated otherwise); ``valley_noise`` keeps only the valley part of a noise
    vector; ``river_coordinate`` / ``valley_coordinates`` / ``loss_parts`` split a point into the
    river and valley pictures.

    Introduced in notebooks/01_river_valley.
    """

    dim: int

    def loss(self, theta):  # pragma: no cover - interface
        raise NotImplementedError

    def grad(self, theta):  # pragma: no cover - interface
        raise NotImplementedError

    def hessian(self, theta):  # pragma: no cover - interface
        raise NotImplementedError

    def field(self, theta):
        """The vector field the optimizer follows: the gradient."""
        return self.grad(theta)


# --------------------------------------------------------------------------------------------
# Wen et al.'s 2-D river valley
# --------------------------------------------------------------------------------------------


@dataclass
class RiverValley2D(Landscape):
    """Wen et al.'s river valley: L(x, y) = −h·x + (λ/2)(y − a·sin(ωx))².

    The river is the valley floor y = f(x) = a·sin(ωx); moving along it lowers the loss by h per
    unit of x. ``hill`` (λ) is the steepness of the hillsides. Defaults give λ/h = 20: a flat river
    in a steep valley.

    Introduced in notebooks/01_river_valley.
    """

    slope: float = 0.05  # h: the river's descent, g(x) = −h x
    hill: float = 1.0  # λ: curvature across the river (the hillsides)
    amplitude: float = 1.0  # a: how far the river meanders, f(x) = a sin(ωx)
    frequency: float = 0.5  # ω: how fast it meanders

    dim = 2

    def __post_init__(self):
        self.slope = check_positive("slope", self.slope, allow_zero=True)
        self.hill = check_positive("hill", self.hill)
        self.amplitude = check_finite("amplitude", self.amplitude)
        self.frequency = check_finite("frequency", self.frequency)

    # the river curve and its derivatives
    def river_curve(self, x):
        """f(x) = a·sin(ωx), the valley floor."""
        return self.amplitude * torch.sin(self.frequency * torch.as_tensor(x, dtype=DTYPE))

    def _f(self, x):
        a, w = self.amplitude, self.frequency
        f = a * torch.sin(w * x)  # f = a sin(ωx)
        df = a * w * torch.cos(w * x)  # f' = aω cos(ωx)
        d2f = -a * w * w * torch.sin(w * x)  # f'' = −aω² sin(ωx)
        return f, df, d2f

    def loss(self, theta):
        """L(x, y) = −h x + (λ/2)(y − f(x))²; shape (...)."""
        theta = _check_theta(theta, 2)
        x, y = theta[..., 0], theta[..., 1]
        e = y - self._f(x)[0]  # e = y − f(x): height above the river floor
        return -self.slope * x + 0.5 * self.hill * e**2

    def grad(self, theta):
        """∇L = (−h − λ e f'(x), λ e); shape (..., 2)."""
        theta = _check_theta(theta, 2)
        x, y = theta[..., 0], theta[..., 1]
        f, df, _ = self._f(x)
        e = y - f
        gx = -self.slope - self.hill * e * df  # ∂L/∂x = −h − λ e f'
        gy = self.hill * e  # ∂L/∂y = λ e
        return torch.stack([gx, gy], dim=-1)

    def hessian(self, theta):
        """∇²L = [[λ(f'² − e f''), −λ f'], [−λ f', λ]]; shape (..., 2, 2)."""
        theta = _check_theta(theta, 2)
        x, y = theta[..., 0], theta[..., 1]
        f, df, d2f = self._f(x)
        e = y - f
        hxx = self.hill * (df**2 - e * d2f)  # ∂²L/∂x² = λ (f'² − e f'')
        hxy = -self.hill * df  # ∂²L/∂x∂y = −λ f'
        hyy = self.hill * torch.ones_like(x)  # ∂²L/∂y² = λ
        row0 = torch.stack([hxx, hxy], dim=-1)
        row1 = torch.stack([hxy, hyy], dim=-1)
        return torch.stack([row0, row1], dim=-2)  # (..., 2, 2)

    def valley_noise(self, theta, xi):
        """Keep only the hillside component of a noise vector: (ξ·n) n with n ⟂ the river."""
        theta = _check_theta(theta, 2)
        df = self._f(theta[..., 0])[1]
        n = torch.stack([-df, torch.ones_like(df)], dim=-1)
        n = n / n.norm(dim=-1, keepdim=True)  # n = (−f', 1)/√(1 + f'²)
        return (xi * n).sum(-1, keepdim=True) * n  # (ξ·n) n

    def river_coordinate(self, theta):
        """The position along the river: x; shape (...)."""
        return _check_theta(theta, 2)[..., 0]

    def valley_coordinates(self, theta):
        """The height above the river floor, e = y − f(x); shape (..., 1)."""
        theta = _check_theta(theta, 2)
        return (theta[..., 1] - self._f(theta[..., 0])[0]).unsqueeze(-1)

    def loss_parts(self, theta):
        """``{"river": −h x, "valley": (λ/2) e²}`` — they add up to the loss."""
        theta = _check_theta(theta, 2)
        e = self.valley_coordinates(theta)[..., 0]
        return {"river": -self.slope * theta[..., 0], "valley": 0.5 * self.hill * e**2}

    def grid(self, xlim, ylim, n: int = 200):
        """(X, Y, L) on an n×n grid, for contour plots."""
        n = check_int("n", n, lo=2)
        xs = torch.linspace(float(xlim[0]), float(xlim[1]), n, dtype=DTYPE)
        ys = torch.linspace(float(ylim[0]), float(ylim[1]), n, dtype=DTYPE)
        X, Y = torch.meshgrid(xs, ys, indexing="xy")  # (n, n)
        return X, Y, self.loss(torch.stack([X, Y], dim=-1))


# --------------------------------------------------------------------------------------------
# The paper's river + m-dimensional valley quadratic (Setting 1, reconstructed)
# --------------------------------------------------------------------------------------------

VALLEY_KINDS = ("U", "V")


def u_valley_eigenvalues(m: int, lam_max: float = 1.0, delta: float = 0.0) -> torch.Tensor:
    """A U-valley spectrum: m eigenvalues logspaced from λ_max down to λ_max/(1+δ), so κ = 1 + δ.

    δ = 0 (default) gives H_V = λ_max·I: a broad flat floor, uniformly steep cliffs.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    m = check_int("m", m, lo=1)
    lam_max = check_positive("lam_max", lam_max)
    delta = check_positive("delta", delta, allow_zero=True)
    # λ_i = λ_max (1+δ)^{−i/(m−1)},  i = 0..m−1
    expo = torch.linspace(0.0, 1.0, m, dtype=DTYPE) if m > 1 else torch.zeros(1, dtype=DTYPE)
    return lam_max * (1.0 + delta) ** (-expo)


def v_valley_eigenvalues(m: int, lam_max: float = 1.0, kappa: float = 100.0) -> torch.Tensor:
    """A V-valley spectrum: m eigenvalues logspaced from λ_max down to λ_max/κ (κ ≫ 1).

    A narrow channel whose walls differ in steepness by a factor κ.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    m = check_int("m", m, lo=1)
    lam_max = check_positive("lam_max", lam_max)
    kappa = check_range("kappa", kappa, lo=1.0)
    if m < 2 and kappa > 1:
        raise ValueError(f"m must be >= 2 for a valley with kappa > 1, got m={m!r}")
    # λ_i = λ_max κ^{−i/(m−1)}: logspace(λ_max, λ_max/κ)
    expo = torch.linspace(0.0, 1.0, m, dtype=DTYPE) if m > 1 else torch.zeros(1, dtype=DTYPE)
    return lam_max * kappa ** (-expo)


def valley_family(kind: str, m: int, lam_max: float = 1.0, kappa: float = 100.0, delta: float = 0.0):
    """``u_valley_eigenvalues`` (kind ``"U"``) or ``v_valley_eigenvalues`` (kind ``"V"``).

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    kind = check_choice("kind", kind, VALLEY_KINDS)
    if kind == "U":
        return u_valley_eigenvalues(m, lam_max, delta)
    return v_valley_eigenvalues(m, lam_max, kappa)


def kappa_valley(h_valley) -> torch.Tensor:
    """κ(H_V) = λ_max/λ_min of a valley Hessian block (..., m, m), or of its eigenvalues (..., m).

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    t = _as_tensor("h_valley", h_valley)
    if t.ndim == 0:
        raise ValueError("h_valley must be a matrix (..., m, m) or eigenvalues (..., m)")
    eig = torch.linalg.eigvalsh(t) if t.ndim >= 2 and t.shape[-1] == t.shape[-2] and t.shape[-1] > 1 else t
    if not (eig > 0).all():
        raise ValueError("h_valley must be positive definite (all valley eigenvalues > 0)")
    return eig.max(-1).values / eig.min(-1).values  # κ = λ_max / λ_min


@dataclass
class RiverValleyQuadratic(Landscape):
    """L(r, v) = −h·r + ½ vᵀ diag(λ) v + r·bᵀv: a river coordinate r and an m-dim valley v.

    ``lam`` (valley eigenvalues λ_i) and ``coupling`` (b = H_RV in the valley eigenbasis) are
    ``(m,)`` or per-run ``(R, m)``; ``theta = (r, v_1..v_m)`` has shape ``(..., 1 + m)``.

    ``forced=False`` makes :meth:`field` the dynamics Theorem 1 analyses: the valley update drops
    the forcing H_VR θ_R = r·b ("the unforced part dominates"), so GD gives exactly
    r_K = r_0 + ηKh − C_K. It is not the gradient of a loss; :meth:`grad` always is.

    Introduced in notebooks/02_u_vs_v_valleys.
    """

    lam: torch.Tensor  # (m,) or (R, m): valley eigenvalues λ_i > 0
    coupling: torch.Tensor  # (m,) or (R, m): b_i = H_RV u_i, the river-valley coupling
    h: float = 0.01  # the river's drive: −∂L/∂r at v = 0
    forced: bool = True  # False: Theorem 1's unforced valley dynamics

    def __post_init__(self):
        self.lam = _as_tensor("lam", self.lam, positive=True)
        self.coupling = _as_tensor("coupling", self.coupling)
        if self.lam.ndim == 0 or self.lam.shape[-1] < 1:
            raise ValueError("lam must have at least one valley eigenvalue (m >= 1)")
        if self.coupling.shape[-1:] != self.lam.shape[-1:]:
            raise ValueError(
                f"coupling must have last dimension m = {self.lam.shape[-1]}, got shape {tuple(self.coupling.shape)}"
            )
        self.h = check_finite("h", self.h)
        if not isinstance(self.forced, bool):
            raise ValueError(f"forced must be True or False, got {self.forced!r}")

    @property
    def m(self) -> int:
        """The valley dimension."""
        return int(self.lam.shape[-1])

    @property
    def dim(self) -> int:
        return 1 + self.m

    def _split(self, theta):
        theta = _check_theta(theta, self.dim)
        return theta[..., 0], theta[..., 1:]  # r (...), v (..., m)

    def loss(self, theta):
        """L = −h r + ½ Σ λ_i v_i² + r Σ b_i v_i; shape (...)."""
        r, v = self._split(theta)
        return -self.h * r + 0.5 * (self.lam * v**2).sum(-1) + r * (self.coupling * v).sum(-1)

    def grad(self, theta):
        """∇L = (−h + bᵀv, H_V v + r b); shape (..., 1 + m)."""
        r, v = self._split(theta)
        gr = -self.h + (self.coupling * v).sum(-1)  # ∂L/∂r = −h + H_RV v
        gv = self.lam * v + r.unsqueeze(-1) * self.coupling  # ∂L/∂v = H_V v + H_VR r
        return torch.cat([gr.unsqueeze(-1), gv], dim=-1)

    def field(self, theta):
        """The gradient, or with ``forced=False`` Theorem 1's unforced field (−h + bᵀv, H_V v)."""
        if self.forced:
            return self.grad(theta)
        r, v = self._split(theta)
        gr = -self.h + (self.coupling * v).sum(-1)  # river: −h + H_RV v
        gv = self.lam * v  # valley, unforced: H_V v
        return torch.cat([gr.unsqueeze(-1), gv], dim=-1)

    def hessian(self, theta):
        """∇²L = [[0, bᵀ], [b, diag(λ)]] (constant); shape (..., 1+m, 1+m)."""
        theta = _check_theta(theta, self.dim)
        lam, b = torch.broadcast_tensors(self.lam, self.coupling)
        batch = torch.broadcast_shapes(theta.shape[:-1], lam.shape[:-1])
        H = torch.zeros(*batch, self.dim, self.dim, dtype=DTYPE)
        H[..., 1:, 1:] = torch.diag_embed(lam.expand(*batch, self.m))  # H_V = diag(λ)
        H[..., 0, 1:] = b.expand(*batch, self.m)  # H_RV = bᵀ
        H[..., 1:, 0] = b.expand(*batch, self.m)  # H_VR = b
        return H

    def valley_hessian(self):
        """The valley block H_V = diag(λ); shape (..., m, m)."""
        return torch.diag_embed(self.lam)

    def valley_noise(self, theta, xi):
        """Valley-anisotropic noise: none along the river, √(λ_i/λ_max)·ξ_i in valley direction i
        (covariance ∝ H_V, like SGD noise)."""
        scale = torch.sqrt(self.lam / self.lam.max(-1, keepdim=True).values)  # √(λ_i/λ_max)
        return torch.cat([torch.zeros_like(xi[..., :1]), xi[..., 1:] * scale], dim=-1)

    def river_coordinate(self, theta):
        """r; shape (...)."""
        return self._split(theta)[0]

    def valley_coordinates(self, theta):
        """v (in the valley eigenbasis); shape (..., m)."""
        return self._split(theta)[1]

    def loss_parts(self, theta):
        """``{"river": −h r, "valley": ½ vᵀH_V v, "coupling": r bᵀv}`` — they add up to the loss."""
        r, v = self._split(theta)
        return {
            "river": -self.h * r,
            "valley": 0.5 * (self.lam * v**2).sum(-1),
            "coupling": r * (self.coupling * v).sum(-1),
        }

    def stability_limit(self) -> torch.Tensor:
        """2/λ_max(H_V): GD on the valley diverges for η above it."""
        return 2.0 / self.lam.max(-1).values

    def cross_section(self, r: float, lim: float = 3.0, n: int = 121, dims=(0, 1)):
        """(V1, V2, L) on an n×n grid of two valley coordinates at river position r (others 0).

        Needs a single landscape (``lam`` of shape (m,)), m >= 2.
        """
        n = check_int("n", n, lo=2)
        r = check_finite("r", r)
        lim = check_positive("lim", lim)
        if self.lam.ndim != 1 or self.m < 2:
            raise ValueError("cross_section needs a single landscape with m >= 2")
        i, j = (check_int("dims", d, lo=0, hi=self.m - 1) for d in dims)
        xs = torch.linspace(-lim, lim, n, dtype=DTYPE)
        V1, V2 = torch.meshgrid(xs, xs, indexing="xy")  # (n, n)
        theta = torch.zeros(n, n, self.dim, dtype=DTYPE)
        theta[..., 0] = r
        theta[..., 1 + i] = V1
        theta[..., 1 + j] = V2
        return V1, V2, self.loss(theta)


def random_coupling_and_start(
    m: int, runs: int, generator: torch.Generator, coupling: float = 0.1, v0_scale: float = 1.0
):
    """One random draw per run of the coupling b ~ N(0, (c²/m) I) and the start θ⁰ = (0, v⁰),
    v⁰ ~ N(0, s² I). Returns ``(b, theta0)`` of shapes (R, m) and (R, 1 + m).

    U and V landscapes built from the same ``b`` and started at the same ``theta0`` are the
    "same start" of Corollary 2.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    m = check_int("m", m, lo=1)
    runs = check_int("runs", runs, lo=1)
    coupling = check_positive("coupling", coupling, allow_zero=True)
    v0_scale = check_positive("v0_scale", v0_scale)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {generator!r}")
    b = torch.randn(runs, m, generator=generator, dtype=DTYPE) * coupling / math.sqrt(m)  # b ~ N(0, c²/m I)
    v0 = torch.randn(runs, m, generator=generator, dtype=DTYPE) * v0_scale  # v⁰ ~ N(0, s² I)
    theta0 = torch.cat([torch.zeros(runs, 1, dtype=DTYPE), v0], dim=-1)  # θ⁰ = (r⁰ = 0, v⁰)
    return b, theta0


# --------------------------------------------------------------------------------------------
# Theorem 1 (reconstructed): the cumulative force of the valley on the river
# --------------------------------------------------------------------------------------------


def cumulative_force(lam, coupling, v0, eta, K) -> torch.Tensor:
    """C_K = η H_RV Σ_{k<K} (I − ηH_V)^k θ_V⁰ = Σ_i [1 − (1 − ηλ_i)^K]/λ_i · b_i v⁰_i.

    ``lam``, ``coupling``, ``v0``: (..., m). ``K``: an int or a 1-D tensor of step counts; with a
    tensor the result has a leading axis over K. Under Theorem 1's unforced dynamics
    r_K = r_0 + ηKh − C_K exactly.

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    lam = _as_tensor("lam", lam, positive=True)
    b = _as_tensor("coupling", coupling)
    v0 = _as_tensor("v0", v0)
    eta = _as_tensor("eta", eta, positive=True)
    Kt = _as_tensor("K", K)
    if not (Kt >= 0).all() or not (Kt == Kt.round()).all() or Kt.ndim > 1:
        raise ValueError(f"K must be an integer >= 0 or a 1-D tensor of them, got {K!r}")
    if eta.ndim > 0:
        eta = eta.unsqueeze(-1)  # per-run η broadcasts over the valley axis
    q = 1.0 - eta * lam  # (…, m): the valley's per-step factor 1 − ηλ_i
    shape = (-1,) + (1,) * max(q.ndim, b.ndim, v0.ndim) if Kt.ndim == 1 else ()
    Kb = Kt.reshape(shape) if Kt.ndim == 1 else Kt
    return ((1.0 - q**Kb) / lam * b * v0).sum(-1)  # Σ_i [1 − q_i^K]/λ_i b_i v⁰_i


def cumulative_force_bound(lam, coupling, v0) -> torch.Tensor:
    """𝒞 = Σ_i 2 ‖H_RV u_i‖ |u_iᵀθ_V⁰| / λ_i = Σ_i 2|b_i||v⁰_i|/λ_i (valid for 0 < ηλ_i < 2).

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    lam = _as_tensor("lam", lam, positive=True)
    b = _as_tensor("coupling", coupling)
    v0 = _as_tensor("v0", v0)
    return (2.0 * b.abs() * v0.abs() / lam).sum(-1)  # 𝒞 = Σ 2|b_i||v⁰_i|/λ_i


def cumulative_force_limit(lam, coupling, v0) -> torch.Tensor:
    """C_∞ = H_RV H_V⁻¹ θ_V⁰ = Σ_i b_i v⁰_i/λ_i: where C_K saturates (any 0 < η < 2/λ_max).

    Introduced in notebooks/02_u_vs_v_valleys.
    """
    lam = _as_tensor("lam", lam, positive=True)
    b = _as_tensor("coupling", coupling)
    v0 = _as_tensor("v0", v0)
    return (b * v0 / lam).sum(-1)  # C_∞ = Σ b_i v⁰_i / λ_i
