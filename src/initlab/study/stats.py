"""The study's statistical tests: effect sizes with 95 % confidence intervals, stated.

Every verdict of the study that compares two groups of seeds goes through :func:`compare`:

* the effect is the **ratio** of two positive quantities (a per-layer factor, steps to a
  target), estimated as ``exp(mean(log a) - mean(log b))``;
* the test is a **paired t** interval on the per-seed log ratios ``log(a_i / b_i)`` when both
  groups ran with the same seeds (the same data, the same draws where the laws share them), and
  a **Welch t** interval on the two groups' logs otherwise;
* the 95 % interval ``estimate * exp(+- t_{0.975, df} * se)`` is compared with a stated
  **smallest effect that matters** ``delta`` (a ratio outside ``[1 / (1 + delta), 1 + delta]``):

  - ``"differ"``: the interval excludes 1 and the estimate lies outside the band;
  - ``"same"``: the whole interval lies inside the band -- "no difference detected";
  - ``"undecided"``: anything else (too few seeds for the spread).

Steps to a target that a run never reached are *censored*: they enter as "more than the steps
run" (``steps + 1``), a lower bound, so a difference that points the other way, or an interval
inside the band, cannot be trusted and is ``undecided``; when every run of both groups is
censored the groups are ``"same"`` in the only sense that can be measured (neither reaches it).

:func:`share` is the companion for "in every seed" statements: the count, and a one-sided
95 % lower bound on the rate (Clopper-Pearson; ``0.05 ** (1 / n)`` when every seed shows it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

__all__ = [
    "CONFIDENCE",
    "DIFFER",
    "SAME",
    "UNDECIDED",
    "Comparison",
    "above",
    "as_part",
    "Share",
    "compare",
    "fisher_greater",
    "more_often",
    "share",
    "t_quantile",
    "typical",
    "typical3",
]

CONFIDENCE = 0.95
DIFFER = "differ"
SAME = "same"
UNDECIDED = "undecided"


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom.

    Exact for df = 1 (``tan(pi (p - 1/2))``) and df = 2 (``(2p - 1) / sqrt(2 p (1 - p))``);
    otherwise the Cornish-Fisher expansion in 1/df of the normal quantile z (Abramowitz &
    Stegun 26.7.5), whose error at p = 0.975 is 4e-3 at df = 3 (0.1 %), below 3e-4 from
    df = 5 and below 1e-6 from df = 19."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p={p!r} must lie strictly between 0 and 1")
    if df <= 0:
        raise ValueError(f"df={df!r} must be positive")
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = NormalDist().inv_cdf(p)
    v = float(df)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / v + g2 / v**2 + g3 / v**3 + g4 / v**4


def _mean_sd(x: Sequence[float]) -> tuple[float, float]:
    n = len(x)
    m = math.fsum(x) / n
    sd = math.sqrt(math.fsum((v - m) ** 2 for v in x) / (n - 1)) if n > 1 else math.nan
    return m, sd


@dataclass(frozen=True)
class Comparison:
    """The comparison of group ``a`` with group ``b`` (see the module docstring).

    ``ratio``: the estimated ratio a / b; ``low``, ``high``: its 95 % interval (None when it
    cannot be computed: fewer than two seeds, or no spread at all with a non-unit ratio);
    ``test``; ``n_a``, ``n_b`` (pairs: equal); ``censored_a``, ``censored_b``: how many runs
    never reached the target; ``delta``: the smallest effect that matters; ``outcome``:
    ``"differ"``, ``"same"`` or ``"undecided"``."""

    ratio: float | None
    low: float | None
    high: float | None
    test: str
    n_a: int
    n_b: int
    censored_a: int
    censored_b: int
    delta: float
    outcome: str

    @property
    def half_width(self) -> float | None:
        """The interval's largest distance from 1, as a fraction (``"95 % CI +-x %"``)."""
        if self.low is None or self.high is None:
            return None
        return max(abs(self.low - 1.0), abs(self.high - 1.0))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "half_width": self.half_width}

    def text(self) -> str:
        """``"no difference detected (95% CI +-1.4%; paired t on log ratios, 20 seeds;
        smallest effect that matters 5%)"`` or ``"a/b = 1.32 (95% CI 1.21 to 1.45; ...)"``."""
        how = f"{self.test}, {self._seeds()}; smallest effect that matters {_pc(self.delta)}"
        if self.ratio is None:
            return f"undecided: no interval ({how})"
        if self.outcome == SAME and self.censored_a == self.n_a and self.censored_b == self.n_b:
            return f"same: neither reaches the target in any seed ({how})"
        ci = "no interval" if self.low is None else f"95% CI {_r(self.low)} to {_r(self.high)}"
        if self.outcome == SAME:
            return f"no difference detected (95% CI +-{_pc(self.half_width)}; {how})"
        word = "differ" if self.outcome == DIFFER else "undecided"
        return f"{word}: ratio {_r(self.ratio)} ({ci}; {how})"

    def short(self) -> str:
        """A table cell: ``"same (95% CI +-1.4%)"``, ``"differ: x1.32 (1.21-1.45)"``,
        ``"undecided: x1.1 (0.9-1.3)"``."""
        if self.ratio is None:
            return "undecided (no interval)"
        if self.outcome == SAME and self.censored_a == self.n_a and self.censored_b == self.n_b:
            return "same: neither reaches"
        if self.outcome == SAME:
            return f"same (95% CI +-{_pc(self.half_width)})"
        ci = "" if self.low is None else f" ({_r(self.low)}-{_r(self.high)})"
        return f"{self.outcome}: x{_r(self.ratio)}{ci}"

    def _seeds(self) -> str:
        seeds = f"{self.n_a} seeds" if self.n_a == self.n_b else f"{self.n_a} vs {self.n_b} seeds"
        cens = self.censored_a + self.censored_b
        return seeds + (f", {cens} runs never reached the target" if cens else "")


