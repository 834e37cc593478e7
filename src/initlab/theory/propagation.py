"""Variance propagation through a given network, predicted before anything is trained.

The network is the engine's MLP: layer sizes ``n_0, n_1, ..., n_L`` (``n_0`` inputs, ``L``
weight layers), ``W_l`` of shape ``(n_{l-1}, n_l)``, ``Z_l = A_{l-1} @ W_l + b_l``,
``A_l = phi_l(Z_l)``, ``A_0 = X``.  Layers ``1 .. L-1`` are hidden; ``L`` is the output layer.
Weights are i.i.d. with mean 0 and the variance ``Var(W_l)`` that the scheme's law gives for
that layer's own fans (:func:`initlab.schemes.distribution`), so ``fan_in != fan_out`` and
per-layer schemes need no special case; biases have variance ``sigma_b^2`` (per layer if
given as a list).  Expectations are over ``z ~ N(0, 1)``.

Forward (pre-activation variance ``q_l = Var(Z_l)``, activation second moment
``m_l = E[A_l^2]``)::

    m_0 = input_variance                      (mean square of one input feature)
    q_l = n_{l-1} Var(W_l) m_{l-1} + sigma_b,l^2 = sigma_w,l^2 m_{l-1} + sigma_b,l^2
    m_l = E[phi_l(sqrt(q_l) z)^2]

with ``sigma_w,l^2 = fan_in Var(W_l) = n_{l-1} Var(W_l)``.  This is exact in expectation given
``m_{l-1}`` (the weights are independent of the layer's input); wide layers make ``Z_l``
Gaussian, which is what the next expectation assumes (mean-field).

Backward (gradient variance ``v_l = Var(dL/dZ_l)``; the loss gradient at the output
pre-activations sets the scale: ``v_L = output_grad_variance``, 1 by default)::

    dA_l = dZ_{l+1} @ W_{l+1}^T :  Var(dA_l) = n_{l+1} Var(W_{l+1}) v_{l+1}     (fan_out sum)
    dZ_l = dA_l * phi_l'(Z_l)   :  v_l = Var(dA_l) E[phi_l'(sqrt(q_l) z)^2]
    Var(dW_l) = m_{l-1} v_l         (one example: dW_l = A_{l-1}^T dZ_l)
    |dZ_l|^2  = n_l v_l             (expected squared norm of one example's gradient)
    chi_l = |dZ_l|^2 / |dZ_{l+1}|^2 = n_l Var(W_{l+1}) E[phi_l'(sqrt(q_l) z)^2]

The backward step treats the back-propagated weights as independent of the forward ones (the
gradient-independence assumption of mean-field theory; exact for the output layer, accurate
to O(1/width) elsewhere).  ``chi_l = sigma_w,l+1^2 E[phi_l'^2]`` is the mean-field ``chi_1``
at ``q_l``.
``q_l = 0`` means ``Z_l`` is identically 0 and uses ``phi(0)``, ``phi'(0)`` (e.g. ``relu'(0) =
0``), unlike the mean-field functions, which read ``q* = 0`` as a limit.  A variance that
overflows to ``inf`` stays ``inf`` through unbounded activations, and bounded ones (tanh,
sigmoid) take their ``q -> inf`` limits.

Verdict.  Two end-to-end changes, each in the quantity that the right initialization keeps
constant from layer to layer (He with ReLU: every forward step after the first and every
backward step is exactly 1):

* forward: the per-unit variance from the input to the output pre-activations,
  ``q_L / m_0`` over ``L`` layers (fan_in-normalised: ``q_l / q_{l-1}`` is
  ``sigma_w,l^2 m_{l-1} / q_{l-1}``);
* backward: the squared norm of one example's gradient, ``|dZ_l|^2 = n_l v_l``, from the output
  layer to the first, ``n_1 v_1 / (n_L v_L)`` over ``L - 1`` layers.  Per layer it changes by
  ``n_l v_l / (n_{l+1} v_{l+1}) = sigma_w,l+1^2 E[phi_l'^2]``, the mean-field ``chi_1`` with
  the next layer's fan_in-normalised ``sigma_w^2``; the per-unit ``v_l`` would also change
  with the ratio of widths (a 300 -> 10 output layer divides it by about 15 under Xavier),
  which is not a vanishing gradient.

The thresholds live in one place, :func:`judge` with :data:`VERDICT_TOTAL_FACTOR` and
:data:`VERDICT_LAYER_FACTOR`.  The verdict is "exploding" if either direction explodes,
else "vanishing" if either vanishes, else "stable".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from initlab import schemes as S
from initlab._checks import check_finite_real, check_positive_int
from initlab._json import jsonable
from initlab._text import fmt, format_table
from initlab.activations import Activation, parse_activation
from initlab.theory.meanfield import (
    Q_LARGE,
    _derivative_moment,
    _second_moment,
    as_activation,
)

__all__ = [
    "VERDICTS",
    "VERDICT_LAYER_FACTOR",
    "VERDICT_TOTAL_FACTOR",
    "LayerPrediction",
    "PropagationResult",
    "Trend",
    "judge",
    "layer_weight_variances",
    "predict_network",
]

#: A signal whose RMS changes by more than this factor across the hidden layers is vanishing
#: (shrinks) or exploding (grows): a factor 10 in RMS is a factor 100 in variance.
VERDICT_TOTAL_FACTOR = 10.0
#: ... or whose RMS changes by more than this factor per layer (geometric mean over the
#: hidden layers), which catches fast change in shallow networks.
VERDICT_LAYER_FACTOR = 2.0
VERDICTS = ("vanishing", "stable", "exploding")


def judge(start: float, end: float, steps: int) -> str:
    """The verdict for a variance that goes from ``start`` to ``end`` in ``steps`` layers.

    ``rms = sqrt(end / start)`` and ``per_layer = rms ** (1 / steps)``:

    * "exploding" if ``rms > VERDICT_TOTAL_FACTOR`` or ``per_layer > VERDICT_LAYER_FACTOR``,
      or ``end`` is inf/NaN (overflow);
    * "vanishing" if ``rms < 1 / VERDICT_TOTAL_FACTOR`` or
      ``per_layer < 1 / VERDICT_LAYER_FACTOR``, or ``end`` is exactly 0 (no signal at all);
    * "stable" otherwise, and whenever ``steps == 0`` with a finite, nonzero ``end``.
    """
    if math.isnan(end) or math.isinf(end) or math.isinf(start):
        return "exploding"
    if end == 0.0:
        return "vanishing"
    if start == 0.0:
        return "exploding"
    if steps == 0:
        return "stable"
    rms = math.sqrt(end / start)
    per_layer = rms ** (1.0 / steps)
    if rms > VERDICT_TOTAL_FACTOR or per_layer > VERDICT_LAYER_FACTOR:
        return "exploding"
    if rms < 1.0 / VERDICT_TOTAL_FACTOR or per_layer < 1.0 / VERDICT_LAYER_FACTOR:
        return "vanishing"
    return "stable"


@dataclass(frozen=True)
class Trend:
    """How one quantity changes across the hidden layers, in the direction it propagates."""

    quantity: str  # "Var(Z)" (forward, per unit) or "|dZ|^2" (backward, per example)
    from_layer: int
    to_layer: int
    steps: int
    start: float  # the variance at from_layer
    end: float  # the variance at to_layer
    ratio: float  # variance at to_layer / variance at from_layer
    rms_ratio: float  # sqrt(ratio)
    rms_per_layer: float  # rms_ratio ** (1 / steps); NaN when steps == 0
    verdict: str

    def describe(self) -> str:
        """One line: the change from one end to the other, per layer, and the verdict."""

        def where(layer: int) -> str:
            return "input" if layer == 0 else f"layer {layer}"

        head = f"{self.quantity} {where(self.from_layer)} -> {where(self.to_layer)}: "
        if self.steps == 0:
            return head + f"no layer-to-layer step: {self.verdict}"
        if math.isnan(self.ratio):
            return head + f"{_num(self.start)} -> {_num(self.end)}: {self.verdict}"
        return head + (
            f"x{_num(self.ratio)} (RMS x{_num(self.rms_ratio)}, "
            f"x{_num(self.rms_per_layer)} per layer): {self.verdict}"
        )


def _num(x: float) -> str:
    return fmt(x, 3)


def _trend(quantity: str, values: Sequence[float], first: int, last: int) -> Trend:
    """Trend of ``values[first] -> values[last]`` (indices are the layer numbers)."""
    start, end = values[first], values[last]
    steps = abs(last - first)
    ratio = end / start if 0.0 < start < math.inf else math.nan
    rms = math.sqrt(ratio) if ratio >= 0 else math.nan
    per = rms ** (1.0 / steps) if steps > 0 else math.nan
    verdict = judge(start, end, steps)
    return Trend(quantity, first, last, steps, start, end, ratio, rms, per, verdict)


@dataclass(frozen=True)
class LayerPrediction:
    """The prediction for weight layer ``layer`` (1-based; the last one is the output layer).

    ``q = Var(Z)``; ``second_moment = E[A^2]`` (NaN for a softmax output);
    ``grad_variance = Var(dL/dZ)`` per unit; ``grad_norm2 = fan_out * grad_variance``, the
    squared norm of one example's ``dZ``; ``chi = grad_norm2 / grad_norm2 of the next layer``
    (NaN for the output layer); ``weight_grad_variance = E[A_{l-1}^2] Var(dZ_l)``, one
    example's."""

    layer: int
    fan_in: int
    fan_out: int
    activation: str
    scheme: str
    weight_variance: float
    sigma_w2: float
    bias_variance: float
    q: float
    second_moment: float
    chi: float
    grad_variance: float
    grad_norm2: float
    weight_grad_variance: float

    def to_dict(self) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class PropagationResult:
    """The predicted per-layer forward and backward variances of a network, and the verdict."""

    layer_sizes: tuple[int, ...]
    input_variance: float
    output_grad_variance: float
    layers: tuple[LayerPrediction, ...]
    forward: Trend
    backward: Trend
    verdict: str
    notes: tuple[str, ...] = field(default=())

    # -- convenient columns
    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def q_forward(self) -> list[float]:
        """``Var(Z_l)`` for l = 1..L."""
        return [r.q for r in self.layers]

    @property
    def second_moment(self) -> list[float]:
        """``E[A_l^2]`` for l = 1..L."""
        return [r.second_moment for r in self.layers]

    @property
    def grad_variance(self) -> list[float]:
        """``Var(dL/dZ_l)`` for l = 1..L (``Var(dZ_L) = output_grad_variance``)."""
        return [r.grad_variance for r in self.layers]

    @property
    def weight_grad_variance(self) -> list[float]:
        return [r.weight_grad_variance for r in self.layers]

    @property
    def grad_norm2(self) -> list[float]:
        """``|dZ_l|^2 = n_l Var(dZ_l)`` for l = 1..L."""
        return [r.grad_norm2 for r in self.layers]

    @property
    def chi(self) -> list[float]:
        return [r.chi for r in self.layers]

    # -- plain data
    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-serialisable dict per layer (non-finite numbers as "inf"/"nan")."""
        return [r.to_dict() for r in self.layers]

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-serialisable (``json.dumps(result.to_dict())`` is strict JSON)."""
        return {
            "layer_sizes": list(self.layer_sizes),
            "input_variance": self.input_variance,
            "output_grad_variance": self.output_grad_variance,
            "layers": self.to_records(),
            "forward": {k: jsonable(v) for k, v in asdict(self.forward).items()},
            "backward": {k: jsonable(v) for k, v in asdict(self.backward).items()},
            "verdict": self.verdict,
            "notes": list(self.notes),
            "thresholds": {
                "total_rms_factor": VERDICT_TOTAL_FACTOR,
                "per_layer_rms_factor": VERDICT_LAYER_FACTOR,
            },
        }

    def format_table(self) -> str:
        """The per-layer table: fans, activation, scheme, sigma_w^2, sigma_b^2, Var(Z), E[A^2],
        chi, Var(dZ), |dZ|^2, Var(dW)."""
        rows = [
            (
                r.layer,
                f"{r.fan_in}->{r.fan_out}",
                r.activation,
                r.scheme,
                r.sigma_w2,
                r.bias_variance,
                r.q,
                r.second_moment,
                None if math.isnan(r.chi) else r.chi,
                r.grad_variance,
                r.grad_norm2,
                r.weight_grad_variance,
            )
            for r in self.layers
        ]
        headers = [
            "layer",
            "fans",
            "activation",
            "init",
            "sigma_w^2",
            "sigma_b^2",
            "Var(Z)",
            "E[A^2]",
            "chi",
            "Var(dZ)",
            "|dZ|^2",
            "Var(dW)",
        ]
        return format_table(headers, rows)

    def summary(self) -> str:
        """The verdict with the trends it comes from, as lines of text."""
        lines = [
            "forward  " + self.forward.describe(),
            "backward " + self.backward.describe(),
            f"verdict: {self.verdict}",
        ]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


