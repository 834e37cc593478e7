"""The PyTorch cases of ``benchmarks/verdicts.py``: small models trained for a few dozen steps
inside a plain torch loop with :func:`initlab.torch.watch`, judged by ``Watch.judge()``.

Data are synthetic and learnable: a fixed random teacher labels random inputs (vectors, images
through their channel means, sequences through their time mean), four classes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

CLASSES = 4


def _teacher(features: torch.Tensor, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(features.shape[-1], CLASSES, generator=g)
    return (features @ w).argmax(-1)


def vectors(n: int = 128, d: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(0))
    return x, _teacher(x)


def images(size: int, n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, size, size, generator=g) + torch.randn(n, 3, 1, 1, generator=g)
    return x, _teacher(x.mean((2, 3)))


def sequences(n: int = 64, t: int = 10, d: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, t, d, generator=torch.Generator().manual_seed(0))
    return x, _teacher(x.mean(1))


# ------------------------------------------------------------------------------ models


def mlp(act: type[nn.Module] = nn.ReLU, depth: int = 4, width: int = 64) -> nn.Module:
    layers: list[nn.Module] = [nn.Linear(16, width), act()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), act()]
    return nn.Sequential(*layers, nn.Linear(width, CLASSES))


def cnn(norm: bool = True) -> nn.Module:
    def block(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
        out: list[nn.Module] = [nn.Conv2d(cin, cout, 3, stride=stride, padding=1)]
        return out + ([nn.BatchNorm2d(cout)] if norm else []) + [nn.ReLU()]

    return nn.Sequential(
        *block(3, 16),
        *block(16, 32, 2),
        *block(32, 32),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, CLASSES),
    )


def pooled() -> nn.Module:
    """Three convs, a global average pool, a hidden dense layer: the issue's pooled conv net."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 32),
        nn.ReLU(),
        nn.Linear(32, CLASSES),
    )


class Block(nn.Module):
    def __init__(self, c: int, norm: bool) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1)
        self.c2 = nn.Conv2d(c, c, 3, padding=1)
        self.n1 = nn.BatchNorm2d(c) if norm else nn.Identity()
        self.n2 = nn.BatchNorm2d(c) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.n1(self.c1(x)))
        return torch.relu(x + self.n2(self.c2(h)))


class ResNet(nn.Module):
    def __init__(self, blocks: int = 6, c: int = 16, norm: bool = True) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.blocks = nn.Sequential(*[Block(c, norm) for _ in range(blocks)])
        self.head = nn.Linear(c, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(torch.relu(self.stem(x))).mean((2, 3)))


class LSTMNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(8, 32, batch_first=True)
        self.head = nn.Linear(32, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0][:, -1])


class Encoder(nn.Module):
    def __init__(self, pre_ln: bool, layers: int = 4, d: int = 32) -> None:
        super().__init__()
        self.emb = nn.Linear(8, d)
        layer = nn.TransformerEncoderLayer(
            d, 4, 64, dropout=0.0, activation="gelu", batch_first=True, norm_first=pre_ln
        )
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.emb(x)).mean(1))


# ------------------------------------------------------------------------------ inits