def _pc(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2g}%"


def _r(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _outcome(ratio: float, low: float | None, high: float | None, delta: float) -> str:
    band_lo, band_hi = 1.0 / (1.0 + delta), 1.0 + delta
    if low is None or high is None:
        return UNDECIDED
    if band_lo <= low and high <= band_hi:
        return SAME
    if (high < 1.0 or low > 1.0) and not band_lo <= ratio <= band_hi:
        return DIFFER
    return UNDECIDED


def compare(
    a: Sequence[float | None],
    b: Sequence[float | None],
    *,
    delta: float,
    paired: bool,
    censor_at: float | None = None,
) -> Comparison:
    """Compare positive values ``a`` with ``b`` (see the module docstring).

    ``paired``: ``a[i]`` and ``b[i]`` ran with the same seed.  ``censor_at``: a None (a target
    never reached) counts as this value, a lower bound; without it a None is an error.
    Non-finite values are errors too: the callers decide what a diverged run means."""
    if delta <= 0:
        raise ValueError(f"delta={delta!r} must be positive")
    if paired and len(a) != len(b):
        raise ValueError(f"paired groups need equal sizes, got {len(a)} and {len(b)}")

    def values(x: Sequence[float | None], name: str) -> tuple[list[float], int]:
        out, cens = [], 0
        for v in x:
            if v is None:
                if censor_at is None:
                    raise ValueError(f"group {name} has a missing value and no censor_at")
                cens += 1
                v = censor_at
            v = float(v)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"group {name} has the value {v!r}; only positive values")
            out.append(v)
        return out, cens

    va, ca = values(a, "a")
    vb, cb = values(b, "b")
    test = "paired t on log ratios" if paired else "Welch t on logs"
    la, lb = [math.log(v) for v in va], [math.log(v) for v in vb]
    if ca == len(va) and cb == len(vb):
        return Comparison(1.0, 1.0, 1.0, test, len(va), len(vb), ca, cb, delta, SAME)
    if paired:
        d = [x - y for x, y in zip(la, lb, strict=True)]
        if len(d) < 2:
            return Comparison(None, None, None, test, len(va), len(vb), ca, cb, delta, UNDECIDED)
        m, sd = _mean_sd(d)
        se, df = sd / math.sqrt(len(d)), len(d) - 1.0
    else:
        if len(la) < 2 or len(lb) < 2:
            m = (math.fsum(la) / len(la) - math.fsum(lb) / len(lb)) if la and lb else math.nan
            ratio = math.exp(m) if math.isfinite(m) else None
            return Comparison(ratio, None, None, test, len(va), len(vb), ca, cb, delta, UNDECIDED)
        ma, sa = _mean_sd(la)
        mb, sb = _mean_sd(lb)
        m = ma - mb
        va_, vb_ = sa**2 / len(la), sb**2 / len(lb)
        se = math.sqrt(va_ + vb_)
        # Welch-Satterthwaite degrees of freedom
        df = (
            (va_ + vb_) ** 2
            / ((va_**2 / (len(la) - 1) if va_ else 0.0) + (vb_**2 / (len(lb) - 1) if vb_ else 0.0))
            if se > 0
            else float(len(la) + len(lb) - 2)
        )
    ratio = math.exp(m)
    t = t_quantile(0.5 + CONFIDENCE / 2, df)
    low, high = math.exp(m - t * se), math.exp(m + t * se)
    outcome = _outcome(ratio, low, high, delta)
    if ca or cb:
        # a censored value is a lower bound: only "the censored side is slower" survives
        slower_a = low > 1.0
        slower_b = high < 1.0
        if not (
            outcome == DIFFER and ((slower_a and ca and not cb) or (slower_b and cb and not ca))
        ):
            outcome = UNDECIDED
    return Comparison(ratio, low, high, test, len(va), len(vb), ca, cb, delta, outcome)


