"""Mean-field maps: closed forms, the edge of chaos, the correlation map, depth scales, errors."""

import json
import math

import numpy as np
import pytest
from scipy import integrate, optimize

from initlab import theory as T
from initlab.activations import Activation


def gauss(f, q):
    """E[f(sqrt(q) z)] by scipy.integrate.quad (an implementation independent of initlab's)."""
    s = math.sqrt(q)

    def g(t):
        return f(s * t) * math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)

    return sum(
        integrate.quad(g, a, b, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
        for a, b in ((-12, 0), (0, 12))
    )


def sech2(u):
    return 1.0 / math.cosh(u) ** 2


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("q", [1e-8, 0.3, 1.0, 17.0, 1e6])
@pytest.mark.parametrize("sw2,sb2", [(2.0, 0.0), (1.3, 0.2)])
def test_relu_variance_map_is_half_q(q, sw2, sb2):
    assert T.variance_map("relu", q, sw2, sb2) == pytest.approx(sw2 * q / 2 + sb2, rel=1e-12)


@pytest.mark.parametrize("sw2", [0.5, 1.0, 1.5, 1.9])
@pytest.mark.parametrize("sb2", [0.01, 0.3])
def test_relu_and_linear_fixed_points_match_closed_forms(sw2, sb2):
    assert T.q_star("relu", sw2, sb2) == pytest.approx(sb2 / (1 - sw2 / 2), rel=1e-12)
    assert T.chi_1("relu", sw2, sb2) == pytest.approx(sw2 / 2, rel=1e-12)
    if sw2 < 1:
        assert T.q_star("linear", sw2, sb2) == pytest.approx(sb2 / (1 - sw2), rel=1e-12)
    assert T.chi_1("linear", sw2, sb2) == pytest.approx(sw2, rel=1e-12)


@pytest.mark.parametrize("q0", [0.2, 1.0, 40.0])
def test_relu_with_he_keeps_any_variance(q0):
    assert T.q_star("relu", 2.0, 0.0, q0=q0) == pytest.approx(q0, rel=1e-12)
    assert T.mean_field("relu", 2.0, 0.0, q0=q0).phase == "critical"


def test_runaway_variance_is_a_number_not_a_crash():
    assert T.q_star("relu", 3.0, 0.1) == math.inf
    assert T.chi_1("relu", 3.0, 0.1) == pytest.approx(1.5, rel=1e-12)
    assert T.q_star("linear", 1.5, 0.0) == math.inf
    assert T.q_star("tanh", 0.5, 0.0) == 0.0  # the signal dies out
    assert T.chi_1("tanh", 0.5, 0.0) == pytest.approx(0.5, rel=1e-12)  # limit q -> 0
    assert T.q_star("relu", 1.0, 0.0) == 0.0
    assert T.chi_1("relu", 1.0, 0.0) == pytest.approx(0.5, rel=1e-12)
    point = T.mean_field("relu", 3.0, 0.0)
    assert point.q_star == math.inf and point.phase == "chaotic"
    json.dumps(point.to_dict(), allow_nan=False)  # strict JSON, inf spelled out


@pytest.mark.parametrize("slope", [0.0, 0.2, 0.5])
def test_leaky_relu_closed_forms(slope):
    act = f"leaky_relu:{slope}"
    gain2 = (1 + slope**2) / 2
    assert T.chi_1(act, 1.7, 0.1) == pytest.approx(1.7 * gain2, rel=1e-12)
    assert T.critical_sigma_w2(act) == pytest.approx(1 / gain2, rel=1e-12)


# --------------------------------------------------------------------------- edge of chaos


@pytest.mark.parametrize("sb2", [0.0, 0.01, 0.3])
def test_critical_sigma_w2_for_relu_is_two(sb2):
    assert T.critical_sigma_w2("relu", sb2) == pytest.approx(2.0, rel=1e-12)


def test_critical_sigma_w2_for_tanh_without_bias_is_one():
    assert T.critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, rel=1e-12)
    assert T.critical_sigma_w2("linear", 0.0) == pytest.approx(1.0, rel=1e-12)
    # the critical weight variance: He for relu, LeCun for tanh
    assert T.critical_weight_variance("relu", 300) == pytest.approx(2 / 300, rel=1e-12)
    assert T.critical_weight_variance("tanh", 300) == pytest.approx(1 / 300, rel=1e-12)


