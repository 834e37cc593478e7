"""The page's frames as the session builds them: the decision boundary done in slices while
training, and every compared member's layer records (each scheme keeps its own history)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

pytest.importorskip("pydantic")

from initlab.network import predict  # noqa: E402
from initlab.web.session import BOUNDARY_SLICE_CELLS, Session  # noqa: E402

DEEP = {"hidden": [32] * 5, "activation": "tanh", "optimizer": "gd", "lr": 0.1, "seed": 3}


def _bytes(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=np.uint8)


def test_a_sliced_boundary_is_the_boundary_of_the_step_it_started_at():
    s = Session()
    s.configure(DEEP, ["zeros", "xavier_normal", "large"])
    s.advance(5)
    grid = s._grid
    frozen = s.net.copy()
    per_row = s.net.population * sum(s.net.sizes)
    slices = -(-grid.shape[0] // max(1, BOUNDARY_SLICE_CELLS // per_row))
    assert slices >= 2  # this case is large enough to be spread over frames
    got = None
    for n in range(slices):
        got = s._boundary(whole=False)
        if n < slices - 1:
            assert got is None
            s.advance(2)  # training goes on between two slices
    assert got is not None
    with np.errstate(all="ignore"):
        P = predict(frozen, grid)  # (K, G*G, 1): the network of step 5, not of a later step
    for k, b64 in enumerate(got["members"]):
        expected = np.rint(np.clip(P[k, :, 0], 0, 1) * 255).astype(np.uint8)
        assert np.array_equal(_bytes(b64), expected)
    # a forced boundary is whole and of the current weights
    now = s._boundary(whole=True)
    with np.errstate(all="ignore"):
        P = predict(s.net, grid)
    expected = np.rint(np.clip(P[1, :, 0], 0, 1) * 255).astype(np.uint8)
    assert np.array_equal(_bytes(now["members"][1]), expected)


def test_frames_carry_every_members_records_with_their_ranges():
    s = Session()
    s.configure({"hidden": [6, 6], "activation": "relu", "seed": 1}, ["he_normal", "small"])
    s.advance(10, force_stats=True)
    d = s.frame(full=True)["diag"]
    records = s._stats.inner.records
    for k, rows in enumerate(d["members"]):
        mine = [r for r in records if r["member"] == k and r["step"] == d["step"]]
        assert [r["layer"] for r in rows] == [r["layer"] for r in mine] == [1, 2, 3]
        for row, rec in zip(rows, mine, strict=True):
            assert row["dW_norm"] == rec["dW_norm"] and row["z_std"] == rec["z_std"]
            lo, hi = row["z_range"]  # bins fitted to this record's Z: mean +- 4 std
            assert lo == pytest.approx(rec["z_mean"] - 4 * rec["z_std"], rel=1e-9, abs=1e-12)
            assert hi == pytest.approx(rec["z_mean"] + 4 * rec["z_std"], rel=1e-9, abs=1e-12)
    # the small scheme's pre-activations are far narrower than He's, layer for layer: its
    # weights' std 0.01 against He's sqrt(2 / fan_in) >= 0.58 here (a ratio under 0.02 in
    # layer 1, compounding after it); a factor 0.2 leaves a wide margin
    he, small = (
        [r["z_range"][1] - r["z_range"][0] for r in d["members"][k] if r["hidden"]] for k in (0, 1)
    )
    assert all(b < 0.2 * a for a, b in zip(he, small, strict=True)), (he, small)
    first = d["first"]["members"]
    assert len(first) == 2 and all(r["step"] == 0 and r["z_range"] for r in first[1])