def as_part(c: Comparison, expect: str) -> bool | None:
    """A criterion's part from a comparison: with ``expect="same"`` True when no difference is
    detected, False when the groups differ, None (undecided) otherwise; with
    ``expect="differ"`` the reverse."""
    if c.outcome == UNDECIDED:
        return None
    return (c.outcome == SAME) == (expect == SAME)


def above(c: Comparison, factor: float) -> bool | None:
    """Is the ratio a / b above ``factor``?  True when the whole interval is above it, False
    when the whole interval is below it, None otherwise.  A censored ``a`` (never reached:
    a lower bound) can only confirm "above"; a censored ``b`` only "below"."""
    if c.low is None or c.high is None:
        return None
    if c.censored_a == c.n_a and c.censored_b == c.n_b:
        return None
    if c.low > factor and not c.censored_b:
        return True
    if c.high < factor and not c.censored_a:
        return False
    return None


@dataclass(frozen=True)
class Share:
    """How many of ``n`` seeds show something (``k``), and a one-sided 95 % lower bound on the
    rate: the Clopper-Pearson bound, the ``p`` with ``P(X >= k | n, p) = 0.05``."""

    k: int
    n: int
    lower: float

    @property
    def every(self) -> bool:
        return self.n > 0 and self.k == self.n

    @property
    def none(self) -> bool:
        return self.k == 0

    def text(self) -> str:
        if self.n == 0:
            return "no seed"
        return f"{self.k}/{self.n} seeds (95% lower bound on the rate {100 * self.lower:.0f}%)"

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.k, "n": self.n, "lower": self.lower}


def typical(flags: Sequence[bool]) -> bool | None:
    """Do most seeds show it?  True when the 95 % lower bound on the rate (:func:`share`) is
    above one half, False when the lower bound on the rate of the opposite is, None (undecided)
    otherwise: 15 of 20 seeds decide, 3 of 5 do not."""
    if share(flags).lower > 0.5:
        return True
    if share([not f for f in flags]).lower > 0.5:
        return False
    return None


def typical3(flags: Sequence[bool | None]) -> bool | None:
    """:func:`typical` when some flags are undecided (None): True only if the seeds that show
    it already decide, False only if the seeds that do not already decide."""
    if typical([f is True for f in flags]) is True:
        return True
    if typical([f is not False for f in flags]) is False:
        return False
    return None


def fisher_greater(k_a: int, n_a: int, k_b: int, n_b: int) -> float:
    """One-sided Fisher exact p-value that group a shows something more often than group b:
    ``P(X >= k_a)`` for X hypergeometric (``k_a + k_b`` cases among ``n_a + n_b`` runs, ``n_a``
    of them drawn)."""
    total, cases = n_a + n_b, k_a + k_b
    denom = math.comb(total, n_a)
    hi = min(cases, n_a)
    return (
        math.fsum(
            math.comb(cases, x) * math.comb(total - cases, n_a - x) for x in range(k_a, hi + 1)
        )
        / denom
    )


def more_often(flags: Sequence[bool], reference: Sequence[bool]) -> bool | None:
    """ "Can lead to": True when the runs ``flags`` show it detectably more often than the
    ``reference`` runs (one-sided Fisher exact test, p < 0.05); False when most of them do not
    (:func:`typical` of the opposite); None otherwise."""
    k_a, k_b = sum(map(bool, flags)), sum(map(bool, reference))
    if fisher_greater(k_a, len(flags), k_b, len(reference)) < 1 - CONFIDENCE:
        return True
    if typical([not f for f in flags]) is True:
        return False
    return None


def _binom_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    return math.fsum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def share(flags: Sequence[bool]) -> Share:
    """The :class:`Share` of True values among ``flags``."""
    n, k = len(flags), sum(bool(f) for f in flags)
    if k == 0 or n == 0:
        return Share(k, n, 0.0)
    if k == n:
        return Share(k, n, (1 - CONFIDENCE) ** (1 / n))
    lo, hi = 0.0, 1.0
    for _ in range(60):  # bisection: the tail grows with p
        mid = (lo + hi) / 2
        if _binom_tail(k, n, mid) < 1 - CONFIDENCE:
            lo = mid
        else:
            hi = mid
    return Share(k, n, lo)
