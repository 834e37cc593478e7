"""The default study's run that several slow tests read: trained once per test session.

``tests/test_study_seeds.py`` compares its verdicts with other seeds and with ``--quick``;
``tests/test_study_report_browser.py`` renders its report in Chromium.  It runs in two worker
processes (``jobs=2``), as ``initlab study`` does by default."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def full_study() -> Any:
    """The default study (seeds 0-19, every figure, no store)."""
    from initlab import study
    from initlab.study import StudyOptions

    return study.run_study(StudyOptions(), None, progress=False, jobs=2)
