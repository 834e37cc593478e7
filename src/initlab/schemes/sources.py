"""Random sources: what a structured scheme's rule draws its random numbers from.

A rule (orthogonal, sparse, scaled, ...) is written once, on NumPy float64 arrays, against this
small interface; each back end supplies a source backed by its own generator:

* :class:`NumpySource` wraps a ``numpy.random.Generator`` (the NumPy schemes);
* ``initlab.torch._sample.TorchSource`` wraps a ``torch.Generator`` and draws on the tensor's
  device (the PyTorch adapter), so a torch model's draws come from torch's RNG.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from initlab.schemes.sampling import Distribution, draw

__all__ = ["NumpySource", "Source"]


class Source(Protocol):
    """Float64 random numbers of a given shape."""

    def normal(self, shape: tuple[int, ...]) -> np.ndarray:
        """Standard normal draws."""
        ...

    def uniform(self, shape: tuple[int, ...]) -> np.ndarray:
        """Uniform draws on [0, 1)."""
        ...

    def law(self, dist: Distribution, shape: tuple[int, ...]) -> np.ndarray:
        """Draws of an elementwise :class:`~initlab.schemes.sampling.Distribution`."""
        ...


class NumpySource:
    """A :class:`Source` backed by one ``numpy.random.Generator``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def normal(self, shape: tuple[int, ...]) -> np.ndarray:
        return self.rng.standard_normal(shape)

    def uniform(self, shape: tuple[int, ...]) -> np.ndarray:
        return self.rng.random(shape)

    def law(self, dist: Distribution, shape: tuple[int, ...]) -> np.ndarray:
        return draw(dist, shape, self.rng, np.dtype(np.float64))
