import numpy as np
from scipy import special

from initlab._quadrature import gaussian_expectation
from initlab._special import erf, normal_cdf


def test_erf_matches_scipy_everywhere():
    x = np.linspace(-12, 12, 400_001)
    assert np.max(np.abs(erf(x) - special.erf(x))) < 5e-15
    assert np.isnan(erf(np.array([np.nan])))[0]
    np.testing.assert_array_equal(erf(np.array([np.inf, -np.inf])), [1.0, -1.0])
    assert erf(np.float32(0.3)).dtype == np.float32
    assert abs(normal_cdf(1.0) - special.ndtr(1.0)) < 5e-15


def test_gaussian_expectation_moments():
    assert abs(gaussian_expectation(lambda z: z**2) - 1.0) < 1e-13
    assert abs(gaussian_expectation(lambda z: z**4) - 3.0) < 1e-12
    assert abs(gaussian_expectation(lambda z: np.abs(z)) - np.sqrt(2 / np.pi)) < 1e-13
    assert abs(gaussian_expectation(lambda z: z**2, std=3.0) - 9.0) < 1e-11
