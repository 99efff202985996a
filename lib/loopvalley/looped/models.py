"""Attention layers applied once (Single-Attn), looped with shared weights (Looped-Attn), or stacked
with untied weights (Untied-Attn, the plain-depth control).

Following paper-notes §2.2 (reconstructed; the paper's exact block is not public):

    E_0     = token embedding + learned position embedding                   # (B, T, d)
    E_{t+1} = E_t + Attn_t(LN_t(E_t)) [+ MLP_t] [+ E_0 if input injection],  t = 0..n_loops-1
    logits  = W_out E_{n_loops}                                               # (B, T, V)

- Single-Attn (``n_loops = 1``) and Looped-Attn (``n_loops = 3``): Attn_t = Attn, LN_t = LN, MLP_t = MLP
  for every t — one layer, reused. Both have exactly the same parameters, so SHIFT switches
  architectures by setting ``model.n_loops = 3``. The shared layer's LayerNorms are shared too: weight
  sharing ties the whole block (attention, its pre-LN, the MLP and its pre-LN), so Looped-L has not one
  parameter more than Single-Attn and Untied-L with all its layers set equal *is* Looped-L.
- Untied-Attn (``share_weights=False``, ``n_loops = L``): L distinct layers, each with its own LayerNorms
  and MLP. Same compute as Looped-L, L× the layer parameters: the control for "is it recursion or just
  depth?". Its depth is fixed (setting ``n_loops`` to another value raises).
- Wide Single-Attn (:func:`wide_single_attn`): one layer with L× the heads (same head width) and an
  L×-wide MLP — Untied-L's parameters and FLOPs, spent in parallel instead of in series.

Parameter names. Shared models: ``embed.weight``, ``pos``, ``attn.W_Q.weight`` … ``attn.W_O.weight``,
``ln_attn.weight/bias`` (layernorm), ``mlp.0.*`` (the MLP's LN), ``mlp.1.*``, ``mlp.3.*``,
``readout.weight`` — unchanged, so SHIFT, the Theorem-3 probes and the Hessian blocks keep working.
Untied models prefix the same names with the layer: ``layers.{l}.attn.W_Q.weight``,
``layers.{l}.ln_attn.weight``, ``layers.{l}.mlp.1.weight`` … (``l = 0..L-1``); they have no ``model.attn``.
The named groups of parameters (``"attention"``, ``"qk"``, ``"W_Q"``, ``"output"`` …) are one table,
:data:`PARAM_BLOCKS`, read through :func:`block_params` by every user (the Hessians, the spectra).

Attention is either causal softmax attention, softmax(Q Kᵀ/√d_h + M) V, or the theory's causal
linear attention, (Q Kᵀ ⊙ M) V / (i+1) (paper-notes §2.2: no softmax, normalised by the number of
attended tokens). The softmax path uses PyTorch's fused kernel for speed; that kernel has no double
backward on CPU, so second-derivative code runs the explicit ``"math"`` path (see :func:`math_attention`).

Introduced in notebooks/04_single_vs_looped.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from loopvalley._validate import check_choice, check_int, check_positive

ATTN_TYPES = ("softmax", "linear")
BACKENDS = ("fused", "math")
KINDS = ("single", "looped", "untied", "wide")  # the variants of :func:`variant_config`
# Fields added after the first release: ``to_dict`` leaves them out at their defaults, so the configs
# stored in older run records and checkpoints still compare equal to today's.
_LATER_FIELDS = {"share_weights": True, "d_attn": None, "d_mlp": None}
_SHARED_ONLY = ("attn", "ln_attn", "mlp")  # attributes only a shared-weight model has


@dataclass
class ModelConfig:
    vocab_size: int = 3  # V: number of token types in the language
    max_len: int = 64  # T_max: longest sequence (learned absolute positions)
    d_model: int = 64  # d: residual-stream width
    n_heads: int = 1  # attention heads H (the attention width d_attn must be divisible by H)
    attn_type: str = "softmax"  # "softmax" (experiments) or "linear" (the theory's model)
    n_loops: int = 1  # layer applications: 1 = Single-Attn, 3 = Looped-Attn; untied: the number of layers L
    layernorm: bool = False  # pre-LayerNorm before attention (and before the MLP)
    mlp: bool = False  # add a GELU MLP (hidden width d_mlp) after attention inside the loop
    input_injection: bool = False  # E_{t+1} = E_t + Attn(E_t) + E_0 (re-inject the input)
    init_std: float = 0.02  # std of the N(0, σ²) initialisation of every weight
    share_weights: bool = True  # True: one layer reused n_loops times; False: n_loops distinct layers (Untied)
    d_attn: int | None = None  # attention width H·d_h of W_Q, W_K, W_V (None: d_model)
    d_mlp: int | None = None  # MLP hidden width (None: 4·d_model); ignored without mlp

    def __post_init__(self):
        check_int("vocab_size", self.vocab_size, 2)
        check_int("max_len", self.max_len, 2)
        check_int("d_model", self.d_model, 1)
        if self.d_attn is not None:
            check_int("d_attn", self.d_attn, 1)
        if self.d_mlp is not None:
            check_int("d_mlp", self.d_mlp, 1)
        width = "d_model" if self.d_attn is None else "d_attn"
        check_int("n_heads", self.n_heads, 1, self.attn_width)
        if self.attn_width % self.n_heads:
            raise ValueError(f"{width} ({self.attn_width}) must be divisible by n_heads ({self.n_heads})")
        check_choice("attn_type", self.attn_type, ATTN_TYPES)
        check_int("n_loops", self.n_loops, 1)
        check_positive("init_std", self.init_std)
        if not isinstance(self.share_weights, bool):
            raise ValueError(f"share_weights must be True or False, got {self.share_weights!r}")

    @property
    def attn_width(self) -> int:
        """d_attn = H·d_h, the width of Q, K and V (``d_model`` unless ``d_attn`` is set)."""
        return self.d_model if self.d_attn is None else self.d_attn

    @property
    def head_width(self) -> int:
        """d_h = d_attn / H, the width of one head (sets the 1/√d_h of softmax attention)."""
        return self.attn_width // self.n_heads

    @property
    def mlp_width(self) -> int:
        """The MLP's hidden width (``4·d_model`` unless ``d_mlp`` is set)."""
        return 4 * self.d_model if self.d_mlp is None else self.d_mlp

    @property
    def n_layers(self) -> int:
        """Distinct attention layers: 1 for a shared-weight model, ``n_loops`` for an untied one."""
        return 1 if self.share_weights else self.n_loops

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, default in _LATER_FIELDS.items():
            if d[k] == default and type(d[k]) is type(default):
                del d[k]
        return d


