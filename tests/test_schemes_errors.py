"""Bad values for the schemes are ValueErrors that name the parameter, never OverflowError,
MemoryError or a silent wrong number (issue 19's library items)."""

import math

import numpy as np
import pytest

from initlab import schemes as S


def test_a_gain_whose_square_overflows_names_the_gain():
    with pytest.raises(ValueError, match=r"gain=1e\+200 is too large"):
        S.he_normal((4, 4), 0, gain=1e200)
    with pytest.raises(ValueError, match=r"gain=1e\+200"):
        S.parse_scheme("xavier_uniform:gain=1e200")
    # just below the limit is a valid (huge) law, not an error
    assert math.isfinite(S.distribution("he_normal", 4, 4, gain=1e150).std)


def test_uniform_bounds_whose_range_overflows_name_low_and_high():
    with pytest.raises(ValueError, match=r"low=-1e\+308, high=1e\+308.*overflow float64"):
        S.random_uniform((4, 4), 0, low=-1e308, high=1e308)
    with pytest.raises(ValueError, match="low=-1e"):
        S.get("random_uniform", low=-1e308, high=1e308)


def test_other_laws_that_overflow_are_refused_in_both_paths():
    with pytest.raises(ValueError, match=r"std=1e\+300.*overflow"):
        S.large((3, 3), 0, std=1e300)
    with pytest.raises(ValueError, match=r"factor=1e\+308.*overflow"):
        S.scaled((3, 3), 0, factor=1e308)
    with pytest.raises(ValueError, match=r"scale=1e\+308.*overflows float64"):
        S.variance_scaling((3, 3), 0, scale=1e308, mode="fan_in", fans=(1e-300, 1))


def test_leaky_relu_gain_of_a_huge_slope_is_computed_not_zero():
    # sqrt(2 / (1 + a^2)) = sqrt(2) / hypot(1, a); 1 + a^2 overflows for a = 1e298
    g = S.calculate_gain("leaky_relu", 1e298)
    assert g > 0
    assert g == pytest.approx(math.sqrt(2.0) / 1e298, rel=1e-12)
    assert S.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04), rel=1e-15)


def test_a_shape_too_large_for_memory_says_how_much_it_needs():
    with pytest.raises(ValueError, match=r"\(1000000, 1000000\).*needs 16 TB"):
        S.he_normal((10**6, 10**6))
    with pytest.raises(ValueError, match=r"needs 12 TB"):
        S.orthogonal((10**6, 10**6), 0, np.float32)


# --------------------------------------------------------------------------- fuzz

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ANY_VALUE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.text(max_size=8),
    st.none(),
)
FUZZ = settings(max_examples=40, deadline=None, derandomize=True)
FUZZ_SEEN = {"examples": 0, "refused": 0}


@pytest.fixture(scope="module", autouse=True)
def _fuzz_report():
    yield
    print(f"\nschemes fuzz: {FUZZ_SEEN['examples']} calls, {FUZZ_SEEN['refused']} refused")


def _fuzz_call(name, params, shape):
    FUZZ_SEEN["examples"] += 1
    layout = "torch" if len(shape) == 4 else None
    try:
        w = S.get(name, **params)(shape, 0, layout=layout)
    except (ValueError, TypeError) as exc:
        FUZZ_SEEN["refused"] += 1
        assert str(exc)
        return
    assert w.shape == shape and np.all(np.isfinite(w))  # accepted: a real, finite draw


@pytest.mark.parametrize("name", S.available())
def test_fuzz_parameters_only_value_or_type_errors(name):
    keys = list(S.info(name).defaults)

    @FUZZ
    @given(
        params=st.dictionaries(st.sampled_from(keys), ANY_VALUE) if keys else st.just({}),
        shape=st.sampled_from([(3, 4), (0, 4), (4, 4, 3, 3), (5,)]),
    )
    def run(params, shape):
        _fuzz_call(name, params, shape)

    run()


@FUZZ
@given(activation=st.sampled_from(["leaky_relu", "relu", "tanh", "gelu", "nope"]), p=ANY_VALUE)
def test_fuzz_calculate_gain(activation, p):
    try:
        g = S.calculate_gain(activation, p)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        return
    assert math.isfinite(g) and g > 0


@FUZZ
@given(text=st.text(alphabet="abcdefghilmnorstuvx_:=,.-0123456789e", max_size=30))
def test_fuzz_parse_scheme(text):
    try:
        S.parse_scheme(text)
    except (ValueError, TypeError) as exc:
        assert str(exc)
