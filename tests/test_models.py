"""Attention layers looped, untied and widened: the fused and math paths agree, double backward
works, causality, Untied-L with equal layers is Looped-L, closed-form parameters and FLOPs, bad input."""

import copy

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from loopvalley.looped.models import (
    KINDS,
    PARAM_BLOCKS,
    LoopedAttn,
    ModelConfig,
    block_params,
    build_model,
    format_variant_table,
    forward_flops,
    looped_attn,
    math_attention,
    n_params,
    n_params_formula,
    single_attn,
    untie,
    untied_attn,
    variant_config,
    variant_table,
    wide_single_attn,
)

torch.set_num_threads(1)
VARIANTS = [
    dict(),
    dict(n_heads=2, layernorm=True),
    dict(mlp=True, input_injection=True),
    dict(attn_type="linear", n_heads=2),
]


def _cfg(**kw):
    return ModelConfig(vocab_size=4, max_len=12, d_model=16, init_std=0.3, **kw)


def _model(loops=3, **kw):
    return looped_attn(_cfg(**kw), loops, generator=torch.Generator().manual_seed(0)).double()


def _untied(layers=3, **kw):
    return untied_attn(_cfg(**kw), layers, generator=torch.Generator().manual_seed(0)).double()


def _build(tied, loops, **kw):
    return _model(loops, **kw) if tied else _untied(loops, **kw)


def _tokens(B=3, T=10, seed=1):
    return torch.randint(0, 4, (B, T), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("kw", VARIANTS)
@pytest.mark.parametrize("tied, loops", [(True, 1), (True, 3), (False, 3)])
def test_fused_and_math_paths_agree(kw, tied, loops):
    model, x = _build(tied, loops, **kw), _tokens()
    out = model(x)
    grads = torch.autograd.grad(out.pow(2).sum(), list(model.parameters()))
    with math_attention(model):
        assert model.backend == "math"
        out_m = model(x)
        grads_m = torch.autograd.grad(out_m.pow(2).sum(), list(model.parameters()))
    assert model.backend == "fused"
    assert torch.allclose(out, out_m, atol=1e-10)
    for a, b in zip(grads, grads_m):
        assert torch.allclose(a, b, atol=1e-9)


@pytest.mark.parametrize("n_heads, attn_type", [(1, "softmax"), (2, "softmax"), (4, "softmax"), (1, "linear"), (2, "linear")])
def test_math_path_is_the_attention_formula_head_by_head(n_heads, attn_type):
    """The explicit path against attention written from its definition, one head and one query at a time:
    a_ij = softmax_j≤i(q_i·k_j / √d_h) (or q_i·k_j / (i+1) for linear attention), out_i = W_O [Σ_j a_ij v_j]_heads."""
    cfg = _cfg(n_heads=n_heads, attn_type=attn_type)
    layer = looped_attn(cfg, 1, generator=torch.Generator().manual_seed(0)).double().attn
    h = torch.randn(2, 7, cfg.d_model, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    out, scores = layer(h, backend="math", return_scores=True)
    dh = cfg.d_model // n_heads
    Q, K, V = layer.W_Q(h), layer.W_K(h), layer.W_V(h)  # (B, T, A)
    ref_scores = torch.zeros(2, n_heads, 7, 7, dtype=torch.float64)
    heads = torch.zeros(2, 7, cfg.d_model, dtype=torch.float64)
    for b in range(2):
        for hd in range(n_heads):
            cols = slice(hd * dh, (hd + 1) * dh)
            for i in range(7):
                dots = torch.stack([Q[b, i, cols] @ K[b, j, cols] for j in range(i + 1)])
                a = torch.softmax(dots / dh**0.5, 0) if attn_type == "softmax" else dots / (i + 1)
                ref_scores[b, hd, i, : i + 1] = a
                heads[b, i, cols] = sum(a[j] * V[b, j, cols] for j in range(i + 1))
    assert scores.shape == (2, n_heads, 7, 7)
    assert torch.allclose(scores, ref_scores, atol=1e-12)
    assert torch.allclose(out, layer.W_O(heads), atol=1e-12)


@pytest.mark.parametrize("tied", [True, False])
def test_double_backward_on_the_math_path(tied):
    """A Hessian-vector product H v through the math path matches a finite difference of gradients."""
    model, x = _build(tied, 3, n_heads=2), _tokens()
    params = list(model.parameters())
    v = [torch.randn(p.shape, generator=torch.Generator().manual_seed(i), dtype=p.dtype) for i, p in enumerate(params)]

    def grad_at(create_graph=False):
        loss = torch.nn.functional.cross_entropy(model(x)[:, :-1].reshape(-1, 4), x[:, 1:].reshape(-1))
        return torch.autograd.grad(loss, params, create_graph=create_graph)

    with math_attention(model):
        g = grad_at(create_graph=True)
        hv = torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), params)
        eps = 1e-5
        with torch.no_grad():
            for p, vi in zip(params, v):
                p.add_(eps * vi)
        g_plus = grad_at()
        with torch.no_grad():
            for p, vi in zip(params, v):
                p.sub_(2 * eps * vi)
        g_minus = grad_at()
    for h, gp, gm in zip(hv, g_plus, g_minus):
        assert torch.allclose(h, (gp - gm) / (2 * eps), atol=1e-6)  # H v ≈ (∇L(θ+εv) − ∇L(θ−εv)) / 2ε


