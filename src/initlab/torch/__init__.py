"""initlab's schemes for PyTorch models (the optional extra ``initlab[torch]``).

The core never imports this package; it is the only place that imports torch.  Inside it,
``import torch`` is an absolute import and always means PyTorch itself, never this package.

Quick tour::

    import torch
    from torch import nn
    from initlab.torch import initialize, inspect, lsuv, mup, watch

    model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 26 * 26, 10))
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    g = torch.Generator().manual_seed(0)
    print(initialize(model, "he_normal", generator=g))  # a row per tensor: fans, gain, std
    initialize(model, "xavier_uniform", overrides={nn.Conv2d: "orthogonal"}, skip="3")
    lsuv(model, x, generator=g)  # orthogonal start, unit output variance
    print(inspect(model, x, y))  # per-layer stats + verdict
    w = watch(model, every=100)  # in a training loop: w.step(loss) after optimizer.step()

What it covers: Linear, Conv1d/2d/3d (grouped, depthwise, strided), ConvTranspose1d/2d/3d,
Embedding, RNN/LSTM/GRU (per gate, forget-gate bias), nn.MultiheadAttention (q/k/v blocks),
HuggingFace's Conv1D, norm layers and their running statistics, tied weights; fans per module
type in :mod:`initlab.torch._layers`; the gain from the forward graph in
:mod:`initlab.torch._trace`; which rule each tensor gets in :mod:`initlab.torch._plan`;
model-level schemes (gpt2, fixup, t_fixup, deepnorm; registered in
:mod:`initlab.schemes.model`) applied to residual branches in :mod:`initlab.torch._residual`; μP
and the coordinate check in :mod:`initlab.torch._mup`; sampling with torch's RNG on each
parameter's device and dtype in :mod:`initlab.torch._sample`.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401  (absolute import: PyTorch, not initlab.torch)
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "initlab.torch needs PyTorch; install it with: pip install 'initlab[torch]'"
    ) from exc

from initlab.torch._inspect import InspectResult, inspect
from initlab.torch._layers import SUPPORTED, activation_gain, layer_weights
from initlab.torch._lsuv import LsuvLayer, LsuvSummary, LsuvWarning, lsuv
from initlab.torch._mup import CoordCheck, MupLayer, MupResult, coord_check, mup
from initlab.torch._plan import initialize
from initlab.torch._residual import Branch, find_branches
from initlab.torch._summary import InitSummary, ParamInit
from initlab.torch._watch import Watch, WatchWarning, watch

__all__ = [
    "SUPPORTED",
    "Branch",
    "CoordCheck",
    "InitSummary",
    "InspectResult",
    "LsuvLayer",
    "LsuvSummary",
    "LsuvWarning",
    "MupLayer",
    "MupResult",
    "ParamInit",
    "Watch",
    "WatchWarning",
    "activation_gain",
    "coord_check",
    "find_branches",
    "initialize",
    "inspect",
    "layer_weights",
    "lsuv",
    "mup",
    "watch",
]