def _is_batched(t: torch.Tensor) -> bool:
    """Whether ``t`` is a ``torch.func.vmap`` batched tensor (its values cannot be read on the host)."""
    return bool(torch._C._functorch.is_batchedtensor(t))


class AttnLayer(nn.Module):
    """Causal multi-head attention with separate W_Q, W_K, W_V (d → d_attn) and an output map W_O
    (d_attn → d).

    Introduced in notebooks/04_single_vs_looped.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d, A = cfg.d_model, cfg.attn_width
        self.n_heads, self.attn_type = cfg.n_heads, cfg.attn_type
        self.W_Q = nn.Linear(d, A, bias=False)
        self.W_K = nn.Linear(d, A, bias=False)
        self.W_V = nn.Linear(d, A, bias=False)
        self.W_O = nn.Linear(A, d, bias=False)

    def forward(self, h: torch.Tensor, backend: str = "fused", return_scores: bool = False):
        B, T, _ = h.shape
        H = self.n_heads
        A = self.W_Q.out_features
        if self.attn_type == "softmax" and backend == "fused" and not return_scores:
            # Q = W_Q h, K = W_K h, V = W_V h, split into heads: (B, H, T, d_h)
            q, k, v = (W(h).view(B, T, H, A // H).transpose(1, 2) for W in (self.W_Q, self.W_K, self.W_V))
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, d_h)
            return self.W_O(out.transpose(1, 2).reshape(B, T, A))  # (B, T, d)
        # the explicit path (double-backward safe). Every Hessian-vector product differentiates it twice,
        # so it has as few nodes as the maths allows: one head needs no head split (3-d tensors), and the
        # causal mask is added inside the Q Kᵀ product (baddbmm) instead of a masked_fill
        q, k, v = (self._split_heads(W(h)) for W in (self.W_Q, self.W_K, self.W_V))  # (B, T, A) or (B, H, T, d_h)
        if self.attn_type == "softmax":
            # A = softmax((Q Kᵀ + M) / √d_h), M = −∞ above the diagonal and 0 elsewhere
            M = torch.full((T, T), float("-inf"), dtype=q.dtype, device=h.device).triu(1)  # (T, T)
            logits = torch.baddbmm(M.expand(B, T, T), q, k.transpose(-2, -1)) if H == 1 else q @ k.transpose(-2, -1) + M
            scores = (logits / math.sqrt(A // H)).softmax(dim=-1)
        else:
            # A = (Q Kᵀ ⊙ C) / (i + 1), C the causal 0/1 mask: linear attention, averaged over the i+1 visible tokens
            causal = torch.ones(T, T, dtype=torch.bool, device=h.device).tril()  # (T, T)
            n_seen = torch.arange(1, T + 1, device=h.device, dtype=h.dtype).view(T, 1)
            scores = (q @ k.transpose(-2, -1)).masked_fill(~causal, 0.0) / n_seen
        out = self.W_O(self._merge_heads(scores @ v))  # (B, T, d)
        return (out, scores.view(B, H, T, T)) if return_scores else out

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, A) → (B, H, T, d_h); with one head, ``x`` itself (no view nodes)."""
        if self.n_heads == 1:
            return x
        B, T, A = x.shape
        return x.view(B, T, self.n_heads, A // self.n_heads).transpose(1, 2)

    def _merge_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, T, d_h) → (B, T, A); with one head, ``x`` itself."""
        if self.n_heads == 1:
            return x
        B, H, T, dh = x.shape
        return x.transpose(1, 2).reshape(B, T, H * dh)


def _layernorm(cfg: ModelConfig) -> nn.Module:
    return nn.LayerNorm(cfg.d_model) if cfg.layernorm else nn.Identity()


def _mlp(cfg: ModelConfig) -> nn.Module | None:
    """MLP(h) = W_2 GELU(W_1 LN(h) + b_1) + b_2, hidden width d_mlp (None without ``cfg.mlp``)."""
    if not cfg.mlp:
        return None
    d, M = cfg.d_model, cfg.mlp_width
    return nn.Sequential(_layernorm(cfg), nn.Linear(d, M), nn.GELU(), nn.Linear(M, d))


class LoopBlock(nn.Module):
    """The loop body: one attention layer with its pre-LN and optional MLP,

        E_{t+1} = E_t + Attn(LN(E_t)) [+ MLP] [+ E_0 if input injection].

    Looped-Attn applies one block ``n_loops`` times; Untied-Attn applies L blocks (``model.layers[l]``),
    one after another. A shared-weight model keeps its block's ``attn``, ``ln_attn`` and ``mlp`` at its
    own top level (parameter names ``attn.W_Q.weight`` …); an untied one under ``layers.{l}.``.

    Introduced in notebooks/04_single_vs_looped.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.attn = AttnLayer(cfg)
        self.ln_attn = _layernorm(cfg)
        self.mlp = _mlp(cfg)
        self.input_injection = cfg.input_injection

    def forward(self, h: torch.Tensor, e0: torch.Tensor, backend: str = "fused", return_scores: bool = False):
        """E_t (B, T, d) → E_{t+1} (B, T, d); with ``return_scores`` also this step's attention map
        (B, H, T, T), on the explicit path."""
        a = self.attn(self.ln_attn(h), backend=backend, return_scores=return_scores)
        out, scores = a if return_scores else (a, None)
        h = h + out  # E ← E + Attn(LN(E))
        if self.mlp is not None:
            h = h + self.mlp(h)  # E ← E + MLP(E) (the MLP holds its own pre-LN)
        if self.input_injection:
            h = h + e0  # E ← E + E_0
        return (h, scores) if return_scores else h


