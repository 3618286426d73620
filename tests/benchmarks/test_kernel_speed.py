"""``benchmarks/kernel_speed.py``: the split of a vector step into kernel and Python, at small N."""

import pytest

from benchmarks.kernel_speed import DEFAULT_IDS, profile
from crm_envs.registration import ENV_INFO


def test_every_registered_id_is_profiled_by_default():
    assert DEFAULT_IDS == tuple(info.env_id for info in ENV_INFO)


@pytest.mark.parametrize("env_id", ["crm_envs/CustomerJourney-v1", "crm_envs/ROIAllocation-v0"])
def test_the_kernel_is_timed_inside_the_step(env_id):
    # The driver's entry point is wrapped, so its CPU time is counted, and it is part of the
    # step's: a broken wrapper (no kernel time) or a double count (more than the step) fails.
    r = profile(env_id, n=64, steps=20, copy=False, repeats=1)
    assert 0.0 < r["kernel"] <= r["total"]
