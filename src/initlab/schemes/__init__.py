"""Initialization schemes: each one law (or structured rule) defined once, in
:mod:`~initlab.schemes.library` and :mod:`~initlab.schemes.structured`, and the array functions
``(shape, rng, dtype) -> numpy array`` generated from them (docs/schemes.md: adding a scheme).

Quick tour::

    from initlab import schemes
    W = schemes.he_normal((256, 128), rng=0)                    # N(0, 2/256), (in, out) layout
    K = schemes.xavier_uniform((32, 16, 3, 3), 0, layout="torch")  # a conv kernel, torch layout
    schemes.compute_fans((3, 3, 16, 32), "channels_last")        # Fans(fan_in=144, fan_out=288)
    schemes.calculate_gain("gelu")                               # numeric gain, 1.5335...
    spec = schemes.parse_scheme("random_normal:std=0.5")         # from text (CLI, web, configs)
    schemes.available(); schemes.recommend("tanh")
    schemes.available("model")   # gpt2, fixup, t_fixup, deepnorm, mup: for initlab.torch only
"""

from initlab.schemes.fans import FAN_MODES, LAYOUTS, Axes, Fans, compute_fans, fan_value
from initlab.schemes.gains import GAIN_TABLE, calculate_gain, numeric_gain
from initlab.schemes.library import (
    DISTRIBUTIONS,
    constant,
    he_normal,
    he_uniform,
    keras_default,
    large,
    lecun_normal,
    lecun_uniform,
    ones,
    random_normal,
    random_uniform,
    small,
    small_uniform,
    torch_default,
    torch_default_bias,
    truncated_normal,
    variance_scaling,
    variance_scaling_distribution,
    xavier_normal,
    xavier_uniform,
    zeros,
)
from initlab.schemes.registry import (
    CATEGORIES,
    MODEL,
    TENSOR_CATEGORIES,
    SchemeInfo,
    SchemeSpec,
    available,
    distribution,
    get,
    info,
    parse_scheme,
    recommend,
    scheme,
)
from initlab.schemes.sampling import Distribution, truncated_normal_std
from initlab.schemes.sources import NumpySource, Source
from initlab.schemes.structured import dirac, identity, lsuv, orthogonal, scaled, sparse

# isort: split
from initlab.schemes import model  # noqa: F401  (registers gpt2, fixup, ...: after the others)

glorot_normal = xavier_normal
glorot_uniform = xavier_uniform
kaiming_normal = he_normal
kaiming_uniform = he_uniform
eye = identity

__all__ = [
    "CATEGORIES",
    "DISTRIBUTIONS",
    "FAN_MODES",
    "GAIN_TABLE",
    "LAYOUTS",
    "MODEL",
    "TENSOR_CATEGORIES",
    "Axes",
    "NumpySource",
    "Distribution",
    "Fans",
    "SchemeInfo",
    "SchemeSpec",
    "Source",
    "available",
    "calculate_gain",
    "compute_fans",
    "constant",
    "dirac",
    "distribution",
    "eye",
    "fan_value",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "info",
    "kaiming_normal",
    "kaiming_uniform",
    "keras_default",
    "large",
    "lecun_normal",
    "lecun_uniform",
    "lsuv",
    "numeric_gain",
    "ones",
    "orthogonal",
    "parse_scheme",
    "random_normal",
    "random_uniform",
    "recommend",
    "scaled",
    "scheme",
    "small",
    "small_uniform",
    "sparse",
    "torch_default",
    "torch_default_bias",
    "truncated_normal",
    "truncated_normal_std",
    "variance_scaling",
    "variance_scaling_distribution",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]


def __getattr__(name: str) -> object:
    """Any registered scheme (or alias) is ``initlab.schemes.<name>``, including one added by a
    single ``@scheme`` definition without touching this file."""
    from initlab.schemes import registry

    key = registry._ALIASES.get(name, name)
    if key in registry._REGISTRY:
        return registry._REGISTRY[key].fn
    raise AttributeError(f"module 'initlab.schemes' has no attribute {name!r}")