class LoopedAttn(nn.Module):
    """Embedding → :class:`LoopBlock` applied ``n_loops`` times → readout.

    ``cfg.share_weights=True`` (Single/Looped-Attn): one block (its layer ``model.attn``) reused every loop;
    ``n_loops`` is a plain attribute — set it to switch between Single-Attn (1) and Looped-Attn (3)
    without touching a parameter. ``cfg.share_weights=False`` (Untied-Attn): ``model.layers[l]``
    (a :class:`LoopBlock`) is applied at step l; the depth L = ``cfg.n_loops`` is fixed.

    ``model(tokens)`` takes integer ids in [0, vocab_size) of shape (B, T) and returns next-token
    logits ``(B, T, V)``.

    Introduced in notebooks/04_single_vs_looped.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d, V = cfg.d_model, cfg.vocab_size
        self.embed = nn.Embedding(V, d)
        self.pos = nn.Parameter(torch.zeros(cfg.max_len, d))
        if cfg.share_weights:
            block = LoopBlock(cfg)
            # the one block's layers sit at the top level (parameter names attn.W_Q.weight …); the block
            # itself is held unregistered, so checkpoints name each tensor once
            self.attn, self.ln_attn, self.mlp = block.attn, block.ln_attn, block.mlp
            self.__dict__["_block"] = block
        else:
            self.layers = nn.ModuleList(LoopBlock(cfg) for _ in range(cfg.n_loops))  # l = 0..L-1
        self.readout = nn.Linear(d, V, bias=False)
        self.n_loops = cfg.n_loops
        self.backend = "fused"  # "math" forces the explicit attention path (double backward)
        self.reset_parameters()

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            cfg = self.__dict__.get("cfg")
            if name in _SHARED_ONLY and cfg is not None and not cfg.share_weights:
                raise AttributeError(
                    f"an untied model has no shared {name!r}: its {cfg.n_loops} layers are "
                    f"model.layers[0..{cfg.n_loops - 1}].{name}"
                ) from None
            raise

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Every weight ~ N(0, init_std²), LayerNorm at (1, 0), biases 0; ``generator`` for seeding.

        Draw order: the shared model's parameter order. An untied model draws its layer 0 where the
        shared layer sits and its layers 1..L-1 last, so with one seed Untied-L starts from exactly
        the embedding, positions, readout and first layer of Single-/Looped-Attn.
        """
        norm_params = {id(p) for m in self.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()}
        named = list(self.named_parameters())
        later = [(n, p) for n, p in named if n.startswith("layers.") and not n.startswith("layers.0.")]
        later_names = {n for n, _ in later}
        for name, p in [(n, p) for n, p in named if n not in later_names] + later:
            with torch.no_grad():
                if id(p) in norm_params:
                    p.fill_(1.0 if name.endswith("weight") else 0.0)
                elif name.endswith("bias"):
                    p.zero_()
                else:
                    p.copy_(torch.randn(p.shape, generator=generator) * self.cfg.init_std)

    @property
    def share_weights(self) -> bool:
        return self.cfg.share_weights

    @property
    def n_layers(self) -> int:
        """Distinct attention layers (1 when shared, L when untied)."""
        return self.cfg.n_layers

    @property
    def n_loops(self) -> int:
        return self._n_loops

    @n_loops.setter
    def n_loops(self, value: int) -> None:
        self._n_loops = self._check_loops(value)

    def _check_loops(self, value) -> int:
        value = check_int("n_loops", value, 1)
        if not self.cfg.share_weights and value != self.cfg.n_loops:
            raise ValueError(
                f"n_loops: an untied model has a fixed depth of {self.cfg.n_loops} layers, got {value}; "
                f"build untied_attn(cfg, {value}) for another depth"
            )
        return value

    def _blocks(self, loops: int) -> list:
        """The blocks applied at steps t = 0..loops-1: the one shared block repeated, or the L layers."""
        if self.cfg.share_weights:
            return [self._block] * loops
        return list(self.layers)

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """E_0 = embed(x) + pos: (B, T) integer ids in [0, vocab_size) → (B, T, d).

        The id range is checked with one min/max reduction per call (skipped while ``torch.compile``
        traces, so a compiled graph has no host sync, and inside ``torch.func.vmap``, where a
        tensor has no single value to read).
        """
        V = self.cfg.vocab_size
        if not isinstance(tokens, torch.Tensor):
            raise ValueError(f"tokens must be a torch.Tensor of integer ids in [0, {V}), got {type(tokens).__name__}")
        if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
            raise ValueError(f"tokens must have an integer dtype (ids in [0, {V})), got {tokens.dtype}")
        if tokens.dim() != 2:
            raise ValueError(f"tokens must have shape (batch, length), got {tuple(tokens.shape)}")
        T = tokens.shape[1]
        if T > self.cfg.max_len:
            raise ValueError(f"sequence length {T} exceeds max_len={self.cfg.max_len}")
        if tokens.dtype not in (torch.int64, torch.int32):
            tokens = tokens.long()  # nn.Embedding takes int32/int64 ids only
        if tokens.numel() and not torch.compiler.is_compiling() and not _is_batched(tokens):
            lo, hi = (int(v) for v in torch.aminmax(tokens))  # one reduction, then two scalars
            if lo < 0 or hi >= V:
                raise ValueError(f"tokens must be ids in [0, {V}) (vocab_size={V}), got ids in [{lo}, {hi}]")
        return self.embed(tokens) + self.pos[:T]  # (B, T, d)

    def _run(self, tokens: torch.Tensor, n_loops: int | None, keep_maps: bool):
        """E_0 → E_1 → … → E_n through the blocks: the hidden states [E_0, …, E_n] and, with
        ``keep_maps``, the attention map of every step (computed on the explicit path)."""
        loops = self.n_loops if n_loops is None else self._check_loops(n_loops)
        e0 = self.embed_tokens(tokens)  # (B, T, d)
        hidden, maps = [e0], []
        for block in self._blocks(loops):
            if keep_maps:
                h, a = block(hidden[-1], e0, backend="math", return_scores=True)
                maps.append(a)
            else:
                h = block(hidden[-1], e0, backend=self.backend)
            hidden.append(h)
        return hidden, maps

    def forward(self, tokens: torch.Tensor, n_loops: int | None = None, return_hidden: bool = False):
        hidden, _ = self._run(tokens, n_loops, keep_maps=False)
        logits = self.readout(hidden[-1])  # logits = W_out E_n: (B, T, V)
        return (logits, hidden) if return_hidden else logits

    @torch.no_grad()
    def attention_maps(self, tokens: torch.Tensor, n_loops: int | None = None) -> torch.Tensor:
        """The attention pattern of every loop (shared) or every layer (untied): ``(n_loops, B, H, T, T)``.

        Map t is the one applied at step t: A_t[b, h, i, j] = attention of query i to key j ≤ i.

        Introduced in notebooks/04_single_vs_looped.
        """
        _, maps = self._run(tokens, n_loops, keep_maps=True)
        return torch.stack(maps)  # (n_loops, B, H, T, T)


