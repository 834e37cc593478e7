"""The checks of :class:`~initlab.train.Trainer`'s arguments that are not the network's own:
its type, the optimizer, the seed and learning rates, and the data X and Y as real 2-D arrays
(their shapes against the network are :func:`initlab.network.check_data`'s).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from initlab._checks import ParameterError, ParameterTypeError, check_positive_int
from initlab.network import Network


def _check_arguments(net: Any, optimizer: Any, seed: Any, lr: Any) -> None:
    """The Trainer's arguments that are not data: a Network, an optimizer (a name or an object
    with ``init`` and ``updates``), a seed (an int >= 0 or a numpy Generator) and learning
    rates that are numbers (their range is the optimizer's to check)."""
    try:
        np.asarray(lr, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ParameterTypeError(
            "lr",
            lr,
            "a number > 0, or one per population member",
            f"lr must be a number or a list of numbers (one per member), got {lr!r}",
        ) from None
    if not isinstance(net, Network):
        raise ParameterTypeError(
            "net",
            net,
            "an initlab Network (see initlab.network.init_network)",
            f"net must be an initlab Network, got {type(net).__name__}",
        )
    if not isinstance(optimizer, str) and not (
        callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "updates", None))
    ):
        raise ParameterTypeError(
            "optimizer",
            optimizer,
            "a name (gd, momentum, nesterov, rmsprop, adam) or an initlab.optim optimizer",
            f"optimizer must be a name such as 'adam' or an initlab.optim optimizer, got "
            f"{optimizer!r}",
        )
    if not isinstance(seed, np.random.Generator):
        check_positive_int("seed", seed, minimum=0)


def _as_data(name: str, A: Any, net: Network) -> np.ndarray:
    """``A`` (inputs X or targets Y) as a 2-D array of the network's dtype with at least one
    row; complex, text or object values are an error, not silently converted."""
    allowed = "a 2-D array of real numbers with at least one row"
    try:
        arr = np.asarray(A)
    except (ValueError, TypeError) as exc:  # ragged lists
        raise ParameterError(name, A, allowed, f"{name} is not an array: {exc}") from None
    if np.iscomplexobj(arr) or arr.dtype.kind not in "biuf":
        raise ParameterTypeError(
            name,
            A,
            allowed,
            f"{name} must hold real numbers, got dtype {arr.dtype} (complex values would lose "
            "their imaginary part)"
            if np.iscomplexobj(arr)
            else f"{name} must hold real numbers, got dtype {arr.dtype}",
        )
    if arr.ndim >= 1 and arr.shape[0] == 0:
        raise ParameterError(
            name, A, allowed, f"{name} has no rows (shape {arr.shape}); give at least one example"
        )
    with np.errstate(over="ignore"):
        return arr.astype(net.dtype, copy=False)
