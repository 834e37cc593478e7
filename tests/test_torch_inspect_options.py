"""inspect's histograms= and symmetry= switches: off, their fields are None and the other
statistics are unchanged; bad values and figures without histograms are clear errors."""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from initlab.torch import inspect  # noqa: E402


def _model_and_batch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    return model, torch.randn(32, 4, dtype=torch.float64), torch.randint(0, 3, (32,))


def test_switches_off_leave_the_other_statistics_unchanged():
    model, x, y = _model_and_batch()
    full = inspect(model, x, y)
    lean = inspect(model, x, y, histograms=False, symmetry=False)
    first_full, first_lean = full[0], lean[0]
    assert first_full["a_hist"] is not None and first_full["distinct_units"] == 8
    for key in ("a_hist", "z_hist", "dZ_hist", "dW_hist", "distinct_units", "effective_width"):
        assert first_lean[key] is None
    for key in ("a_mean", "a_std", "dZ_rms", "dW_norm", "grad_data", "saturated"):
        assert first_lean[key] == first_full[key]
    assert lean.modes == full.modes


def test_bad_switch_and_figures_without_histograms(tmp_path):
    model, x, y = _model_and_batch()
    with pytest.raises(TypeError, match="histograms must be True or False, got 'no'"):
        inspect(model, x, y, histograms="no")
    with pytest.raises(TypeError, match="symmetry must be True or False, got 1"):
        inspect(model, x, y, symmetry=1)
    lean = inspect(model, x, y, histograms=False)
    with pytest.raises(ValueError, match="histograms=False"):
        lean.write_figures(tmp_path)