# --------------------------------------------------------------------------- inputs


def _layer_sizes(layer_sizes: Any) -> tuple[int, ...]:
    if isinstance(layer_sizes, str) or not isinstance(layer_sizes, Sequence):
        raise TypeError(
            f"layer_sizes must be a sequence of positive integers such as [784, 300, 10], "
            f"got {layer_sizes!r}"
        )
    sizes = tuple(check_positive_int(f"layer_sizes[{i}]", n) for i, n in enumerate(layer_sizes))
    if len(sizes) < 2:
        raise ValueError(
            f"layer_sizes must list the input size and at least one layer (depth >= 1), "
            f"got {list(layer_sizes)!r} (depth {max(len(sizes) - 1, 0)})"
        )
    return sizes


def _per_layer(name: str, value: Any, count: int, what: str) -> list[Any]:
    """``value`` repeated ``count`` times, or the list itself if it has that length."""
    if isinstance(value, str | Activation | S.SchemeSpec) or not isinstance(value, Sequence):
        return [value] * count
    items = list(value)
    if len(items) != count:
        raise ValueError(f"{name} must be one {what} or a list of {count}, got {len(items)} items")
    return items


def _scheme(value: Any, index: int) -> S.SchemeSpec:
    if isinstance(value, S.SchemeSpec):
        return value
    if not isinstance(value, str):
        raise TypeError(
            f"weight_scheme for layer {index} must be a scheme name such as 'he_normal' or "
            f"'random_normal:std=0.5', or a SchemeSpec, got {value!r}"
        )
    return S.parse_scheme(value)