def he(model: nn.Module, scale: float = 1.0) -> nn.Module:
    """He normal (fan_in, ReLU gain) times ``scale`` on every Linear/Conv weight, zero bias."""
    for m in model.modules():
        if isinstance(m, nn.Linear | nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            with torch.no_grad():
                m.weight.mul_(scale)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def xavier(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain("tanh"))
            nn.init.zeros_(m.bias)
    return model


def scaled(model: nn.Module, scale: float) -> nn.Module:
    """torch's default init times ``scale`` on every Linear/Conv weight."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear | nn.Conv2d):
                m.weight.mul_(scale)
    return model


def constant(model: nn.Module, w: float, b: float | None = None) -> nn.Module:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.fill_(w)
                m.bias.fill_(0.0 if b is None else b)
    return model


def bias_of(model: nn.Module, b: float) -> nn.Module:
    """He weights, every hidden Linear bias set to ``b`` (the output layer's stays 0)."""
    he(model)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for m in linears[:-1]:
            m.bias.fill_(b)
    return model


# ------------------------------------------------------------------------------ the run


def _run(
    build: Callable[[], nn.Module],
    data: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    *,
    opt: str = "adam",
    lr: float = 3e-3,
    steps: int = 40,
    every: int = 10,
    reference: Any = None,
    seed: list[int] | None = None,
) -> Callable[[], Any]:
    def go() -> Any:
        import initlab.torch as it

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # small models: one thread is faster on a shared machine
        try:
            torch.manual_seed(seed[0] if seed else 0)
            model = build()
            x, y = data()
            o = (
                torch.optim.Adam(model.parameters(), lr)
                if opt == "adam"
                else torch.optim.SGD(model.parameters(), lr)
            )
            with it.watch(model, every=every) as w:
                for _ in range(steps):
                    o.zero_grad()
                    loss = nn.functional.cross_entropy(model(x), y)
                    loss.backward()
                    o.step()
                    w.step(loss)
                ref = None if reference is None else reference()
                return w.judge(reference=ref)
        finally:
            torch.set_num_threads(threads)

    return go


def _ref_cost(build: Callable[[], nn.Module], data: Callable[[], Any], **kw: Any) -> Any:
    """The cost curve of a reference run (for the ``slow`` rule)."""

    def curve() -> Any:
        torch.manual_seed(kw["seed"][0] if kw.get("seed") else 0)
        model = build()
        x, y = data()
        o = torch.optim.Adam(model.parameters(), kw.get("lr", 3e-3))
        out = []
        for _ in range(kw.get("steps", 40)):
            o.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            o.step()
            out.append(float(loss.detach()))
        return out

    return curve


def torch_cases(Case: Any, seed: list[int] | None = None) -> list[Any]:  # noqa: N803
    """The torch cases as the benchmark's ``Case`` objects; ``seed`` (a one-item list the
    benchmark sets) seeds each model's init."""
    F: frozenset[str] = frozenset()

    def run(*a: Any, **kw: Any) -> Callable[[], Any]:
        return _run(*a, seed=seed, **kw)

    def c(name: str, label: set[str] | frozenset[str], why: str, go: Any, **kw: Any) -> Any:
        return Case(f"torch {name}", frozenset(label), why, go, family="torch", **kw)

    def img(size: int) -> Callable[[], Any]:
        return lambda: images(size)

    out = [
        # healthy baselines: torch defaults and the recommended schemes, with and without norm
        c(
            "mlp relu default",
            {"vanishing"},
            "torch's default (kaiming_uniform, a=sqrt 5: Var(W) = 1/(3 fan_in), a sixth of He) "
            "under ReLU: the gradient norm shrinks sqrt(6) = x2.45 per layer (mean-field, by "
            "construction); Adam trains it (observed)",
            run(mlp, vectors),
        ),
        c(
            "mlp tanh default",
            F,
            "torch's default under tanh: Var(W) = 1/(3 fan_in) keeps tanh near its linear "
            "regime, the gradient shrinks sqrt(3) = x1.7 per layer, within x2; Adam trains it",
            run(lambda: mlp(nn.Tanh), vectors),
            baseline=True,
        ),
        c("mlp relu he", F, "He for ReLU, Adam", run(lambda: he(mlp()), vectors), baseline=True),
        c(
            "mlp tanh xavier",
            F,
            "Xavier (tanh gain) for tanh, Adam",
            run(lambda: xavier(mlp(nn.Tanh)), vectors),
            baseline=True,
            fast=True,
        ),
        c(
            "mlp relu he sgd",
            F,
            "He, SGD lr 0.05",
            run(lambda: he(mlp()), vectors, opt="sgd", lr=0.05),
            baseline=True,
        ),
        c(
            "cnn+bn default",
            F,
            "conv-BN-ReLU, torch default",
            run(cnn, img(16)),
            baseline=True,
            fast=True,
        ),
        c(
            "cnn no-norm he",
            F,
            "conv-ReLU, He",
            run(lambda: he(cnn(False)), img(16)),
            baseline=True,
        ),
        c(
            "cnn+bn x0.01",
            F,
            "x0.01 of torch's default before BatchNorm: BN rescales each channel, so the "
            "scale of the weights before it does not matter (by construction); learns",
            run(lambda: scaled(cnn(), 0.01), img(16)),
        ),
        c(
            "resnet+bn default",
            F,
            "6 residual blocks with BN, torch default",
            run(lambda: ResNet(norm=True), img(8)),
            baseline=True,
        ),
        c(
            "lstm default",
            F,
            "LSTM + linear head, torch default",
            run(LSTMNet, sequences),
            baseline=True,
        ),
        c(
            "pre-LN encoder default",
            F,
            "4-layer pre-LN GELU encoder, torch default",
            run(lambda: Encoder(True), sequences),
            baseline=True,
        ),
        c(
            "post-LN encoder default",
            F,
            "4-layer post-LN GELU encoder, torch default",
            run(lambda: Encoder(False), sequences),
            baseline=True,
            fast=True,
        ),
    ]
    for size in (8, 16, 32):
        out.append(
            c(
                f"pooled conv he {size}x{size}",
                F,
                "He conv net with a global average pool: the pool is a boundary, the verdict "
                "must not depend on the input size",
                run(lambda: he(pooled()), img(size)),
                baseline=True,
                fast=size == 16,
            )
        )
    out += [
        # faults by construction
        c(
            "mlp relu x0.01",
            {"vanishing"},
            "x0.01 of torch's default: the gradient shrinks ~x100 per layer; Adam still "
            "learns (observed)",
            run(lambda: scaled(mlp(), 0.01), vectors),
            fast=True,
        ),
        c(
            "mlp relu he x10",
            {"exploding"},
            "x10 of He: activations and gradients grow x10 per layer; Adam learns (observed)",
            run(lambda: he(mlp(), 10.0), vectors, lr=1e-3),
        ),
        c(
            "mlp relu zeros",
            {"symmetric", "never_learned", "dead_relu"},
            "zero weights: hidden units identical, no gradient reaches them, relu(0) = 0 for "
            "every example so every unit is dead (by construction)",
            run(lambda: constant(mlp(), 0.0), vectors),
            fast=True,
        ),
        c(
            "mlp tanh constant",
            {"symmetric", "saturated", "exploding"},
            "constant 0.05 weights on 64 equal inputs: a gain of 3.2 per layer, so tanh "
            "saturates and the gradient grows; units stay identical (by construction); the "
            "output layer still learns (observed: the cost falls)",
            run(lambda: constant(mlp(nn.Tanh), 0.05), vectors),
        ),
        c(
            "mlp relu bias-5",
            {"dead_relu", "never_learned"},
            "ReLU biases of -5 under He weights: every hidden unit is dead (by construction)",
            run(lambda: bias_of(mlp(), -5.0), vectors),
            fast=True,
        ),
        c(
            "mlp relu sgd lr1e3",
            {"diverged"},
            "SGD with lr 1000: the cost overflows to inf/NaN (observed)",
            run(lambda: he(mlp()), vectors, opt="sgd", lr=1e3),
        ),
        c(
            "lstm sgd lr1e4",
            {"exploded", "unstable"},
            "SGD with lr 1e4 on the LSTM: the head's logits blow up, the cost jumps up and down "
            "while it grows x1000 and more, and stays finite (observed)",
            run(LSTMNet, sequences, opt="sgd", lr=1e4),
        ),
        c(
            "resnet no-norm 3x he",
            {"exploding", "diverged"},
            "6 residual blocks without normalisation at 3x He: each join adds a branch 9x "
            "the variance, outputs explode (by construction); SGD 0.1 then diverges (observed)",
            run(lambda: he(ResNet(norm=False), 3.0), img(8), opt="sgd", lr=0.1),
        ),
        c(
            "pre-LN encoder 3x he",
            {"exploding", "diverged"},
            "8-layer pre-LN GELU encoder at 3x He (the issue's case): output std ~100, loss "
            "~200 (by construction); SGD 0.1 gives NaN within 50 steps (observed)",
            run(lambda: he(Encoder(True, layers=8), 3.0), sequences, opt="sgd", lr=0.1, steps=50),
        ),
        c(
            "pre-LN encoder x0.01 slow",
            {"slow"},
            "x0.01 of torch's default in a pre-LN encoder: the loss barely moves against the "
            "default init's (the reference, same data and optimizer)",
            run(
                lambda: scaled(Encoder(True), 0.01),
                sequences,
                lr=1e-3,
                reference=_ref_cost(lambda: Encoder(True), sequences, lr=1e-3, seed=seed),
            ),
        ),
    ]
    return out
