"""Drawing initlab's distributions with torch's own RNG, on the tensor's device and dtype.

The law of every random scheme comes from :func:`initlab.schemes.distribution`; this module only
samples it.  Rules (the same as the NumPy sampler's, see :mod:`initlab.schemes.sampling`):

* every random number, re-draws and permutations included, comes from the one
  ``torch.Generator`` passed in (``None``: torch's default generator for the device);
* ``normal`` and ``uniform`` use ``Tensor.normal_`` / ``Tensor.uniform_`` on the tensor itself,
  in its own dtype, exactly as ``torch.nn.init`` does (so a float32 draw consumes the generator
  the same way ``torch.nn.init.normal_`` / ``uniform_`` would);
* values are checked after the cast to the tensor's dtype: a uniform value that rounds onto or
  past ``high`` (possible in bfloat16 and float16), or a truncated-normal value that rounds past
  a bound, is re-drawn, never clipped; a value that overflows the dtype is an error;
* a truncated normal is sampled by rejection in float32 (float64 for float64 tensors), with the
  bounds in standard deviations around ``loc`` (``torch.nn.init.trunc_normal_`` instead takes
  absolute bounds and uses the inverse CDF);
* the structured schemes (orthogonal, sparse, identity, dirac, scaled) run the one rule of
  :mod:`initlab.schemes.structured` with a :class:`TorchSource`: its random numbers come from
  the torch generator, on the tensor's device, in float32 (float64 for float64 tensors); the
  rule's float64 values are cast to the tensor's dtype, so bfloat16 and float16 weights work
  (``torch.nn.init.orthogonal_`` fails on them on CPU).

Callers hold ``torch.no_grad()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from initlab import schemes
from initlab.schemes import Distribution, NumpySource, SchemeSpec
from initlab.schemes.sampling import rejection_plan

__all__ = [
    "TorchSource",
    "compute_dtype",
    "copy_values_",
    "fill_",
    "orthogonal_",
    "sparse_rows_",
    "writer",
]

_MAX_ROUNDS = 1000


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 for float64 tensors, float32 for everything else (float32, bfloat16, float16)."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _check_finite(tensor: torch.Tensor, dist: Distribution) -> None:
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(
            f"{dist.kind} values with mean {dist.mean:g} and std {dist.std:g} overflow "
            f"{tensor.dtype} (largest finite value {torch.finfo(tensor.dtype).max:g}); "
            "use a wider dtype or a smaller scale"
        )


def _outside(tensor: torch.Tensor, dist: Distribution) -> torch.Tensor:
    """Entries that break the support, compared in float64 (never in the tensor's dtype)."""
    x = tensor.to(torch.float64)
    if dist.kind == "uniform":
        return (x < dist.low) | (x >= dist.high)
    return (x < dist.low) | (x > dist.high)


def _standard_truncated(
    n: int,
    a: float,
    b: float,
    generator: torch.Generator | None,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """``n`` draws of ``N(0, 1)`` conditioned on ``[a, b]``, by rejection with the proposal of
    :func:`initlab.schemes.sampling.rejection_plan` (a left-tail interval is mirrored)."""
    if b < 0.0:
        return -_standard_truncated(n, -b, -a, generator, device, dtype)
    plan = rejection_plan(a, b)
    kind, acceptance, peak, alpha = plan.kind, plan.acceptance, plan.peak, plan.alpha
    out = torch.empty(n, dtype=dtype, device=device)
    filled = 0
    opts = {"dtype": dtype, "device": device}
    for _ in range(_MAX_ROUNDS * 10):
        need = n - filled
        if need == 0:
            return out
        batch = int(need / max(acceptance, 1e-6) * 1.1) + 16
        if kind == "normal":
            x = torch.randn(batch, generator=generator, **opts)
            x = x[(x >= a) & (x <= b)]
        elif kind == "uniform":
            x = torch.empty(batch, **opts).uniform_(a, b, generator=generator)
            u = torch.rand(batch, generator=generator, **opts)
            x = x[u <= torch.exp(0.5 * (peak * peak - x * x))]
        else:
            x = a + torch.empty(batch, **opts).exponential_(alpha, generator=generator)
            u = torch.rand(batch, generator=generator, **opts)
            x = x[(u <= torch.exp(-0.5 * (x - alpha) ** 2)) & (x <= b)]
        take = min(need, x.numel())
        out[filled : filled + take] = x[:take]
        filled += take
    raise RuntimeError(f"rejection sampling on [{a}, {b}] did not finish")  # pragma: no cover


def _draw_like(
    tensor: torch.Tensor, n: int, dist: Distribution, generator: torch.Generator | None
) -> torch.Tensor:
    """``n`` fresh values of ``dist`` in ``tensor``'s dtype and device."""
    if dist.kind == "uniform":
        out = torch.empty(n, dtype=tensor.dtype, device=tensor.device)
        return out.uniform_(dist.low, dist.high, generator=generator)
    # truncated normal
    cd = compute_dtype(tensor.dtype)
    if dist.sigma == 0.0:
        return torch.full((n,), dist.loc, dtype=tensor.dtype, device=tensor.device)
    a = (dist.low - dist.loc) / dist.sigma
    b = (dist.high - dist.loc) / dist.sigma
    z = _standard_truncated(n, a, b, generator, tensor.device, cd)
    return (dist.loc + dist.sigma * z).to(tensor.dtype)


def fill_(tensor: torch.Tensor, dist: Distribution, generator: torch.Generator | None) -> None:
    """Fill ``tensor`` in place with draws of ``dist`` (kind constant, normal, uniform or
    truncated_normal), re-drawing entries that round out of the support after the cast."""
    if tensor.numel() == 0:
        return
    kind = dist.kind
    if kind == "constant":
        tensor.fill_(dist.mean)
    elif kind == "normal":
        tensor.normal_(dist.loc, dist.sigma, generator=generator)
    elif kind == "uniform":
        tensor.uniform_(dist.low, dist.high, generator=generator)
    elif kind == "truncated_normal":
        tensor.copy_(_draw_like(tensor, tensor.numel(), dist, generator).view(tensor.shape))
    else:
        raise ValueError(f"cannot sample a distribution of kind {kind!r} elementwise")
    _check_finite(tensor, dist)
    if kind in ("uniform", "truncated_normal"):
        for _ in range(_MAX_ROUNDS):
            bad = _outside(tensor, dist)
            n_bad = int(bad.sum())
            if n_bad == 0:
                return
            tensor[bad] = _draw_like(tensor, n_bad, dist, generator)
            _check_finite(tensor, dist)
        raise ValueError(
            f"cannot draw {kind} values on [{dist.low:g}, {dist.high:g}] in {tensor.dtype}: "
            "the cast values keep rounding onto or past the bounds"
        )


class TorchSource:
    """The :class:`initlab.schemes.Source` of the torch back end: the structured schemes' rules
    (orthogonal, sparse, scaled, ...) draw through it with ``generator``, on ``device``, in
    ``dtype`` (the compute dtype of the tensor, so a float32 orthogonal draw consumes the
    generator exactly as ``torch.nn.init.orthogonal_`` does), and get float64 NumPy arrays."""

    def __init__(
        self, generator: torch.Generator | None, device: torch.device, dtype: torch.dtype
    ) -> None:
        self.generator = generator
        self.opts = {"device": device, "dtype": dtype}

    @staticmethod
    def _numpy(t: torch.Tensor) -> np.ndarray:
        return t.detach().to("cpu", torch.float64).numpy()

    def normal(self, shape: tuple[int, ...]) -> np.ndarray:
        return self._numpy(torch.empty(shape, **self.opts).normal_(generator=self.generator))

    def uniform(self, shape: tuple[int, ...]) -> np.ndarray:
        return self._numpy(torch.rand(shape, generator=self.generator, **self.opts))

    def law(self, dist: Distribution, shape: tuple[int, ...]) -> np.ndarray:
        t = torch.empty(shape, device=self.opts["device"], dtype=torch.float64)
        fill_(t, dist, self.generator)
        return self._numpy(t)


def copy_values_(tensor: torch.Tensor, values: np.ndarray, scheme: str) -> None:
    """Write a rule's float64 ``values`` into ``tensor`` (cast to its dtype and device); a value
    that overflows the dtype is an error, never an inf."""
    with torch.no_grad():
        tensor.copy_(torch.from_numpy(np.ascontiguousarray(values)).view(tensor.shape))
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(
            f"{scheme} values overflow {tensor.dtype} (largest finite value "
            f"{torch.finfo(tensor.dtype).max:g}); use a wider dtype or a smaller scale"
        )


def writer(
    spec: SchemeSpec, w: Any, shape: tuple[int, ...]
) -> tuple[Callable[[torch.Tensor, torch.Generator | None], None], float | None]:
    """How to fill one chunk of shape ``shape`` of the weight ``w`` (its ``layout``, ``fans``
    and ``groups``) with ``spec``, and the std of what it writes.

    Everything comes from the scheme's one definition in the registry: an elementwise law is
    sampled with torch's RNG (:func:`fill_`), a structured rule runs with a :class:`TorchSource`.
    Everything that can be checked without writing (ranks, parameters, fans) is checked here,
    so a bad choice fails before any parameter changes."""
    info = spec.info
    params = dict(spec.params)
    if info.rule is None:
        law = info.law_at(shape, w.layout, w.fans, **params)

        def run_law(view: torch.Tensor, gen: torch.Generator | None) -> None:
            fill_(view, law, gen)

        return run_law, law.std
    if "groups" in info.defaults and "groups" not in params:
        params["groups"] = w.groups  # dirac: the module's groups
    if info.name == "sparse" and w.layout == "torch_transpose" and w.groups != 1:
        raise ValueError("sparse is not defined for a grouped ConvTranspose weight")
    law = info.law_at(shape, w.layout, w.fans, **params)  # checks shapes and parameters
    if law is None:  # deterministic rules (identity, dirac): computed and checked now
        values = info.values(shape, NumpySource(np.random.default_rng(0)), w.layout, **params)

        def run_fixed(view: torch.Tensor, gen: torch.Generator | None) -> None:
            copy_values_(view, values, info.name)

        return run_fixed, float(values.std())

    def run_rule(view: torch.Tensor, gen: torch.Generator | None) -> None:
        source = TorchSource(gen, view.device, compute_dtype(view.dtype))
        copy_values_(view, info.values(shape, source, w.layout, w.fans, **params), info.name)

    return run_rule, law.std


def _run_rule(name: str, tensor: torch.Tensor, generator: torch.Generator | None, **params) -> None:
    source = TorchSource(generator, tensor.device, compute_dtype(tensor.dtype))
    values = schemes.info(name).values(tuple(tensor.shape), source, "torch", **params)
    copy_values_(tensor, values, name)


def orthogonal_(tensor: torch.Tensor, gain: float, generator: torch.Generator | None) -> float:
    """Compatibility wrapper: the orthogonal rule on ``tensor`` in torch's layout (``shape[0]``
    x the rest, like ``torch.nn.init.orthogonal_``); returns the std of its entries."""
    _run_rule("orthogonal", tensor, generator, gain=gain)
    return schemes.info("orthogonal").law_at(tuple(tensor.shape), "torch", gain=gain).std


def sparse_rows_(
    units: torch.Tensor, sparsity: float, std: float, generator: torch.Generator | None
) -> None:
    """Compatibility wrapper: the sparse rule on a ``(units, fan_in)`` matrix (zeros in each
    row, one unit's incoming weights)."""
    _run_rule("sparse", units, generator, sparsity=sparsity, std=std)
