"""One attention layer, looped: the fused and math paths agree, double backward works, causality."""

import pytest
import torch

from loopvalley.models import ModelConfig, build_model, forward_flops, looped_attn, math_attention, n_params, single_attn

torch.set_num_threads(1)
VARIANTS = [
    dict(),
    dict(n_heads=2, layernorm=True),
    dict(mlp=True, input_injection=True),
    dict(attn_type="linear", n_heads=2),
]


def _model(loops=3, **kw):
    cfg = ModelConfig(vocab_size=4, max_len=12, d_model=16, init_std=0.3, **kw)
    return looped_attn(cfg, loops, generator=torch.Generator().manual_seed(0)).double()


def _tokens(B=3, T=10, seed=1):
    return torch.randint(0, 4, (B, T), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("kw", VARIANTS)
@pytest.mark.parametrize("loops", [1, 3])
def test_fused_and_math_paths_agree(kw, loops):
    model, x = _model(loops, **kw), _tokens()
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


def test_double_backward_on_the_math_path():
    """A Hessian-vector product H v through the math path matches a finite difference of gradients."""
    model, x = _model(3, n_heads=2), _tokens()
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
def test_causality(kw):
    """Changing a future token never changes earlier logits."""
    model, x = _model(3, **kw), _tokens()
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
     ({"d_model": 0}, "d_model")],
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