def layer_weight_variances(
    layer_sizes: Sequence[int], weight_scheme: Any
) -> list[tuple[S.SchemeSpec, float]]:
    """``(scheme, Var(W_l))`` for every layer, read from the scheme's law for that layer's fans.

    Raises ValueError for schemes the mean-field recursion cannot describe: a nonzero weight
    mean (constant, ones: every unit of a layer computes the same thing, so the pre-activations
    are not a sum of independent zero-mean terms) or no single law (identity, dirac, LSUV)."""
    sizes = _layer_sizes(layer_sizes)
    depth = len(sizes) - 1
    out = []
    for i, raw in enumerate(_per_layer("weight_scheme", weight_scheme, depth, "scheme"), 1):
        spec = _scheme(raw, i)
        law = S.distribution(spec, sizes[i - 1], sizes[i])
        if law is None:
            raise ValueError(
                f"scheme {str(spec)!r} (layer {i}) has no single law for one weight "
                "(structured or data-dependent); the mean-field prediction needs i.i.d. "
                "zero-mean weights"
            )
        if law.mean != 0.0:
            raise ValueError(
                f"scheme {str(spec)!r} (layer {i}) draws weights with mean {law.mean:g}; "
                "the mean-field recursion assumes zero-mean weights, so it does not apply "
                "(with a constant weight every unit of a layer is identical: no symmetry "
                "breaking)"
            )
        out.append((spec, law.variance))
    return out