# The parameter blocks, by the names a shared-weight model gives them. An untied model holds a layer's
# parameters under the same names prefixed ``layers.{l}.``: a layer's block there is every layer's.
PARAM_BLOCKS = {
    "W_Q": ("attn.W_Q.weight",),
    "W_K": ("attn.W_K.weight",),
    "W_V": ("attn.W_V.weight",),
    "W_O": ("attn.W_O.weight",),
    "attention": ("attn.W_Q.weight", "attn.W_K.weight", "attn.W_V.weight", "attn.W_O.weight"),
    "qk": ("attn.W_Q.weight", "attn.W_K.weight"),
    "output": ("readout.weight",),
    "embedding": ("embed.weight", "pos"),
}


def block_params(model: nn.Module, block: str) -> list[str]:
    """The trainable parameter names of ``block`` (:data:`PARAM_BLOCKS`) in ``model``, in the model's
    order: ``attn.W_Q.weight`` … for a shared-weight model, ``layers.{l}.attn.W_Q.weight`` … for every
    layer l of an untied one (``"attention"`` is then every layer's W_Q, W_K, W_V, W_O).

    Introduced in notebooks/05_hessian_dynamics.
    """
    check_choice("block", block, tuple(PARAM_BLOCKS))
    names = PARAM_BLOCKS[block]
    # a name n is in the block when n, or n less its "layers.{l}." prefix, is one of the block's names
    chosen = [n for n, p in model.named_parameters()
              if p.requires_grad and (n in names or (n.startswith("layers.") and n.split(".", 2)[-1] in names))]
    if not chosen:
        raise ValueError(f"block {block!r}: the model has no trainable parameter named {', '.join(names)}")
    return chosen


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
    return build_model(variant_config(cfg, "single"), generator)


