"""initlab's schemes for PyTorch models (the optional extra ``initlab[torch]``).

The core never imports this package; it is the only place that imports torch.  Inside it,
``import torch`` is an absolute import and always means PyTorch itself, never this package.

Quick tour::

    import torch
    from torch import nn
    from initlab.torch import initialize, lsuv

    model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 26 * 26, 10))
    g = torch.Generator().manual_seed(0)
    print(initialize(model, "he_normal", generator=g))  # per layer: fans, gain (ReLU), std
    initialize(model, "xavier_uniform", overrides={nn.Conv2d: "orthogonal"}, skip="3")
    lsuv(model, torch.randn(64, 1, 28, 28), generator=g)  # orthogonal start, unit output variance
    print(inspect(model, x, y))  # x, y: a batch and its labels; per-layer stats + verdict
    w = watch(model, every=100)  # in a training loop: w.step(loss) after optimizer.step()

What it covers: Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d, Embedding and the weights of
RNN/LSTM/GRU; fans per module type in :mod:`initlab.torch._layers` (ConvTranspose and
recurrent gates differ from ``torch.nn.init`` on purpose, and say why); sampling with torch's
RNG on each parameter's device and dtype in :mod:`initlab.torch._sample`.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401  (absolute import: PyTorch, not initlab.torch)
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "initlab.torch needs PyTorch; install it with: pip install 'initlab[torch]'"
    ) from exc

from initlab.torch._init import GAIN_SCHEMES
from initlab.torch._inspect import InspectResult, inspect
from initlab.torch._layers import SUPPORTED, activation_gain, layer_weights
from initlab.torch._lsuv import LsuvLayer, LsuvSummary, LsuvWarning, lsuv
from initlab.torch._mup import CoordCheck, MupLayer, MupResult, coord_check, mup
from initlab.torch._plan import initialize
from initlab.torch._residual import MODEL_SCHEMES, Branch, find_branches
from initlab.torch._summary import InitSummary, ParamInit
from initlab.torch._watch import Watch, WatchWarning, watch

__all__ = [
    "GAIN_SCHEMES",
    "MODEL_SCHEMES",
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