# --------------------------------------------------------------------------- prediction


def _moments(act: Activation, q: float) -> tuple[float, float]:
    """``(E[phi(sqrt(q) z)^2], E[phi'(sqrt(q) z)^2])``; an overflowed ``q = inf`` gives the
    limits q -> inf (inf for an unbounded activation, finite for tanh or sigmoid)."""
    if math.isinf(q):
        m = _second_moment(act, Q_LARGE)
        return (math.inf if m > 1e50 else m), _derivative_moment(act, Q_LARGE)
    return _second_moment(act, q), _derivative_moment(act, q)


def predict_network(
    layer_sizes: Sequence[int],
    activation: Any = "relu",
    weight_scheme: Any = "he_normal",
    bias_variance: float | Sequence[float] = 0.0,
    input_variance: float = 1.0,
    *,
    output_activation: Any = "linear",
    output_grad_variance: float = 1.0,
) -> PropagationResult:
    """Predict the per-layer forward and backward variances of a randomly initialised MLP.

    ``layer_sizes``: ``[n_0, ..., n_L]``.  ``activation``: the hidden layers' activation (a
    name, an Activation, or a list of ``L - 1``).  ``weight_scheme``: a scheme name, spec text
    (``"random_normal:std=0.5"``), SchemeSpec, or a list of ``L``.  ``bias_variance``:
    ``Var(b)`` for every layer, or a list of ``L``.  ``input_variance``: the mean square of
    one input feature (1 for standardised data).  ``output_activation`` (default linear)
    enters only ``E[A_L^2]``: the backward pass starts at ``dZ_L`` with variance
    ``output_grad_variance``.  The formulas are in the module docstring.

    Example: ``predict_network([784, 300, 300, 10], "relu", "he_normal").q_forward`` is
    ``[2.0, 2.0, 2.0]`` (He keeps ReLU's variance)."""
    sizes = _layer_sizes(layer_sizes)
    depth = len(sizes) - 1
    if depth == 1 and (isinstance(activation, str | Activation) or activation is None):
        hidden = []  # no hidden layer: a single activation is accepted and unused
        if activation is not None:
            as_activation(activation)
    else:
        hidden = _per_layer("activation", activation, depth - 1, "activation")
    acts = [as_activation(a, f"activation[{i}]") for i, a in enumerate(hidden)]
    try:
        out_act = parse_activation(output_activation)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"output_activation: {exc}") from None
    weights = layer_weight_variances(sizes, weight_scheme)
    biases = [
        check_finite_real(f"bias_variance[{i}]", b, low=0.0)
        for i, b in enumerate(_per_layer("bias_variance", bias_variance, depth, "number"))
    ]
    m_prev = check_finite_real("input_variance", input_variance, low=0.0)
    v_out = check_finite_real("output_grad_variance", output_grad_variance, low=0.0)

    # forward
    m_in, qs, ms, dphi2 = [], [], [], []
    for li in range(depth):
        fan_in = sizes[li]
        q = fan_in * weights[li][1] * m_prev + biases[li]
        act = acts[li] if li < depth - 1 else out_act
        if act.elementwise:
            m, d = _moments(act, q)
        else:
            m, d = math.nan, math.nan  # softmax output: not elementwise, and not needed
        m_in.append(m_prev)
        qs.append(q)
        ms.append(m)
        dphi2.append(d if li < depth - 1 else math.nan)
        m_prev = m

    # backward
    vs = [math.nan] * depth
    chis = [math.nan] * depth
    vs[-1] = v_out
    for li in range(depth - 2, -1, -1):
        vs[li] = sizes[li + 2] * weights[li + 1][1] * dphi2[li] * vs[li + 1]
        chis[li] = sizes[li + 1] * weights[li + 1][1] * dphi2[li]
    norms = [sizes[li + 1] * vs[li] for li in range(depth)]

    layers = tuple(
        LayerPrediction(
            layer=li + 1,
            fan_in=sizes[li],
            fan_out=sizes[li + 1],
            activation=(acts[li] if li < depth - 1 else out_act).spec,
            scheme=str(weights[li][0]),
            weight_variance=weights[li][1],
            sigma_w2=sizes[li] * weights[li][1],
            bias_variance=biases[li],
            q=qs[li],
            second_moment=ms[li],
            chi=chis[li],
            grad_variance=vs[li],
            grad_norm2=norms[li],
            weight_grad_variance=m_in[li] * vs[li],
        )
        for li in range(depth)
    )
    forward = _trend("Var(Z)", [m_in[0], *qs], 0, depth)
    backward = _trend("|dZ|^2", [math.nan, *norms], depth, 1)
    verdicts = {forward.verdict, backward.verdict}
    verdict = next(v for v in ("exploding", "vanishing", "stable") if v in verdicts)
    notes = []
    for spec, _ in weights:
        if spec.name == "orthogonal":
            notes.append(
                "orthogonal weights are treated as Gaussian with the same entry variance "
                "gain^2 / max(fan_in, fan_out)"
            )
            break
    return PropagationResult(
        sizes,
        float(input_variance),
        v_out,
        layers,
        forward,
        backward,
        verdict,
        tuple(notes),
    )