def looped_attn(cfg: ModelConfig, n_loops: int = 3, generator: torch.Generator | None = None) -> LoopedAttn:
    """Looped-Attn: the same layer applied ``n_loops`` times (paper: 3) with shared weights.

    Introduced in notebooks/04_single_vs_looped.
    """
    return build_model(variant_config(cfg, "looped", check_int("n_loops", n_loops, 1)), generator)


def untied_attn(cfg: ModelConfig, n_layers: int = 3, generator: torch.Generator | None = None) -> LoopedAttn:
    """Untied-Attn: ``n_layers`` distinct attention layers in series — Looped-Attn's compute without
    its weight sharing (the plain-depth control).

        E_{l+1} = E_l + Attn_l(LN_l(E_l)) [+ MLP_l] [+ E_0],  l = 0..L-1,  (Attn_l, LN_l, MLP_l) independent

    Same embedding, readout, per-layer block and N(0, init_std²) initialisation as Single/Looped-Attn;
    every layer has its own LayerNorms. With one seed, its embedding, readout and layer 0 equal those
    of ``single_attn(cfg, generator)``; layers 1..L-1 are fresh draws. Parameters are named
    ``layers.{l}.attn.W_Q.weight`` etc.; ``model.n_loops`` is fixed at L.

    Introduced in notebooks/04_single_vs_looped.
    """
    return build_model(variant_config(cfg, "untied", check_int("n_layers", n_layers, 1)), generator)


