"""One attention layer, applied once (Single-Attn) or looped with shared weights (Looped-Attn).

Following paper-notes §2.2 (reconstructed; the paper's exact block is not public):

    E_0     = token embedding + learned position embedding                   # (B, T, d)
    E_{t+1} = E_t + Attn(LN(E_t)) [+ MLP] [+ E_0 if input injection],  t = 0..n_loops-1
    logits  = W_out E_{n_loops}                                               # (B, T, V)

``n_loops = 1`` is Single-Attn, ``n_loops = 3`` Looped-Attn; both have exactly the same parameters,
so SHIFT switches architectures by setting ``model.n_loops = 3``.

Attention is either causal softmax attention, softmax(Q Kᵀ/√d_h + M) V, or the theory's causal
linear attention, (Q Kᵀ ⊙ M) V / (i+1) (paper-notes §2.2: no softmax, normalised by the number of
attended tokens). The softmax path uses PyTorch's fused kernel for speed; that kernel has no double
backward on CPU, so second-derivative code runs the explicit ``"math"`` path (see :func:`math_attention`).

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._validate import check_choice, check_int, check_positive

ATTN_TYPES = ("softmax", "linear")
BACKENDS = ("fused", "math")


@dataclass
class ModelConfig:
    vocab_size: int = 3  # V: number of token types in the language
    max_len: int = 64  # T_max: longest sequence (learned absolute positions)
    d_model: int = 64  # d: residual-stream width
    n_heads: int = 1  # attention heads (d_model must be divisible by n_heads)
    attn_type: str = "softmax"  # "softmax" (experiments) or "linear" (the theory's model)
    n_loops: int = 1  # 1 = Single-Attn, 3 = Looped-Attn (same parameters)
    layernorm: bool = False  # pre-LayerNorm before attention (and before the MLP)
    mlp: bool = False  # add a 4×-wide GELU MLP after attention inside the loop
    input_injection: bool = False  # E_{t+1} = E_t + Attn(E_t) + E_0 (re-inject the input)
    init_std: float = 0.02  # std of the N(0, σ²) initialisation of every weight

    def __post_init__(self):
        check_int("vocab_size", self.vocab_size, 2)
        check_int("max_len", self.max_len, 2)
        check_int("d_model", self.d_model, 1)
        check_int("n_heads", self.n_heads, 1, self.d_model)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        check_choice("attn_type", self.attn_type, ATTN_TYPES)
        check_int("n_loops", self.n_loops, 1)
        check_positive("init_std", self.init_std)

    def to_dict(self) -> dict:
        return asdict(self)


class AttnLayer(nn.Module):
    """Causal multi-head attention with separate W_Q, W_K, W_V and an output map W_O.

    Introduced in notebooks/04_single_vs_looped.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.d_model
        self.n_heads, self.attn_type = cfg.n_heads, cfg.attn_type
        self.W_Q = nn.Linear(d, d, bias=False)
        self.W_K = nn.Linear(d, d, bias=False)
        self.W_V = nn.Linear(d, d, bias=False)
        self.W_O = nn.Linear(d, d, bias=False)

    def forward(self, h: torch.Tensor, backend: str = "fused", return_scores: bool = False):
        B, T, d = h.shape
        H = self.n_heads
        # Q = W_Q h, K = W_K h, V = W_V h, split into heads
        q = self.W_Q(h).view(B, T, H, d // H).transpose(1, 2)  # (B, H, T, d_h)
        k = self.W_K(h).view(B, T, H, d // H).transpose(1, 2)  # (B, H, T, d_h)
        v = self.W_V(h).view(B, T, H, d // H).transpose(1, 2)  # (B, H, T, d_h)
        scores = None
        if self.attn_type == "softmax" and backend == "fused" and not return_scores:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, d_h)
        else:
            causal = torch.ones(T, T, dtype=torch.bool, device=h.device).tril()  # (T, T)
            logits = q @ k.transpose(-2, -1)  # Q Kᵀ: (B, H, T, T)
            if self.attn_type == "softmax":
                # A = softmax(Q Kᵀ / √d_h + M), M = −∞ above the diagonal
                logits = logits / math.sqrt(d // H)
                scores = logits.masked_fill(~causal, float("-inf")).softmax(dim=-1)
            else:
                # A = (Q Kᵀ ⊙ M) / (i + 1): linear attention, averaged over the i+1 visible tokens
                n_seen = torch.arange(1, T + 1, device=h.device, dtype=h.dtype).view(T, 1)
                scores = logits.masked_fill(~causal, 0.0) / n_seen
            out = scores @ v  # (B, H, T, d_h)
        out = out.transpose(1, 2).reshape(B, T, d)  # (B, T, d)
        out = self.W_O(out)
        return (out, scores) if return_scores else out


class LoopedAttn(nn.Module):
    """Embedding → one attention layer applied ``n_loops`` times (shared weights) → readout.

    ``model(tokens)`` returns next-token logits ``(B, T, V)``. ``n_loops`` is a plain attribute:
    set it to switch between Single-Attn (1) and Looped-Attn (3) without touching a parameter.

    Introduced in notebooks/04_single_vs_looped.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d, V = cfg.d_model, cfg.vocab_size
        self.embed = nn.Embedding(V, d)
        self.pos = nn.Parameter(torch.zeros(cfg.max_len, d))
        self.attn = AttnLayer(cfg)
        self.ln_attn = nn.LayerNorm(d) if cfg.layernorm else nn.Identity()
        self.mlp = (
            nn.Sequential(nn.LayerNorm(d) if cfg.layernorm else nn.Identity(),
                          nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            if cfg.mlp
            else None
        )
        self.readout = nn.Linear(d, V, bias=False)
        self.n_loops = cfg.n_loops
        self.backend = "fused"  # "math" forces the explicit attention path (double backward)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Every weight ~ N(0, init_std²), LayerNorm at (1, 0), biases 0; ``generator`` for seeding."""
        for name, p in self.named_parameters():
            with torch.no_grad():
                if "ln" in name or (self.mlp is not None and name.startswith("mlp.0")):
                    p.fill_(1.0 if name.endswith("weight") else 0.0)
                elif name.endswith("bias"):
                    p.zero_()
                else:
                    p.copy_(torch.randn(p.shape, generator=generator) * self.cfg.init_std)

    @property
    def n_loops(self) -> int:
        return self._n_loops

    @n_loops.setter
    def n_loops(self, value: int) -> None:
        self._n_loops = check_int("n_loops", value, 1)

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """E_0 = embed(x) + pos: (B, T) → (B, T, d)."""
        if tokens.dim() != 2:
            raise ValueError(f"tokens must have shape (batch, length), got {tuple(tokens.shape)}")
        T = tokens.shape[1]
        if T > self.cfg.max_len:
            raise ValueError(f"sequence length {T} exceeds max_len={self.cfg.max_len}")
        return self.embed(tokens) + self.pos[:T]  # (B, T, d)

    def forward(self, tokens: torch.Tensor, n_loops: int | None = None, return_hidden: bool = False):
        loops = self.n_loops if n_loops is None else check_int("n_loops", n_loops, 1)
        e0 = self.embed_tokens(tokens)  # (B, T, d)
        h = e0
        hidden = [h]
        for _ in range(loops):
            # E_{t+1} = E_t + Attn(LN(E_t))  (+ MLP, + E_0 with input injection)
            h = h + self.attn(self.ln_attn(h), backend=self.backend)
            if self.mlp is not None:
                h = h + self.mlp(h)
            if self.cfg.input_injection:
                h = h + e0
            hidden.append(h)
        logits = self.readout(h)  # (B, T, V)
        return (logits, hidden) if return_hidden else logits

    @torch.no_grad()
    def attention_maps(self, tokens: torch.Tensor, n_loops: int | None = None) -> torch.Tensor:
        """The attention pattern of every loop: ``(n_loops, B, H, T, T)``.

        Introduced in notebooks/04_single_vs_looped.
        """
        loops = self.n_loops if n_loops is None else check_int("n_loops", n_loops, 1)
        e0 = self.embed_tokens(tokens)
        h, maps = e0, []
        for _ in range(loops):
            out, a = self.attn(self.ln_attn(h), backend="math", return_scores=True)
            maps.append(a)
            h = h + out
            if self.mlp is not None:
                h = h + self.mlp(h)
            if self.cfg.input_injection:
                h = h + e0
        return torch.stack(maps)  # (n_loops, B, H, T, T)


def build_model(cfg: ModelConfig, generator: torch.Generator | None = None) -> LoopedAttn:
    """A seeded :class:`LoopedAttn` for ``cfg`` (``generator`` seeds the initialisation).

    Introduced in notebooks/04_single_vs_looped.
    """
    model = LoopedAttn(cfg)
    model.reset_parameters(generator)
    return model


def single_attn(cfg: ModelConfig, generator: torch.Generator | None = None) -> LoopedAttn:
    """Single-Attn: the layer applied once.

    Introduced in notebooks/04_single_vs_looped.
    """
    return build_model(_with_loops(cfg, 1), generator)


def looped_attn(cfg: ModelConfig, n_loops: int = 3, generator: torch.Generator | None = None) -> LoopedAttn:
    """Looped-Attn: the same layer applied ``n_loops`` times (paper: 3) with shared weights.

    Introduced in notebooks/04_single_vs_looped.
    """
    return build_model(_with_loops(cfg, n_loops), generator)


def _with_loops(cfg: ModelConfig, n_loops: int) -> ModelConfig:
    return ModelConfig(**{**cfg.to_dict(), "n_loops": n_loops})


def n_params(model: nn.Module) -> int:
    """Number of trainable parameters.

    Introduced in notebooks/04_single_vs_looped.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@contextlib.contextmanager
def math_attention(model: LoopedAttn):
    """Run ``model`` on the explicit softmax(QKᵀ/√d)V path inside this block.

    Needed wherever second derivatives are taken: the fused CPU kernel has no double backward.

    Introduced in notebooks/05_hessian_dynamics.
    """
    old = model.backend
    model.backend = "math"
    try:
        yield model
    finally:
        model.backend = old


def forward_flops(cfg: ModelConfig, n_loops: int, batch: int, length: int) -> float:
    """Approximate FLOPs of one forward pass (multiply-add = 2 FLOPs), linear in ``n_loops``.

    Per loop: the four projections W_Q, W_K, W_V, W_O cost 4·2·B·T·d², the scores Q Kᵀ and the
    mix A V cost 2·2·B·T²·d, and the optional MLP 2·2·B·T·d·4d. The readout adds 2·B·T·d·V once.
    A training step (forward + backward) costs about 3× this. Used for SHIFT's compute accounting.

    Introduced in notebooks/04_single_vs_looped.
    """
    n_loops = check_int("n_loops", n_loops, 1)
    B, T, d, V = int(batch), int(length), cfg.d_model, cfg.vocab_size
    per_loop = 8 * B * T * d * d + 4 * B * T * T * d  # projections + (Q Kᵀ, A V)
    if cfg.mlp:
        per_loop += 16 * B * T * d * d  # d → 4d → d
    return float(n_loops * per_loop + 2 * B * T * d * V)
