"""Small versions of the architectures issue 13 names, built by hand or from config objects
(never downloaded): a ResNet-18, nn.TransformerEncoder, nn.Transformer, HF GPT-2 and BERT, a
DCGAN generator, an LSTM language model and a depthwise-separable CNN.  Each entry is
``name -> (factory, example input)``."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class BasicBlock(nn.Module):
    """torchvision's BasicBlock, by hand: conv-BN-ReLU-conv-BN, + shortcut, ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet18(nn.Module):
    """ResNet-18's layout (2-2-2-2 BasicBlocks) at a tiny width."""

    def __init__(self, width: int = 8, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers, cin = [], width
        for i, mult in enumerate((1, 2, 4, 8)):
            cout = width * mult
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def dcgan_generator(nz: int = 16, ngf: int = 8) -> nn.Module:
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, 3, 4, 2, 1, bias=False),
        nn.Tanh(),
    )


class LstmLM(nn.Module):
    def __init__(self, vocab: int = 50, dim: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(self.embed(x))
        return self.head(h)


def separable(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
        nn.BatchNorm2d(cin),
        nn.ReLU(),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


def depthwise_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        separable(8, 16),
        separable(16, 32),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    )


def encoder() -> nn.Module:
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)


def transformer() -> nn.Module:
    return nn.Transformer(16, 2, 2, 2, 32, dropout=0.0, batch_first=True)


def gpt2() -> nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging

    logging.set_verbosity_error()
    cfg = GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=64, n_positions=16)
    return GPT2LMHeadModel(cfg)


def bert() -> nn.Module:
    from transformers import BertConfig, BertModel
    from transformers.utils import logging

    logging.set_verbosity_error()
    cfg = BertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        vocab_size=64,
        max_position_embeddings=16,
    )
    return BertModel(cfg)


def _img(c: int = 3, n: int = 16) -> torch.Tensor:
    return torch.randn(2, c, n, n, generator=torch.Generator().manual_seed(0))


def _tokens(n: int = 8, vocab: int = 50) -> torch.Tensor:
    return torch.randint(0, vocab, (2, n), generator=torch.Generator().manual_seed(0))


def _seq() -> torch.Tensor:
    return torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(0))


ZOO = {
    "resnet18": (ResNet18, lambda: (_img(),)),
    "transformer_encoder": (encoder, lambda: (_seq(),)),
    "transformer": (transformer, lambda: (_seq(), _seq())),
    "gpt2": (gpt2, lambda: (_tokens(vocab=64),)),
    "bert": (bert, lambda: (_tokens(vocab=64),)),
    "dcgan_generator": (dcgan_generator, lambda: (torch.randn(2, 16, 1, 1),)),
    "lstm_lm": (LstmLM, lambda: (_tokens(),)),
    "depthwise_cnn": (depthwise_cnn, lambda: (_img(),)),
}

#: Tensors each model is allowed to leave, with the reason expected (integer index buffers).
ALLOWED_LEFT = {
    "bert": {"embeddings.position_ids", "embeddings.token_type_ids"},
}
