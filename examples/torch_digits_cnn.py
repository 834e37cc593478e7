"""A small CNN on scikit-learn's digits (8x8 images), initialized three ways with initlab.torch:
PyTorch's default law, He (gains inferred from the activations), and LSUV.

For each start it prints what ``initialize`` (or ``lsuv``) did, layer by layer, then trains for
a few epochs and prints the training loss and the test accuracy.  Runs in a few seconds on CPU.

    python examples/torch_digits_cnn.py [--epochs 6] [--seed 0]

Needs the extras ``initlab[torch,data]`` (PyTorch and scikit-learn; the digits ship with
scikit-learn, nothing is downloaded).
"""

from __future__ import annotations

import argparse
import time

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from initlab.torch import initialize, lsuv


def build() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 32 x 4 x 4
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def load(seed: int) -> tuple[torch.Tensor, ...]:
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # pixels in [0, 1]
    y = torch.tensor(digits.target, dtype=torch.long)
    idx = torch.arange(len(y)).numpy()
    train, test = train_test_split(idx, test_size=0.25, stratify=y.numpy(), random_state=seed)
    return x[train], y[train], x[test], y[test]


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        acc = (model(x).argmax(dim=1) == y).float().mean().item()
    model.train()
    return acc


def train(model: nn.Module, data: tuple[torch.Tensor, ...], epochs: int, seed: int) -> None:
    x_tr, y_tr, x_te, y_te = data
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.Generator().manual_seed(seed)
    before = accuracy(model, x_te, y_te)
    print(f"  epoch  train loss  test acc    (before training: test acc {before:.3f})")
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(len(y_tr), generator=order)
        total = 0.0
        for i in range(0, len(perm), 64):
            b = perm[i : i + 64]
            opt.zero_grad()
            loss = loss_fn(model(x_tr[b]), y_tr[b])
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        print(f"  {epoch:5d}  {total / len(y_tr):10.4f}  {accuracy(model, x_te, y_te):8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny layers: one thread is fastest and steadiest on a busy CPU
    data = load(args.seed)
    x_train = data[0]

    starts = ["torch default", "he_normal", "lsuv"]
    for name in starts:
        t0 = time.perf_counter()
        model = build()
        g = torch.Generator().manual_seed(args.seed)
        print(f"\n=== {name} " + "=" * (60 - len(name)))
        if name == "torch default":
            # PyTorch's own law for Conv/Linear: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            print(initialize(model, "torch_default", bias="torch_default", generator=g))
        elif name == "he_normal":
            # N(0, gain^2 / fan_in); gain from the next activation (ReLU: sqrt 2, output: 1)
            print(initialize(model, "he_normal", generator=g))
        else:
            summary = lsuv(model, x_train[:512], generator=g)
            print(summary.init)
            print(summary)

        # --- diagnostics: inspect ----------------------------------------------------------
        # One forward and one backward pass on 256 training images, with hooks: the per-layer
        # statistics of initlab.diagnostics (for a conv layer the channels are the units and
        # every image position is a row) and the verdict, with the NumPy engine's rules.
        # Integer labels mean cross-entropy, the loss trained below.  The model is left as it
        # was (parameters, .grad, training mode, no hook left).  The gradient rule compares
        # the norm of dZ across hidden layers, which a well-scaled start keeps level even where
        # the width changes (512 -> 64 here): He and LSUV come out healthy, the torch default
        # (about x2.6 per layer) vanishing.
        from initlab.torch import inspect

        print(inspect(model, x_train[:256], data[1][:256]))
        # ------------------------------------------------------------------------------------

        train(model, data, args.epochs, args.seed)
        print(f"  ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
