"""Fans for every layout, zero-size and rank-1 shapes, the registry, and bad input."""

import numpy as np
import pytest

from initlab import schemes as S


def test_dense_fans():
    assert S.compute_fans((256, 128)) == S.Fans(256, 128, 1)
    assert S.compute_fans((128, 256), "torch") == S.Fans(256, 128, 1)  # torch Linear is (out, in)


def test_conv_fans_all_layouts():
    # a 3x3 conv from 16 to 32 channels
    assert S.compute_fans((32, 16, 3, 3), "torch") == S.Fans(144, 288, 9)
    assert S.compute_fans((3, 3, 16, 32), "channels_last") == S.Fans(144, 288, 9)
    # ConvTranspose stores (in, out, *kernel): the roles swap
    assert S.compute_fans((16, 32, 3, 3), "torch_transpose") == S.Fans(144, 288, 9)
    # 1-D and 3-D kernels
    assert S.compute_fans((8, 4, 5), "torch") == S.Fans(20, 40, 5)
    assert S.compute_fans((2, 3, 3, 4, 8), "channels_last") == S.Fans(72, 144, 18)


def test_explicit_axes_for_attention_kernels():
    # query kernel (embed, heads, head_dim)
    f = S.compute_fans((512, 8, 64), S.Axes(in_axis=0, out_axis=(1, 2)))
    assert f == S.Fans(512, 512, 1)
    # output kernel (heads, head_dim, embed)
    assert S.compute_fans((8, 64, 512), S.Axes(in_axis=(0, 1), out_axis=2)) == S.Fans(512, 512, 1)
    # a population axis is neither fan nor receptive field
    assert S.compute_fans((7, 10, 5), S.Axes(1, 2, batch_axis=0)) == S.Fans(10, 5, 1)
    with pytest.raises(ValueError, match="overlap"):
        S.compute_fans((4, 4), S.Axes(0, 0))
    with pytest.raises(ValueError, match="out of range"):
        S.compute_fans((4, 4), S.Axes(0, 5))


def test_fan_modes():
    f = S.Fans(100, 400)
    assert S.fan_value(f, "fan_in") == 100
    assert S.fan_value(f, "fan_out") == 400
    assert S.fan_value(f, "fan_avg") == 250
    assert S.fan_value(f, "fan_geo_avg") == 200
    with pytest.raises(ValueError, match="fan_in, fan_out, fan_avg, fan_geo_avg"):
        S.fan_value(f, "fan_max")


def test_layout_is_never_guessed_from_rank():
    with pytest.raises(ValueError, match="layout"):
        S.compute_fans((32, 16, 3, 3))
    with pytest.raises(ValueError, match="layout"):
        S.he_normal((32, 16, 3, 3), 0)
    with pytest.raises(ValueError, match="channels_last"):
        S.he_normal((32, 16, 3, 3), 0, layout="nchw")


def test_conv_draw_uses_the_layout_fans():
    w = S.he_normal((64, 32, 3, 3), 0, layout="torch")
    assert w.std() == pytest.approx(np.sqrt(2 / (32 * 9)), rel=0.02)
    w = S.he_normal((3, 3, 32, 64), 0, layout="channels_last")
    assert w.std() == pytest.approx(np.sqrt(2 / (32 * 9)), rel=0.02)


@pytest.mark.parametrize("name", S.available())
@pytest.mark.parametrize("shape", [(0,), (0, 5), (5, 0), (0, 3, 3, 3)])
def test_zero_size_is_an_empty_no_op(name, shape):
    kwargs = {"layout": "torch"} if len(shape) == 4 or name == "dirac" else {}
    if name in ("identity", "sparse") and len(shape) != 2:
        pytest.skip("2-D only scheme")
    if name == "dirac" and len(shape) < 3:
        pytest.skip("conv-only scheme")
    if name in ("orthogonal", "lsuv") and len(shape) < 2:
        pytest.skip("rank >= 2 only")
    w = S.get(name)(shape, 0, **kwargs)
    assert w.shape == shape and w.size == 0


def test_rank1_needs_explicit_fans():
    with pytest.raises(ValueError, match="fans"):
        S.he_normal((10,), 0)
    with pytest.raises(ValueError, match="fans"):
        S.torch_default_bias(10, 0)
    b = S.torch_default_bias(10_000, 0, fans=(25, 7))
    assert np.abs(b).max() <= 0.2 and np.abs(b).max() > 0.19
    # schemes without fans need none
    assert S.random_normal((10,), 0).shape == (10,)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="fan_in must be a positive"):
        S.he_normal((10,), 0, fans=(-3, 4))
    with pytest.raises(TypeError, match="non-negative integers"):
        S.he_normal((10.5, 3), 0)
    with pytest.raises(ValueError, match="non-negative integers"):
        S.he_normal((-1, 3), 0)
    with pytest.raises(ValueError, match="unknown initialization scheme 'he_normall'.*he_normal"):
        S.get("he_normall")
    with pytest.raises(ValueError, match="mode='fan_max'.*fan_in"):
        S.variance_scaling((3, 3), 0, mode="fan_max")
    with pytest.raises(ValueError, match="distribution='cauchy'.*truncated_normal"):
        S.variance_scaling((3, 3), 0, distribution="cauchy")
    with pytest.raises(ValueError, match="no parameter 'sdt'.*std"):
        S.get("random_normal", sdt=0.5)
    with pytest.raises(ValueError, match="std must be >= 0"):
        S.get("random_normal", std=-1.0)
    with pytest.raises(ValueError, match="low must be < high"):
        S.random_uniform((3,), 0, low=1.0, high=1.0)
    with pytest.raises(ValueError, match="a must be < b"):
        S.truncated_normal((3,), 0, a=2.0, b=-2.0)
    with pytest.raises(TypeError, match="floating dtype"):
        S.he_normal((3, 3), 0, np.int32)
    with pytest.raises(TypeError, match="Generator"):
        S.he_normal((3, 3), "seed")
    with pytest.raises(ValueError, match="has no gain"):
        S.calculate_gain("relu6x")


def test_registry_names_aliases_and_specs():
    names = S.available()
    assert len(names) == len(set(names)) >= 20
    assert S.info("glorot_uniform").name == "xavier_uniform"
    assert S.info("kaiming_normal").name == "he_normal"
    for name in names:
        i = S.info(name)
        assert i.summary and i.formula and i.fn.__doc__
    spec = S.parse_scheme("random_normal:std=0.5,mean=0.1")
    assert spec.params == {"std": 0.5, "mean": 0.1}
    assert S.parse_scheme(str(spec)) == spec
    assert S.parse_scheme("constant:0.3").params == {"value": 0.3}
    assert S.parse_scheme("scaled:base=he_normal,factor=3").params == {
        "base": "he_normal",
        "factor": 3,
    }
    assert S.parse_scheme("glorot_normal").name == "xavier_normal"
    np.testing.assert_array_equal(spec((4, 4), 1), S.random_normal((4, 4), 1, std=0.5, mean=0.1))


def test_recommendations_follow_the_seed():
    assert S.recommend("tanh")[0].name == "xavier_normal"
    assert S.recommend("sigmoid")[0].name.startswith("xavier")
    assert S.recommend("relu")[0] == S.get("he_normal")
    gelu = S.recommend("gelu")[0]
    assert gelu.name == "he_normal"
    assert gelu.params["gain"] == pytest.approx(S.calculate_gain("gelu"), abs=1e-11)
    with pytest.raises(ValueError, match="no scheme"):
        S.recommend("softmaxx")