def wide_single_attn(cfg: ModelConfig, n_layers: int = 3, generator: torch.Generator | None = None) -> LoopedAttn:
    """Wide Single-Attn: one layer with the parameters of Untied-``n_layers`` placed side by side.

    Choice: L·H heads of the *same* head width d_h (attention width d_attn = L·d_attn), and an L×-wide
    MLP (hidden width L·d_mlp), applied once. Kept fixed: the residual width d, the embedding, the
    readout, the head width (so the softmax temperature 1/√d_h) and the initialisation. Then

        W_Q, W_K, W_V: (L·d_attn) × d, W_O: d × (L·d_attn)  →  4·d·L·d_attn = Untied-L's attention weights,

    and the forward FLOPs equal Untied-L's and Looped-L's (up to the MLP biases) — the same budget
    spent in parallel instead of in series, which isolates composition. (Widening d_model instead
    would also change the embedding and readout, and only match the count approximately.)

    The mismatch is explicit: n_params(Untied-L) − n_params(wide) = (L − 1)·(2d·[layernorm] +
    (2d·[layernorm] + d)·[mlp]) — the L − 1 extra pre-LNs and MLP output biases a single layer has no
    room for. It is 0 without LayerNorm and MLP (see :func:`n_params_formula`).

    Introduced in notebooks/04_single_vs_looped.
    """
    return build_model(variant_config(cfg, "wide", check_int("n_layers", n_layers, 1)), generator)


