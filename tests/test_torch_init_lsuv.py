"""initlab.torch.lsuv: unit output variance per layer, idempotence, no state left, warnings,
dtypes and bad input.  Output variances are measured here with our own hooks."""

import math
import warnings

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from initlab.torch import LsuvWarning, lsuv  # noqa: E402

TOL = 0.1


def gen(seed: int) -> "torch.Generator":
    return torch.Generator().manual_seed(seed)


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10)
    )


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.5),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 10),
    )


def output_variances(model: nn.Module, batch) -> dict[str, float]:
    """Population variance of each Linear/Conv output on ``batch``, in eval mode."""
    out: dict[str, float] = {}
    handles = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear | nn.Conv2d):

            def hook(mod, args, y, name=name):
                out[name] = float(y.detach().double().var(correction=0))

            handles.append(m.register_forward_hook(hook))
    was = model.training
    model.eval()
    with torch.no_grad():
        model(batch)
    model.train(was)
    for h in handles:
        h.remove()
    return out


def no_hooks(model: nn.Module) -> bool:
    return all(
        not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
        for m in model.modules()
    )


def x_mlp(seed: int = 0, n: int = 256):
    return 3.0 * torch.randn(n, 20, generator=gen(seed))


def x_cnn(seed: int = 0, n: int = 128):
    return torch.rand(n, 1, 8, 8, generator=gen(seed)) * 16.0  # digits-like pixel range


@pytest.mark.parametrize(("factory", "data"), [(mlp, x_mlp), (cnn, x_cnn)])
def test_lsuv_reaches_unit_variance(factory, data):
    model, x = factory(), data()
    s = lsuv(model, x, generator=gen(1))
    assert s.converged and s.init is not None
    assert [r.name for r in s] == [n for n, v in output_variances(model, x).items()]
    for name, v in output_variances(model, x).items():
        assert abs(v - 1.0) < TOL, (name, v)
        assert s[name].variance == pytest.approx(v, rel=1e-6)
    # the start really was orthogonal (gain aside): W W^T proportional to I before rescaling
    weights = [r for r in s.init if r.name.endswith("weight") and "Norm" not in r.module]
    assert weights and all(r.scheme == "orthogonal" for r in weights)


def test_lsuv_is_idempotent_and_leaves_no_state():
    model, x = cnn(), x_cnn()
    model.train()
    model[6].eval()  # a submodule in its own mode must keep it
    keys = {n: set(m.__dict__) for n, m in model.named_modules()}
    bn_stats = model[1].running_mean.clone(), model[1].running_var.clone()
    lsuv(model, x, generator=gen(2))
    lsuv(model, x, generator=gen(3))
    assert model.training and model[0].training and not model[6].training
    assert no_hooks(model)
    assert keys == {n: set(m.__dict__) for n, m in model.named_modules()}
    for name, v in output_variances(model, x).items():
        assert abs(v - 1.0) < TOL, (name, v)
    assert torch.equal(model[1].running_mean, bn_stats[0])  # eval mode: stats not updated
    assert torch.equal(model[1].running_var, bn_stats[1])
    # rescaling an LSUV model without a new start changes nothing
    before = [p.detach().clone() for p in model.parameters()]
    again = lsuv(model, x, init=None)
    assert again.init is None and all(r.iterations == 0 for r in again)
    assert all(torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))


def test_init_none_rescales_the_current_weights():
    model, x = mlp(), x_mlp()
    nn.init.normal_(model[0].weight, std=5.0, generator=gen(0))
    w0 = model[0].weight.detach().clone()
    s = lsuv(model, x, init=None)
    ratio = model[0].weight.detach() / w0
    assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), rtol=1e-4)  # a pure scaling
    assert s["0"].iterations >= 1 and s["0"].initial_variance > 10


def test_same_generator_same_weights():
    a, b, c = mlp(), mlp(), mlp()
    x = x_mlp()
    lsuv(a, x, generator=gen(5))
    lsuv(b, x, generator=gen(5))
    lsuv(c, x, generator=gen(6))
    pa, pb, pc = (list(m.parameters()) for m in (a, b, c))
    assert all(torch.equal(p, q) for p, q in zip(pa, pb, strict=True))
    assert not torch.equal(pa[0], pc[0])


def test_warns_when_max_iter_is_not_enough():
    """A random bias of std 0.9 makes Var(out) = s^2 Var(Wx) + 0.81: one rescaling cannot reach
    1 (it converges geometrically, rate 0.81), many can."""
    x = x_mlp()
    model = mlp()
    with pytest.warns(LsuvWarning) as record:
        s = lsuv(model, x, tol=0.01, max_iter=1, bias="random_normal:std=0.9", generator=gen(0))
    messages = [str(w.message) for w in record]
    assert len(messages) == 3
    assert "layer '0' (Linear) did not reach unit variance: output variance" in messages[0]
    assert f"{s['0'].variance:.6g} after 1 rescaling(s)" in messages[0]
    assert not s.converged and s["0"].iterations == 1 and abs(s["0"].variance - 1) >= 0.01
    assert no_hooks(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LsuvWarning)
        s = lsuv(model, x, tol=0.01, max_iter=100, bias="random_normal:std=0.9", generator=gen(0))
    assert s.converged and s["0"].iterations > 1


def test_a_variance_that_cannot_reach_one_is_reported():
    model = mlp()
    with pytest.warns(LsuvWarning, match="did not reach unit variance"):
        s = lsuv(model, x_mlp(), max_iter=50, bias="random_normal:std=2.0", generator=gen(0))
    assert s["0"].variance > 3.0


