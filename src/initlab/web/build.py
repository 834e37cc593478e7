"""From a validated request to a run a :class:`initlab.web.session.Session` can train: the
prepared data, loss and sizes and the initial population (its weights reused when only
run-state fields changed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from initlab.config import Prepared, RunConfig, init_population, prepare
from initlab.network import Network
from initlab.web.protocol import MAX_CELLS, RUN_STATE_FIELDS, Request, WebError, check_size

__all__ = ["Built", "build", "init_key"]


@dataclass
class Built:
    """What a request builds: the prepared data, loss and sizes, and the initial population."""

    request: Request
    prepared: Prepared
    initial: Network
    init_key: tuple

    @property
    def dataset(self) -> Any:
        return self.prepared.dataset

    @property
    def loss(self) -> str:
        return self.prepared.loss

    @property
    def kind(self) -> str:
        return "binary" if self.prepared.sizes[-1] == 1 else "one_hot"

    @property
    def Y_train(self) -> np.ndarray:
        return self.prepared.Y_train

    @property
    def Y_test(self) -> np.ndarray:
        return self.prepared.Y_test


def init_key(configs: Sequence[RunConfig], sizes: Sequence[int], data_dependent: bool) -> tuple:
    """Everything the initial weights depend on: the configurations minus the run-state fields
    (and minus the data, unless a scheme looks at the data)."""
    data_fields = ("dataset", "n_samples", "noise", "data_seed", "test_fraction")
    parts = []
    for c in configs:
        d = c.to_dict()
        for f in RUN_STATE_FIELDS:
            d.pop(f)
        if not data_dependent:
            for f in data_fields:
                d.pop(f)
        parts.append(tuple(sorted((k, str(v)) for k, v in d.items())))
    return (tuple(sizes), tuple(parts))


def build(request: Request, previous: Built | None) -> tuple[Built, bool]:
    """Data, loss and initial network for ``request`` with :func:`initlab.config.prepare` and
    :func:`initlab.config.init_population` (the same path as :func:`initlab.config.run`);
    reuses ``previous``'s initial weights when only run-state fields changed.  Returns the
    build and whether the initial weights were reused."""
    configs = request.configs
    c0 = configs[0]
    try:
        prepared = prepare(list(configs))
    except (ValueError, TypeError) as exc:
        raise WebError.of(exc) from None
    ds, sizes = prepared.dataset, prepared.sizes
    if ds.n_features != 2:
        raise WebError(
            f"dataset={c0.dataset!r} has {ds.n_features} features; the page needs 2",
            "dataset",
            c0.dataset,
            "a data set with 2 features",
        )
    K = len(configs)
    rows = max(ds.n_train, ds.n_test, 1)
    check_size(K, rows, sizes, MAX_CELLS)
    from initlab.schemes import parse_scheme

    data_dependent = any(parse_scheme(c.init).info.data_dependent for c in configs)
    key = init_key(configs, sizes, data_dependent)
    reused = previous is not None and previous.init_key == key
    if reused:
        initial = previous.initial
    else:
        try:
            initial = init_population(prepared)
        except (ValueError, TypeError, ArithmeticError, MemoryError) as exc:
            field = "compare" if request.compare else "init"  # the schemes draw the weights
            raise WebError.of(exc, "cannot build the network: ", field) from None
    return Built(request, prepared, initial, key), reused
