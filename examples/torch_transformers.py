"""Transformers as they are built today, initialized with initlab.torch.

1. HuggingFace GPT-2 (built from a config, no download): GPT-2's own scheme, one row per
   tensor, the tied ``wte``/``lm_head`` set once; then LSUV, whose second call changes nothing.
2. ``nn.Transformer`` (encoder-decoder): DeepNorm's beta, and the alpha its residuals need.

Run: ``python examples/torch_transformers.py`` (needs the ``torch`` extra and transformers).
"""

from __future__ import annotations

import torch
from torch import nn

from initlab.torch import initialize, lsuv


def gpt2_demo() -> None:
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging

    logging.set_verbosity_error()
    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=512))
    print(initialize(model, "gpt2", generator=0))
    ids = torch.randint(0, 512, (8, 32), generator=torch.Generator().manual_seed(0))
    print(lsuv(model, ids, generator=0))
    before = [p.detach().clone() for p in model.parameters()]
    lsuv(model, ids, init=None)
    same = all(torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))
    print(f"a second lsuv(init=None) changes nothing: {same}\n")


def deepnorm_demo() -> None:
    model = nn.Transformer(64, 4, 3, 3, 128, dropout=0.0, batch_first=True)
    summary = initialize(model, "deepnorm", generator=0)
    print("\n".join(summary.notes))
    rows = [r for r in summary if r.name.endswith("linear2.weight")]
    for r in rows:
        print(f"  {r.name:40s} std {r.std:.4f}  ({r.scheme})")


if __name__ == "__main__":
    gpt2_demo()
    deepnorm_demo()
