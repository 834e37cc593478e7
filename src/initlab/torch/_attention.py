"""``nn.MultiheadAttention`` observed as one layer by :func:`initlab.torch.inspect` and
:class:`initlab.torch.Watch`.

The attention's forward reads ``out_proj.weight`` directly (``F.multi_head_attention_forward``),
so a hook on ``out_proj`` never fires: the attention module itself is hooked, as one site of
kind ``"attention"``:

==========================  =======================================================================
NumPy engine (K = 1)        torch
==========================  =======================================================================
input (``X``/``A_prev``)    ``query`` as rows ``(m, embed_dim)`` (every leading position is a row,
                            ``batch_first`` or not, batched or not)
``Z_l`` = ``A_l`` (m, n)    the attention output (the first element of what the module returns,
                            with ``need_weights`` True or False), ``n = embed_dim``; the
                            activation is ``unknown`` (dropout and a residual join usually follow)
``W_l``, ``b_l``            ``out_proj.weight`` transposed, ``(embed_dim, embed_dim)``, and
                            ``out_proj.bias``: the weights that produce the output
``dZ_l``, ``dW_l``, ``db_l``  gradients of the loss w.r.t. the attention output, ``out_proj.weight``
                            and ``out_proj.bias``
==========================  =======================================================================

Every other tensor of the attention gets its own figures in the record's ``params``: ``{label:
{"w_std", "dW_norm", "dW_std", "grad_data", "update_std", "update_data"}}`` for
``in_proj_weight[q]``, ``[k]``, ``[v]`` (the packed weight's q/k/v blocks, rows ``[0, E)``,
``[E, 2E)``, ``[2E, 3E)``; ``q/k/v_proj_weight`` when ``kdim``/``vdim`` differ),
``in_proj_bias[q|k|v]``, ``bias_k``/``bias_v`` when present, and ``out_proj.weight``/``bias``
(:func:`initlab.diagnostics.stats.tensor_stats` computes them).

PyTorch's fused paths: ``nn.TransformerEncoderLayer`` computes its attention natively, without
calling the module, in eval mode without gradients, but not while a forward hook is attached to
it or to one of its modules (the hooks here are); ``nn.MultiheadAttention``'s own native path is
inside its forward, so its hook fires; ``nn.TransformerEncoder`` turns a padded batch into nested
tensors in eval mode without gradients.  :func:`initlab.torch.inspect` therefore runs its
forward pass with gradients enabled when the model has an attention layer (so that none of these
paths is taken, as in training), and :class:`initlab.torch.Watch` records only calls made with
gradients.  A layer still called with nested tensors (every parameter frozen) is not recorded and
the capture says why (:attr:`initlab.torch._capture.Capture.not_observed`); an attention whose
forward never ran is named with the reason (:data:`NOT_CALLED`): never silently omitted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from initlab.diagnostics.stats import tensor_stats
from initlab.torch._sites import Site, to_numpy

__all__ = [
    "ATTENTION_PARTS",
    "NESTED",
    "NOT_CALLED",
    "AttentionSite",
    "attention_blocks",
    "call_output",
]

#: What one attention site holds, for the summaries.
ATTENTION_PARTS = "q/k/v in_proj + out_proj"

#: Why an attention site may have no record (shown in inspect's notes and the Watch's report).
NOT_CALLED = (
    "its forward did not run in the pass (unused by the model's forward, or computed by a fused "
    "native path that does not call the module)"
)
NESTED = (
    "called with nested tensors (nn.TransformerEncoder's padding fast path, taken in eval mode "
    "when no parameter requires a gradient): not recorded"
)


def attention_blocks(m: nn.MultiheadAttention) -> list[tuple[str, torch.Tensor, slice | None]]:
    """``(label, parameter, rows)`` for every tensor of ``m``: the q/k/v blocks of the packed
    ``in_proj_weight``/``in_proj_bias`` (``rows`` the block's rows; None: the whole tensor),
    the separate ``q/k/v_proj_weight`` when ``kdim``/``vdim`` differ, ``bias_k``/``bias_v``
    and ``out_proj.weight``/``bias``."""
    e = m.embed_dim
    qkv = [("q", slice(0, e)), ("k", slice(e, 2 * e)), ("v", slice(2 * e, 3 * e))]
    out: list[tuple[str, torch.Tensor, slice | None]] = []
    if isinstance(m.in_proj_weight, torch.Tensor):
        out += [(f"in_proj_weight[{k}]", m.in_proj_weight, s) for k, s in qkv]
    else:
        out += [(f"{k}_proj_weight", getattr(m, f"{k}_proj_weight"), None) for k, _ in qkv]
    if isinstance(m.in_proj_bias, torch.Tensor):
        out += [(f"in_proj_bias[{k}]", m.in_proj_bias, s) for k, s in qkv]
    for name in ("bias_k", "bias_v"):
        if isinstance(getattr(m, name), torch.Tensor):
            out.append((name, getattr(m, name), None))
    out.append(("out_proj.weight", m.out_proj.weight, None))
    if isinstance(m.out_proj.bias, torch.Tensor):
        out.append(("out_proj.bias", m.out_proj.bias, None))
    return out


def _block(t: torch.Tensor | None, rows: slice | None) -> np.ndarray | None:
    if t is None:
        return None
    return to_numpy(t if rows is None else t[rows])


@dataclass
class AttentionSite(Site):
    """An ``nn.MultiheadAttention`` observed as one layer (see the module docstring)."""

    @property
    def conv(self) -> bool:
        return False

    @property
    def kind(self) -> str:
        return "attention"

    @property
    def units(self) -> int:
        return int(self.module.embed_dim)

    @property
    def weight_module(self) -> nn.Module:
        return self.module.out_proj

    @property
    def extra_params(self) -> list[torch.Tensor]:
        """The attention's tensors besides out_proj's, each once (in_proj, bias_k/v)."""
        seen = {id(p) for p in self.params}
        out = []
        for _, p, _ in attention_blocks(self.module):
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
        return out

    def input_rows(self, t: torch.Tensor) -> np.ndarray:
        """``query`` as rows ``(m, embed_dim)``."""
        return to_numpy(t.detach().reshape(-1, t.shape[-1]))

    def block_stats(
        self,
        grads: Mapping[int, torch.Tensor | None],
        before: Mapping[str, np.ndarray] | None = None,
    ) -> dict[str, dict[str, float | None]]:
        """:func:`initlab.diagnostics.stats.tensor_stats` of every block of
        :func:`attention_blocks`: ``grads`` maps ``id(parameter)`` to its gradient (missing or
        None: not measured); ``before`` maps labels to the values before the step (a Watch:
        ``W`` is that value, as for the layer's own figures, and the update is the current
        value minus it; None: no update, as in inspect)."""
        out = {}
        for label, p, rows in attention_blocks(self.module):
            now = _block(p, rows)
            g = _block(grads.get(id(p)), rows)
            if before is not None and label in before:
                out[label] = tensor_stats(before[label], g, now - before[label])
            else:
                out[label] = tensor_stats(now, g)
        return out

    def block_values(self) -> dict[str, np.ndarray]:
        """The current value of every block, by label (the ``before`` of a watched step)."""
        return {label: _block(p, rows) for label, p, rows in attention_blocks(self.module)}


def call_output(out: Any) -> Any:
    """The attention output of a MultiheadAttention call (``(output, weights)``)."""
    return out[0] if isinstance(out, tuple) and out else out