def test_zero_input_cannot_be_rescaled():
    model = mlp()
    with pytest.warns(LsuvWarning, match="variance 0 cannot be rescaled"):
        s = lsuv(model, torch.zeros(16, 20), generator=gen(0))
    assert s["0"].iterations == 0 and s["0"].variance == 0.0


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision(dtype):
    model, x = mlp().to(dtype), x_mlp().to(dtype)
    lsuv(model, x, generator=gen(0))
    assert all(p.dtype == dtype for p in model.parameters())
    for name, v in output_variances(model, x).items():
        assert abs(v - 1.0) < TOL, (name, v)


def test_recurrent_and_embedding_layers():
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 16)
            self.rnn = nn.GRU(16, 32, batch_first=True)
            self.head = nn.Linear(32, 5)

        def forward(self, tokens):
            h, _ = self.rnn(self.emb(tokens))
            return self.head(h)

    model = Tagger()
    tokens = torch.randint(0, 50, (32, 12), generator=gen(0))
    s = lsuv(model, tokens, generator=gen(1))
    assert [r.name for r in s] == ["emb", "rnn", "head"]
    assert s["rnn"].note == "recurrent: start only" and s["rnn"].iterations == 0
    assert abs(s["emb"].variance - 1) < TOL and abs(s["head"].variance - 1) < TOL
    with torch.no_grad():
        e = model.emb(tokens)
        y = model(tokens)
    assert abs(float(e.double().var(correction=0)) - 1) < TOL
    assert abs(float(y.double().var(correction=0)) - 1) < TOL


def test_tuple_and_dict_batches_and_unused_layers():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 8)
            self.b = nn.Linear(4, 8)
            self.unused = nn.Linear(8, 8)

        def forward(self, x, y):
            return self.a(x) + self.b(y)

    x, y = torch.randn(64, 4, generator=gen(0)), torch.randn(64, 4, generator=gen(1))
    model = Two()
    with pytest.warns(LsuvWarning, match="'unused' .*was not called"):
        s = lsuv(model, (x, y), generator=gen(0))
    assert [r.name for r in s] == ["a", "b", "unused"] and s["unused"].note == "not called"
    assert s.converged  # the unused layer is noted, not counted
    with pytest.warns(LsuvWarning, match="not called"):
        s = lsuv(model, {"x": x, "y": y}, generator=gen(0))
    assert abs(s["b"].variance - 1) < TOL


def test_wrong_batch_is_a_clear_error_and_leaves_no_hooks():
    model = mlp()
    with pytest.raises(
        ValueError, match=r"model\(batch\) failed for batch tensor of shape \(8, 7\)"
    ):
        lsuv(model, torch.randn(8, 7))
    assert no_hooks(model) and model.training
    with pytest.raises(TypeError, match="batch must be a tensor"):
        lsuv(model, "data")
    with pytest.raises(ValueError, match="at least 2"):
        lsuv(nn.Sequential(nn.Linear(3, 1)), torch.randn(1, 3))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tol": 0.0}, ValueError, "tol must be > 0"),
        ({"tol": float("nan")}, ValueError, "tol must be a finite number"),
        ({"max_iter": 0}, ValueError, "max_iter must be an integer >= 1"),
        ({"max_iter": 2.5}, TypeError, "max_iter must be an integer"),
        ({"init": "lsuv"}, ValueError, "data-dependent"),
        ({"init": "he_nromal"}, ValueError, "unknown initialization scheme"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        lsuv(mlp(), x_mlp(), **kwargs)


def test_no_initializable_layer():
    with pytest.raises(ValueError, match="no layer initlab.torch can initialize"):
        lsuv(nn.Sequential(nn.ReLU()), torch.randn(4, 3))


def test_summary_text():
    s = lsuv(mlp(), x_mlp(), generator=gen(0))
    text = str(s)
    assert text.startswith("LSUV (tol=0.1, max_iter=10)") and "var after" in text
    assert math.isfinite(s[0].initial_variance)


def test_hf_gpt2_tied_embedding_rescaled_once_and_a_second_call_changes_nothing():
    pytest.importorskip("transformers")
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging

    logging.set_verbosity_error()
    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=64))
    ids = torch.randint(0, 64, (8, 16), generator=gen(0))
    s = lsuv(model, ids, generator=gen(1))
    assert s.converged
    assert abs(s["transformer.wte"].variance - 1.0) < s.tol
    assert s["lm_head"].note.startswith("tied to 'transformer.wte'")
    for name in ("transformer.h.0.attn.c_attn", "transformer.h.1.mlp.c_proj"):
        assert s[name].module == "Conv1D" and abs(s[name].variance - 1.0) < s.tol
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    again = lsuv(model, ids, init=None)
    assert all(layer.iterations == 0 for layer in again)
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())


def test_attention_is_rescaled_as_one_unit_through_its_value_projection():
    m = nn.MultiheadAttention(16, 2, batch_first=True)
    x = torch.randn(4, 10, 16, generator=gen(0))

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = m

        def forward(self, x):
            return self.attn(x, x, x)[0]

    model = SelfAttention()
    s = lsuv(model, x, generator=gen(1))
    assert abs(s["attn"].variance - 1.0) < s.tol
    assert s["attn.out_proj"].note.startswith("part of the attention 'attn'")
    q, k, _ = m.in_proj_weight.detach().chunk(3)
    # q and k keep their orthogonal start (gain 1: W W^T = I), only v was rescaled
    assert torch.allclose(q @ q.T, torch.eye(16), atol=1e-5)
    assert torch.allclose(k @ k.T, torch.eye(16), atol=1e-5)
    with torch.no_grad():
        assert abs(float(model(x).var(correction=0)) - 1.0) < s.tol