@pytest.mark.parametrize("kw", VARIANTS)
@pytest.mark.parametrize("tied", [True, False])
def test_causality(kw, tied):
    """Changing a future token never changes earlier logits."""
    model, x = _build(tied, 3, **kw), _tokens()
    y = x.clone()
    y[:, 6] = (y[:, 6] + 1) % 4
    a, b = model(x), model(y)
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-12)
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_shapes_and_attention_maps():
    model, x = _model(3, n_heads=2), _tokens(B=2, T=7)
    logits, hidden = model(x, return_hidden=True)
    assert logits.shape == (2, 7, 4) and len(hidden) == 4 and hidden[-1].shape == (2, 7, 16)
    maps = model.attention_maps(x)
    assert maps.shape == (3, 2, 2, 7, 7)
    assert torch.allclose(maps.sum(-1), torch.ones(3, 2, 2, 7, dtype=maps.dtype))
    assert float(maps.triu(1).abs().max()) == 0.0  # causal: nothing above the diagonal
    assert model(x, n_loops=1).shape == (2, 7, 4)


def test_single_and_looped_have_identical_parameters():
    cfg = ModelConfig(d_model=32, layernorm=True)
    s, l = single_attn(cfg), looped_attn(cfg, 3)
    assert s.n_loops == 1 and l.n_loops == 3
    assert n_params(s) == n_params(l)
    assert [n for n, _ in s.named_parameters()] == [n for n, _ in l.named_parameters()]
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    a, b = single_attn(cfg, g()), looped_attn(cfg, 3, g())
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_forward_flops_linear_in_loops():
    cfg = ModelConfig(d_model=32, max_len=64)
    f = [forward_flops(cfg, k, 8, 64) for k in (1, 2, 3)]
    assert f[2] - f[1] == pytest.approx(f[1] - f[0]) and f[1] - f[0] > 0