@pytest.mark.parametrize(
    "act,sb2",
    [("tanh", 0.0025), ("tanh", 0.05), ("elu", 0.05), ("selu", 0.05), ("sigmoid", 0.0)],
)
def test_the_critical_point_is_a_fixed_point_with_chi_one(act, sb2):
    cp = T.critical_point(act, sb2)
    assert math.isfinite(cp.sigma_w2) and 0 < cp.q_star < math.inf
    # reached from q0 = q* and from the default q0 = 1 (a single basin for these)
    assert T.q_star(act, cp.sigma_w2, sb2, q0=cp.q_star) == pytest.approx(cp.q_star, rel=1e-9)
    assert T.q_star(act, cp.sigma_w2, sb2) == pytest.approx(cp.q_star, rel=1e-8)
    assert T.chi_1(act, cp.sigma_w2, sb2) == pytest.approx(1.0, abs=1e-9)
    assert T.mean_field(act, cp.sigma_w2, sb2).phase == "critical"
    assert T.chi_1(act, cp.sigma_w2 * 0.97, sb2) < 1 < T.chi_1(act, cp.sigma_w2 * 1.03, sb2)


def test_critical_tanh_matches_an_independent_scipy_computation():
    sb2 = 0.05

    def qstar(sw2):
        return optimize.brentq(
            lambda q: sw2 * gauss(lambda u: math.tanh(u) ** 2, q) + sb2 - q, 1e-6, 50, xtol=1e-14
        )

    def chi(sw2):
        return sw2 * gauss(lambda u: sech2(u) ** 2, qstar(sw2)) - 1

    ref = optimize.brentq(chi, 1.2, 3.0, xtol=1e-13)
    assert T.critical_sigma_w2("tanh", sb2) == pytest.approx(ref, rel=1e-9)


def test_gelu_and_silu_edge_starts_at_four_without_bias():
    # phi(0) = 0 and phi'(0) = 1/2: the zero-signal fixed point is critical at 1/phi'(0)^2
    for act in ("gelu", "silu"):
        assert T.critical_sigma_w2(act, 0.0) == pytest.approx(4.0, rel=1e-12)
        cp = T.critical_point(act, 0.05)
        assert T.chi_1(act, cp.sigma_w2, 0.05, q=cp.q_star) == pytest.approx(1.0, abs=1e-9)


def test_custom_activation_without_a_table_entry():
    erf_act = Activation(
        "scaled_erf",
        lambda z: np.tanh(1.3 * z),
        lambda z, a: 1.3 * (1 - a * a),
    )
    assert T.critical_sigma_w2(erf_act, 0.0) == pytest.approx(1 / 1.3**2, rel=1e-12)


# --------------------------------------------------------------------------- correlations