def variant_config(cfg: ModelConfig, kind: str, depth: int = 3) -> ModelConfig:
    """``cfg`` as one of the compared architectures (every other field unchanged):

    - ``"single"``: one shared layer, 1 loop; ``"looped"``: one shared layer, ``depth`` loops;
    - ``"untied"``: ``depth`` distinct layers; ``"wide"``: one layer with ``depth``× the heads
      (same head width) and ``depth``× the MLP width, applied once (see :func:`wide_single_attn`).

    Introduced in notebooks/04_single_vs_looped.
    """
    check_choice("kind", kind, KINDS)
    depth = check_int("depth", depth, 1)
    if kind == "single":
        return replace(cfg, n_loops=1, share_weights=True)
    if kind == "looped":
        return replace(cfg, n_loops=depth, share_weights=True)
    if kind == "untied":
        return replace(cfg, n_loops=depth, share_weights=False)
    return replace(cfg, n_loops=1, share_weights=True, n_heads=depth * cfg.n_heads,
                   d_attn=depth * cfg.attn_width, d_mlp=depth * cfg.mlp_width)


def untie(model: LoopedAttn) -> LoopedAttn:
    """An Untied-L copy of a shared model (L = ``model.n_loops``) whose every layer holds a copy of
    the shared layer: it computes exactly the same function, and from there its layers can diverge.

    Introduced in notebooks/04_single_vs_looped.
    """
    if not model.cfg.share_weights:
        raise ValueError("model: untie needs a shared-weight model (cfg.share_weights=True)")
    cfg = replace(model.cfg, n_loops=model.n_loops, share_weights=False)
    out = LoopedAttn(cfg).to(device=model.pos.device, dtype=model.pos.dtype)
    shared = model.state_dict()
    state = {}
    for name in out.state_dict():
        parts = name.split(".")
        # layers.{l}.<shared name> ← <shared name>; embedding, positions, readout as they are
        state[name] = shared[".".join(parts[2:]) if parts[0] == "layers" else name]
    out.load_state_dict(state)  # copies every tensor into the new model's own parameters
    out.backend = model.backend
    return out