@pytest.mark.parametrize(
    "kwargs, name",
    [({"n_loops": 0}, "n_loops"), ({"attn_type": "cosine"}, "attn_type"), ({"vocab_size": 1}, "vocab_size"),
     ({"d_model": 0}, "d_model"), ({"d_attn": 0}, "d_attn"), ({"d_attn": 15, "n_heads": 2}, "d_attn"),
     ({"d_model": 15, "n_heads": 2}, "d_model"), ({"d_mlp": 0}, "d_mlp"), ({"share_weights": 1}, "share_weights")],
)
def test_bad_config_raises(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ModelConfig(**kwargs)


def test_bad_runtime_input_raises():
    model = build_model(ModelConfig(max_len=8))
    with pytest.raises(ValueError, match="n_loops"):
        model.n_loops = 0
    with pytest.raises(ValueError, match="max_len"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="n_loops"):
        looped_attn(ModelConfig(), 0)


# ----------------------------------------------------------------------------------------------
# Untied-Attn (plain depth) and the wide Single-Attn


ALL_VARIANTS = VARIANTS + [dict(layernorm=True, mlp=True, input_injection=True, n_heads=2)]


def _copy_shared_into_every_layer(looped, untied):
    """Set each untied layer l to the shared layer, module by module (independent of ``untie``)."""
    with torch.no_grad():
        untied.embed.weight.copy_(looped.embed.weight)
        untied.pos.copy_(looped.pos)
        untied.readout.weight.copy_(looped.readout.weight)
        for block in untied.layers:
            for w in ("W_Q", "W_K", "W_V", "W_O"):
                getattr(block.attn, w).weight.copy_(getattr(looped.attn, w).weight)
            for mine, theirs in zip(block.ln_attn.parameters(), looped.ln_attn.parameters()):
                mine.copy_(theirs)
            if looped.mlp is not None:
                for mine, theirs in zip(block.mlp.parameters(), looped.mlp.parameters()):
                    mine.copy_(theirs)


@pytest.mark.parametrize("kw", ALL_VARIANTS)
@pytest.mark.parametrize("backend", ["fused", "math"])
@pytest.mark.parametrize("loops", [2, 3])
def test_untied_with_identical_layers_is_looped(kw, backend, loops):
    """Untied-L whose L layers all equal the shared layer computes exactly Looped-L (bit for bit)."""
    looped, x = _model(loops, **kw), _tokens()
    untied = _untied(loops, **kw)
    assert not torch.equal(untied(x), looped(x))  # distinct layers: a different function
    _copy_shared_into_every_layer(looped, untied)
    for m in (looped, untied):
        m.backend = backend
    assert torch.equal(untied(x), looped(x))
    assert torch.equal(untied.attention_maps(x), looped.attention_maps(x))
    copy = untie(looped)  # the library's own helper does the same
    assert copy.n_layers == loops and torch.equal(copy(x), looped(x))
    with torch.no_grad():
        copy.layers[-1].attn.W_V.weight.mul_(2.0)  # its layers are its own: the original is unchanged
    assert not torch.equal(copy(x), looped(x)) and torch.equal(untied(x), looped(x))


def test_untied_parameter_names_and_seeding():
    cfg = ModelConfig(d_model=8, vocab_size=3, max_len=6, layernorm=True, mlp=True)
    u, s = untied_attn(cfg, 3, torch.Generator().manual_seed(5)), single_attn(cfg, torch.Generator().manual_seed(5))
    shared = [n for n, _ in s.named_parameters()]
    assert shared == ["pos", "embed.weight", "attn.W_Q.weight", "attn.W_K.weight", "attn.W_V.weight",
                      "attn.W_O.weight", "ln_attn.weight", "ln_attn.bias", "mlp.0.weight", "mlp.0.bias",
                      "mlp.1.weight", "mlp.1.bias", "mlp.3.weight", "mlp.3.bias", "readout.weight"]
    layer_names = [n for n in shared if n not in ("pos", "embed.weight", "readout.weight")]
    want = ["pos", "embed.weight"] + [f"layers.{l}.{n}" for l in range(3) for n in layer_names] + ["readout.weight"]
    assert [n for n, _ in u.named_parameters()] == want
    assert list(u.state_dict()) == want  # no aliases: checkpoints hold each tensor once
    # one seed: Untied-L starts from Single's embedding, positions, readout and first layer
    up, sp = dict(u.named_parameters()), dict(s.named_parameters())
    for n in shared:
        untied_name = n if n in ("pos", "embed.weight", "readout.weight") else f"layers.0.{n}"
        assert torch.equal(up[untied_name], sp[n])
    # layers 1, 2 are fresh draws of the same law; LayerNorms start at (1, 0), biases at 0
    for l in (1, 2):
        w = up[f"layers.{l}.attn.W_Q.weight"]
        assert not torch.equal(w, up["layers.0.attn.W_Q.weight"])
        assert torch.equal(up[f"layers.{l}.ln_attn.weight"], torch.ones(8))
        assert torch.equal(up[f"layers.{l}.mlp.1.bias"], torch.zeros(32))
    big = untied_attn(ModelConfig(d_model=64, init_std=0.02), 3, torch.Generator().manual_seed(0))
    w = torch.cat([b.attn.W_K.weight.flatten() for b in big.layers])
    assert abs(float(w.detach().std()) - 0.02) < 0.03 * 0.02  # 12288 N(0, σ²) draws: std = σ ± 3% (SE 0.6%)


def test_untied_depth_is_fixed_and_shared_attributes_are_absent():
    model = _untied(3)
    assert model.n_loops == 3 and model.n_layers == 3 and not model.share_weights
    model.n_loops = 3  # its own depth: fine
    with pytest.raises(ValueError, match="n_loops"):
        model.n_loops = 1
    with pytest.raises(ValueError, match="n_loops"):
        model(_tokens(), n_loops=2)
    with pytest.raises(ValueError, match="n_loops"):
        model.attention_maps(_tokens(), n_loops=4)
    with pytest.raises(ValueError, match="n_loops"):
        forward_flops(model.cfg, 1, 2, 8)
    with pytest.raises(AttributeError, match="layers"):
        model.attn  # noqa: B018
    assert not hasattr(model, "attn") and not hasattr(model, "mlp")
    with pytest.raises(ValueError, match="model"):
        untie(model)
    shared = _model(1)
    shared.n_loops = 3  # SHIFT: a shared model switches depth freely
    assert shared.n_loops == 3 and shared.n_layers == 1 and shared.share_weights
    with pytest.raises(ValueError, match="n_layers"):
        untied_attn(_cfg(), 0)


def test_untied_attention_maps_are_each_layers_own():
    """Map l is the pattern layer l computes on its own input E_l (recomputed from the hidden states)."""
    model, x = _untied(3, n_heads=2, layernorm=True, mlp=True), _tokens(B=2, T=7)
    maps = model.attention_maps(x)
    assert maps.shape == (3, 2, 2, 7, 7)
    _, hidden = model(x, return_hidden=True)
    for l, block in enumerate(model.layers):
        _, a = block.attn(block.ln_attn(hidden[l]), backend="math", return_scores=True)
        assert torch.allclose(maps[l], a, atol=1e-12)
    assert not torch.allclose(maps[0], maps[1])
    assert torch.allclose(maps.sum(-1), torch.ones(3, 2, 2, 7, dtype=maps.dtype))


@pytest.mark.parametrize("kw", ALL_VARIANTS)
@pytest.mark.parametrize("kind, depth", [("single", 1), ("looped", 3), ("untied", 2), ("untied", 3), ("wide", 2)])
def test_the_model_is_its_blocks_applied_in_turn(kw, kind, depth):
    """logits = W_out E_n with E_{t+1} = block_t(E_t, E_0): one block n times (shared) or L blocks (untied),
    and map t is block t's own attention pattern — bit for bit, on both attention paths."""
    cfg = variant_config(_cfg(**kw), kind, depth)
    model, x = build_model(cfg, torch.Generator().manual_seed(0)).double(), _tokens()
    blocks = list(model.layers) if kind == "untied" else [model._block] * model.n_loops
    if kind != "untied":  # the shared block's layers are the model's top-level ones (one name per tensor)
        assert model._block.attn is model.attn and model._block.ln_attn is model.ln_attn and model._block.mlp is model.mlp
        assert not any("_block" in n for n in model.state_dict())
    for backend in ("fused", "math"):
        model.backend = backend
        e0 = model.embed_tokens(x)
        h, hs = e0, [e0]
        for block in blocks:
            h = block(h, e0, backend=backend)
            hs.append(h)
        logits, hidden = model(x, return_hidden=True)
        assert torch.equal(logits, model.readout(h)) and all(torch.equal(a, b) for a, b in zip(hidden, hs))
    maps = [block(hs[t], e0, backend="math", return_scores=True)[1] for t, block in enumerate(blocks)]
    assert torch.equal(model.attention_maps(x), torch.stack(maps))
    twin = copy.deepcopy(model)  # a copy's block holds the copy's layers, not the original's
    if kind != "untied":
        assert twin._block.attn is twin.attn and twin._block.attn is not model.attn
    with torch.no_grad():
        next(p for n, p in twin.named_parameters() if n.endswith("W_V.weight")).mul_(2.0)
    assert not torch.equal(twin(x), model(x))


KIND_CFGS = [dict(), dict(layernorm=True), dict(mlp=True), dict(layernorm=True, mlp=True, n_heads=2),
             dict(n_heads=4, d_attn=24, d_mlp=40, mlp=True)]


@pytest.mark.parametrize("kw", KIND_CFGS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_parameter_count_formula_matches_the_module(kw, kind, depth):
    cfg = ModelConfig(vocab_size=5, max_len=10, d_model=8, **kw)
    model = build_model(variant_config(cfg, kind, depth))
    assert n_params(model) == n_params_formula(cfg, kind, depth) == n_params_formula(model.cfg)
    assert n_params(model) == sum(p.numel() for p in model.state_dict().values())


@pytest.mark.parametrize("kw", KIND_CFGS + [dict(attn_type="linear", n_heads=2)])
@pytest.mark.parametrize("kind", KINDS)
def test_forward_flops_match_torch_flop_counter(kw, kind):
    """On the math path, the closed form is exactly the matmul FLOPs torch's counter sees."""
    cfg = ModelConfig(vocab_size=5, max_len=10, d_model=8, **kw)
    model = build_model(variant_config(cfg, kind, 3))
    x = torch.randint(0, 5, (3, 9), generator=torch.Generator().manual_seed(0))
    with math_attention(model), FlopCounterMode(display=False) as counter:
        model(x)
    assert counter.get_total_flops() == forward_flops(model.cfg, model.n_loops, 3, 9)


@pytest.mark.parametrize("kw", KIND_CFGS[:4])
@pytest.mark.parametrize("L", [2, 3, 4])
def test_wide_single_matches_untied_up_to_the_stated_mismatch(kw, L):
    cfg = ModelConfig(vocab_size=5, max_len=10, d_model=8, **kw)
    wide, untied = wide_single_attn(cfg, L), untied_attn(cfg, L)
    d = cfg.d_model
    # n_params(Untied-L) − n_params(wide) = (L − 1)·(2d·[LN] + (2d·[LN] + d)·[MLP])
    gap = (L - 1) * (2 * d * cfg.layernorm + (2 * d * cfg.layernorm + d) * cfg.mlp)
    assert n_params(untied) - n_params(wide) == gap
    attn_params = lambda m: sum(p.numel() for n, p in m.named_parameters() if ".W_" in n)  # noqa: E731
    assert attn_params(wide) == attn_params(untied) == L * 4 * d * d
    assert wide.n_loops == 1 and wide.cfg.n_heads == L * cfg.n_heads
    assert wide.cfg.head_width == cfg.head_width  # same head width, so the same 1/√d_h
    # the same forward FLOPs as Untied-L (the MLP's biases are not FLOPs of a matmul)
    assert forward_flops(wide.cfg, 1, 4, 10) == forward_flops(untied.cfg, L, 4, 10)
    if not cfg.layernorm and not cfg.mlp:
        assert n_params(wide) == n_params(untied)  # an exact match


def test_wide_single_is_the_untied_layers_in_parallel():
    """Untied-L's L attention layers stacked head-wise into one wide layer compute, on one input, the
    sum of their outputs: wide(E) = E + Σ_l Attn_l(E) (what "the same parameters, side by side" means)."""
    cfg, L = ModelConfig(vocab_size=5, max_len=10, d_model=8, n_heads=2, init_std=0.3), 3
    untied = untied_attn(cfg, L, torch.Generator().manual_seed(1)).double()
    wide = wide_single_attn(cfg, L, torch.Generator().manual_seed(2)).double()
    with torch.no_grad():
        for w in ("W_Q", "W_K", "W_V"):  # head blocks l·H .. (l+1)·H − 1 of the wide layer are layer l's
            getattr(wide.attn, w).weight.copy_(torch.cat([getattr(b.attn, w).weight for b in untied.layers], 0))
        wide.attn.W_O.weight.copy_(torch.cat([b.attn.W_O.weight for b in untied.layers], 1))
        wide.embed.weight.copy_(untied.embed.weight)
        wide.pos.copy_(untied.pos)
        wide.readout.weight.copy_(untied.readout.weight)
    x = torch.randint(0, 5, (2, 9), generator=torch.Generator().manual_seed(0))
    e0 = untied.embed_tokens(x)
    parallel = e0 + sum(b.attn(e0, backend="math") for b in untied.layers)
    assert torch.allclose(wide(x), untied.readout(parallel), atol=1e-12)


def test_variant_table():
    cfg = ModelConfig(vocab_size=3, max_len=32, d_model=16)
    rows = variant_table(cfg, length=20)
    by = {r["model"]: r for r in rows}
    assert [r["kind"] for r in rows] == ["single", "looped", "untied", "untied", "wide"]
    built = [single_attn(cfg), looped_attn(cfg, 3), untied_attn(cfg, 2), untied_attn(cfg, 3), wide_single_attn(cfg, 3)]
    for r, m in zip(rows, built):
        assert r["n_params"] == n_params(m) and r["depth"] == m.n_loops and r["n_layers"] == m.n_layers
        assert r["forward_flops"] == forward_flops(m.cfg, m.n_loops, 1, 20)
    single, looped, untied3 = by["Single-Attn"], by["Looped-Attn x3"], by["Untied-Attn x3"]
    wide = by["Wide Single-Attn (3x heads)"]
    assert looped["n_params"] == single["n_params"] and looped["forward_flops"] == untied3["forward_flops"]
    assert wide["n_params"] == untied3["n_params"] and wide["forward_flops"] == untied3["forward_flops"]
    # F(3)/F(1) = 3 − 2·R/F(1), R = 2·T·d·V the readout paid once
    R = 2 * 20 * 16 * 3
    assert looped["flops_vs_single"] == pytest.approx(3 - 2 * R / single["forward_flops"])
    text = format_variant_table(rows)
    assert len(text.splitlines()) == 2 + len(rows) and "Untied-Attn x2" in text


def test_config_round_trip_and_old_records():
    """New fields stay out of ``to_dict`` at their defaults, so older saved configs compare equal."""
    old_keys = {"vocab_size", "max_len", "d_model", "n_heads", "attn_type", "n_loops", "layernorm", "mlp",
                "input_injection", "init_std"}
    assert set(ModelConfig(n_loops=3, layernorm=True).to_dict()) == old_keys
    for cfg in (untied_attn(_cfg(), 2).cfg, wide_single_attn(_cfg(mlp=True), 3).cfg):
        assert ModelConfig(**cfg.to_dict()) == cfg
    u = _untied(2, layernorm=True)
    v = LoopedAttn(ModelConfig(**u.cfg.to_dict())).double()  # how a checkpoint is rebuilt
    v.load_state_dict(u.state_dict())
    x = _tokens()
    assert torch.equal(u(x), v(x))


def test_bad_token_ids_and_dtypes_raise():
    model = build_model(ModelConfig(vocab_size=4, max_len=8))
    ok = torch.tensor([[0, 1, 2, 3]])
    for bad in (torch.tensor([[0, 1, 4]]), torch.tensor([[0, -1, 2]]), torch.tensor([[7]], dtype=torch.int32)):
        with pytest.raises(ValueError, match=r"tokens.*\[0, 4\)"):
            model(bad)
        with pytest.raises(ValueError, match="tokens"):
            model.attention_maps(bad)
    for dtype in (torch.float32, torch.float64, torch.bool):
        with pytest.raises(ValueError, match=r"tokens.*integer dtype"):
            model(ok.to(dtype))
    with pytest.raises(ValueError, match="tokens"):
        model([[0, 1]])
    with pytest.raises(ValueError, match="tokens"):
        model(torch.tensor([0, 1]))
    ref = model(ok)
    for dtype in (torch.int32, torch.int16, torch.uint8):  # any integer dtype works and agrees
        assert torch.equal(model(ok.to(dtype)), ref)


@pytest.mark.parametrize("block", sorted(PARAM_BLOCKS))
def test_one_block_table_for_shared_and_untied_models(block):
    """A block names the same parameters in every model: a shared model's own, every layer's in an untied one."""
    cfg = _cfg(layernorm=True, mlp=True)
    shared, untied = looped_attn(cfg, 3), untied_attn(cfg, 3)
    assert block_params(shared, block) == [n for n, _ in shared.named_parameters() if n in PARAM_BLOCKS[block]]
    assert set(block_params(shared, block)) == set(PARAM_BLOCKS[block])
    layer_names = [n for n in PARAM_BLOCKS[block] if n.startswith("attn.")]
    top = [n for n in PARAM_BLOCKS[block] if not n.startswith("attn.")]
    want = [n for n, _ in untied.named_parameters()
            if n in top or any(n == f"layers.{l}.{m}" for l in range(3) for m in layer_names)]
    assert block_params(untied, block) == want and len(want) == len(top) + 3 * len(layer_names)
    with pytest.raises(ValueError, match="block"):
        block_params(shared, "mlp")