@pytest.mark.parametrize("c", [-0.8, 0.0, 0.5, 0.99])
@pytest.mark.parametrize("q", [0.3, 5.0])
def test_relu_correlation_map_is_the_arccos_kernel(c, q):
    expected = (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / math.pi
    got = T.correlation_map(c, "relu", 1.3, 0.0, q=q)
    assert got == pytest.approx(expected, rel=1e-12)


def test_correlation_map_fixes_one_and_is_a_correlation():
    for act, sw2, sb2 in [("tanh", 1.5, 0.05), ("gelu", 2.0, 0.1), ("sigmoid", 4.0, 0.0)]:
        assert T.correlation_map(1.0, act, sw2, sb2) == 1.0
        for c in (-1.0, -0.3, 0.4):
            assert -1.0 <= T.correlation_map(c, act, sw2, sb2) <= 1.0


def test_c_star_by_phase():
    # ordered: c* = 1; chaotic odd activation without bias: c* = 0 exactly
    assert T.c_star("tanh", 0.8, 0.05) == 1.0
    assert T.c_star("tanh", 2.0, 0.0) == pytest.approx(0.0, abs=1e-12)
    # chaotic with bias: a fixed point strictly inside (0, 1), attracting
    point = T.mean_field("tanh", 2.5, 0.05)
    assert point.phase == "chaotic" and 0.0 < point.c_star < 1.0
    assert T.correlation_map(point.c_star, "tanh", 2.5, 0.05) == pytest.approx(
        point.c_star, abs=1e-12
    )
    h = 1e-5
    slope = (
        T.correlation_map(point.c_star + h, "tanh", 2.5, 0.05)
        - T.correlation_map(point.c_star - h, "tanh", 2.5, 0.05)
    ) / (2 * h)
    assert point.chi_c == pytest.approx(slope, rel=1e-7)
    assert point.chi_c < 1.0


# --------------------------------------------------------------------------- depth scales


def test_chi_q_is_schoenholz_formula_with_the_second_derivative():
    """chi_q = chi_1 + sigma_w^2 E[phi''(u) phi(u)] (Schoenholz et al. 2017, eq. 5)."""
    sw2, sb2 = 1.5, 0.05
    q = T.q_star("tanh", sw2, sb2)

    def tanh2(u):  # tanh'' = -2 tanh sech^2
        return -2 * math.tanh(u) * sech2(u) * math.tanh(u)

    expected = T.chi_1("tanh", sw2, sb2) + sw2 * gauss(tanh2, q)
    point = T.mean_field("tanh", sw2, sb2)
    assert point.chi_q == pytest.approx(expected, rel=1e-10)
    assert point.xi_q == pytest.approx(-1 / math.log(expected), rel=1e-9)


def test_xi_q_is_the_measured_convergence_rate_of_the_variance_recursion():
    sw2, sb2 = 1.4, 0.1
    for act in ("gelu", "tanh", "elu"):
        point = T.mean_field(act, sw2, sb2)
        q, rates = point.q_star * 1.001, []
        for _ in range(10):
            q_next = T.variance_map(act, q, sw2, sb2)
            rates.append((q_next - point.q_star) / (q - point.q_star))
            q = q_next
        assert rates[-1] == pytest.approx(point.chi_q, rel=1e-5)


def test_depth_scales_closed_forms_and_divergence():
    scales = T.depth_scales("relu", 1.0, 0.1)  # q* finite, chi_1 = 1/2, c* = 1
    assert scales.xi_q == pytest.approx(1 / math.log(2), rel=1e-12)
    assert scales.xi_c == pytest.approx(1 / math.log(2), rel=1e-12)
    crit = T.critical_sigma_w2("tanh", 0.05)
    assert T.depth_scales("tanh", crit, 0.05).xi_c > 1e6
    xi = [T.depth_scales("tanh", crit * f, 0.05).xi_c for f in (0.6, 0.8, 0.95)]
    assert xi[0] < xi[1] < xi[2]
    assert T.depth_scale(1.0) == math.inf and T.depth_scale(0.0) == 0.0


def test_phase_diagram_grid_and_boundary():
    w, b = [0.5, 1.0, 2.0, 3.0], [0.0, 0.05]
    d = T.phase_diagram("tanh", w, b)
    assert d.chi_1.shape == (2, 4) and d.q_star.shape == (2, 4)
    for i, sb2 in enumerate(b):
        for j, sw2 in enumerate(w):
            assert d.chi_1[i, j] == pytest.approx(T.chi_1("tanh", sw2, sb2), rel=1e-12)
        assert d.boundary[i] == pytest.approx(T.critical_sigma_w2("tanh", sb2), rel=1e-12)
    assert (d.chi_1[:, 0] < 1).all() and (d.chi_1[:, -1] > 1).all()
    json.dumps(d.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: T.q_star("tanh", -1.0), "sigma_w2 must be >= 0"),
        (lambda: T.q_star("tanh", 1.0, -0.1), "sigma_b2 must be >= 0"),
        (lambda: T.chi_1("tanh", float("nan")), "sigma_w2 must be a finite number"),
        (lambda: T.q_star("tanh", 1.0, q0=0.0), "q0 must be > 0"),
        (lambda: T.q_star("swishy", 1.0), "activation='swishy' is not allowed"),
        (lambda: T.critical_sigma_w2("softmax"), "not elementwise"),
        (lambda: T.correlation_map(1.5, "tanh", 1.0), "c must be <= 1"),
        (lambda: T.variance_map("relu", -2.0, 1.0), "q must be >= 0"),
        (lambda: T.critical_weight_variance("relu", 0), "fan_in must be an integer >= 1"),
        (lambda: T.phase_diagram("tanh", [], [0.0]), "non-empty"),
    ],
)
def test_bad_input_is_a_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="activation must be"):
        T.q_star(3, 1.0)
    with pytest.raises(TypeError, match="sigma_w2 must be a real number"):
        T.q_star("tanh", "1.0")