def n_params(model: nn.Module) -> int:
    """Number of trainable parameters.

    Introduced in notebooks/04_single_vs_looped.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def n_params_formula(cfg: ModelConfig, kind: str | None = None, depth: int = 3) -> int:
    """Closed-form parameter count of the model ``cfg`` builds (of ``variant_config(cfg, kind, depth)``
    when ``kind`` is given). With d = d_model, V = vocab_size, T = max_len, A = d_attn, M = d_mlp:

        P = V·d (embed) + T·d (pos) + d·V (readout) + n_layers · P_layer
        P_layer = 4·d·A (W_Q, W_K, W_V, W_O) + 2d·[layernorm] + (2·d·M + M + d + 2d·[layernorm])·[mlp]

    n_layers = 1 for Single/Looped/wide, L for Untied-L.

    Introduced in notebooks/04_single_vs_looped.
    """
    if kind is not None:
        cfg = variant_config(cfg, kind, depth)
    d, V, T, A, M = cfg.d_model, cfg.vocab_size, cfg.max_len, cfg.attn_width, cfg.mlp_width
    per_layer = 4 * d * A  # W_Q, W_K, W_V: A × d; W_O: d × A
    if cfg.layernorm:
        per_layer += 2 * d  # γ, β of the pre-attention LayerNorm
    if cfg.mlp:
        per_layer += d * M + M + M * d + d  # W_1, b_1, W_2, b_2
        if cfg.layernorm:
            per_layer += 2 * d  # the MLP's pre-LayerNorm
    return V * d + T * d + d * V + cfg.n_layers * per_layer


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

    Per layer application, with d = d_model, A = d_attn, M = d_mlp: the projections W_Q, W_K, W_V,
    W_O cost 4·2·B·T·d·A, the scores Q Kᵀ and the mix A V cost 2·2·B·T²·A (the full T × T matrix),
    and the optional MLP 2·2·B·T·d·M. The readout adds 2·B·T·d·V once. Untied-L costs what Looped-L
    costs (``n_loops`` must then be its depth L). Elementwise work (softmax, LayerNorm, GELU) is not
    counted; the matrix products are exactly what ``torch.utils.flop_counter`` counts on the math
    path. A training step (forward + backward) costs about 3× this. Used for SHIFT's compute accounting.

    Introduced in notebooks/04_single_vs_looped.
    """
    n_loops = check_int("n_loops", n_loops, 1)
    if not cfg.share_weights and n_loops != cfg.n_loops:
        raise ValueError(f"n_loops: an untied model runs its {cfg.n_loops} layers once each, got n_loops={n_loops}")
    B, T, d, V = int(batch), int(length), cfg.d_model, cfg.vocab_size
    A, M = cfg.attn_width, cfg.mlp_width
    per_loop = 8 * B * T * d * A + 4 * B * T * T * A  # projections + (Q Kᵀ, A V)
    if cfg.mlp:
        per_loop += 4 * B * T * d * M  # d → M → d
    return float(n_loops * per_loop + 2 * B * T * d * V)


# (label, kind, depth) of the side-by-side comparison of :func:`variant_table`
TABLE_VARIANTS = (
    ("Single-Attn", "single", 1),
    ("Looped-Attn x3", "looped", 3),
    ("Untied-Attn x2", "untied", 2),
    ("Untied-Attn x3", "untied", 3),
    ("Wide Single-Attn (3x heads)", "wide", 3),
)


def variant_table(cfg: ModelConfig, length: int | None = None, variants=TABLE_VARIANTS) -> list[dict]:
    """Side by side: parameters and forward FLOPs per sequence of ``length`` tokens (default
    ``cfg.max_len``) for Single, Looped-3, Untied-2, Untied-3 and the wide Single-Attn.

    One row per variant: ``{"model", "kind", "depth", "n_layers", "n_params", "forward_flops",
    "params_vs_single", "flops_vs_single"}`` (closed forms: :func:`n_params_formula`,
    :func:`forward_flops` with batch 1). ``pandas.DataFrame(rows)`` or :func:`format_variant_table`
    shows it.

    Introduced in notebooks/04_single_vs_looped.
    """
    T = cfg.max_len if length is None else check_int("length", length, 1, cfg.max_len)
    rows = []
    for label, kind, depth in variants:
        c = variant_config(cfg, kind, depth)
        rows.append({"model": label, "kind": kind, "depth": c.n_loops, "n_layers": c.n_layers,
                     "n_params": n_params_formula(c), "forward_flops": forward_flops(c, c.n_loops, 1, T)})
    p0, f0 = rows[0]["n_params"], rows[0]["forward_flops"]
    for r in rows:
        r["params_vs_single"] = r["n_params"] / p0
        r["flops_vs_single"] = r["forward_flops"] / f0
    return rows


def format_variant_table(rows: list[dict]) -> str:
    """:func:`variant_table` rows as an aligned plain-text table (rounded, for printing in notebooks).

    Introduced in notebooks/04_single_vs_looped.
    """
    head = (f"{'model':<28} {'layers':>6} {'depth':>5} {'params':>10} {'x single':>8} "
            f"{'fwd FLOPs/seq':>14} {'x single':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['model']:<28} {r['n_layers']:>6} {r['depth']:>5} {r['n_params']:>10,} "
                     f"{r['params_vs_single']:>8.2f} {r['forward_flops']:>14.3e} {r['flops_vs_single']:>8.2f}")
    return "\n".join(lines)
