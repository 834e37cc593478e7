"""Every threshold of the statistics and of the verdict rules, in one place (:data:`THRESHOLDS`),
and the names of the failure modes the rules can find (:data:`MODES`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["INIT_MODES", "MODES", "SEVERITY", "THRESHOLDS", "TRAINING_MODES", "Thresholds"]

#: Failure modes judged from the first record: what the initialization does.
INIT_MODES = ("symmetric", "vanishing", "exploding", "saturated", "dead_relu")
#: Failure modes judged from the cost curve and the later records: what training then did.
TRAINING_MODES = ("diverged", "exploded", "no_learning", "stalled", "unstable", "dead_grew", "slow")
#: Every failure mode :func:`initlab.diagnostics.verdict` can name, plus "healthy".
MODES = (
    "diverged",
    "exploded",
    "symmetric",
    "no_learning",
    "stalled",
    "vanishing",
    "exploding",
    "saturated",
    "dead_relu",
    "dead_grew",
    "unstable",
    "slow",
    "healthy",
)

#: How bad each mode is: findings are ordered by it (highest first), never by rule order.
SEVERITY = {
    "diverged": 5,
    "exploded": 5,
    "symmetric": 4,
    "no_learning": 4,
    "stalled": 4,
    "vanishing": 3,
    "exploding": 3,
    "saturated": 2,
    "dead_relu": 2,
    "dead_grew": 2,
    "unstable": 2,
    "slow": 1,
    "healthy": 0,
}


@dataclass(frozen=True)
class Thresholds:
    """Every threshold of the statistics and the verdict rules, in one place.

    Statistics:

    * ``tanh_saturation``: a tanh activation is saturated when ``|a| > 0.97`` (``tanh'(z) < 0.06``);
    * ``sigmoid_low`` / ``sigmoid_high``: a sigmoid activation is saturated outside [0.03, 0.97]
      (``sigmoid'(z) < 0.03``, an eighth of its peak);
    * ``symmetry_rtol``: two units are the same unit when their incoming weights, bias and
      activations agree within this relative tolerance.

    Rules at initialization (the first record; ``docs/diagnostics.md`` has a case that must
    trigger each and one that must not):

    * ``grad_factor``: ``vanishing`` / ``exploding`` when the back-propagated gradient norm
      ``|dZ|`` changes, on average over the judged links, by more than this factor per layer
      against what a well-scaled initialization gives for that link (1 for dense and conv
      layers; see :mod:`initlab.diagnostics.rules`);
    * ``activation_factor``: ``exploding`` when the activations' RMS grows by more than this
      factor per judged link;
    * ``update_ratio_gap``: ``vanishing`` when layer 1's update:data is below this fraction of
      the last layer's;
    * ``saturated_fraction``: ``saturated`` when a tanh/sigmoid hidden layer has more than this
      fraction of its activations saturated;
    * ``dead_fraction``: ``dead_relu`` when a ReLU hidden layer has more than this fraction of
      dead units.  Not 0.5: when a layer's inputs are nearly alike for every example (after a
      global average pool, say) each zero-bias unit is negative for all of them with
      probability 1/2, so half the units are "dead" by a coin flip; more than 75 % of 32 such
      units has probability 0.001, so a count above it needs a cause (negative biases, a shift);
    * ``output_std``: ``exploding`` when the output layer's pre-activations (logits) have a std
      above this at the first record: the first cost is then far above a constant
      prediction's (a standardised target or a softmax needs outputs of order 1).

    Rules in training (the cost curve and the last record):

    * ``exploded_factor``: ``exploded`` when the cost at the end is more than this factor above
      the first cost;
    * ``stall_fraction``: ``stalled`` when the cost fell by less than this fraction of the first
      cost (or rose);
    * ``no_change``: ``no_learning`` when every hidden layer's weights changed by at most this
      (relative to their norm at step 0, or absolutely when that norm is 0);
    * ``unstable_fraction`` and ``unstable_rise``: ``unstable`` when the cost rose at more than
      this fraction of the steps and at least once by more than ``unstable_rise`` of its value;
    * ``dead_growth``: ``dead_grew`` when a ReLU layer's dead fraction grew by more than this
      during training and ends above ``dead_fraction``;
    * ``slow_factor`` and ``slow_target``: ``slow`` when, given a reference run, this run needs
      more than ``slow_factor`` times the reference's steps to reach ``slow_target`` of the
      reference's cost improvement (or never reaches it); ``slow_target`` is also the share of
      a run's own fall whose step the verdict reports ("90 % of the fall by step N").
    """

    tanh_saturation: float = 0.97
    sigmoid_low: float = 0.03
    sigmoid_high: float = 0.97
    symmetry_rtol: float = 1e-6
    no_change: float = 1e-12
    grad_factor: float = 2.0
    activation_factor: float = 2.0
    update_ratio_gap: float = 1e-3
    saturated_fraction: float = 0.5
    dead_fraction: float = 0.75
    output_std: float = 10.0
    dead_growth: float = 0.25
    exploded_factor: float = 10.0
    stall_fraction: float = 0.01
    unstable_fraction: float = 0.45
    unstable_rise: float = 1.0
    slow_factor: float = 2.0
    slow_target: float = 0.9
    healthy_update_data: float = 1e-3  # the guide line of update:data plots

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


THRESHOLDS = Thresholds()
