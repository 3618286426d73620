"""Fan (2015) Essay 1 example: the documented reading and its computed outcomes."""

import numpy as np
import pytest

from crm_envs.envs.b2b_customer.presets import fan2015_essay1
from crm_envs.papers.fan2015.essay1 import essay1_pomdp, hmm_steady_state, run_essay1


def test_transition_scale_10_gives_the_reported_steady_state_belief():
    # Fan reports the open-loop belief settling at 0.66 under MKT 3; scale 10 reproduces it
    # (this is how the scale was chosen), scale 1 would put it at 0.9996.
    assert hmm_steady_state(essay1_pomdp(), 3) == pytest.approx(0.66, abs=0.005)
    one = fan2015_essay1(transition_scale=1.0)
    assert hmm_steady_state(essay1_pomdp(one), 3) > 0.999


def test_model_is_valid_and_starts_low():
    m = essay1_pomdp()
    assert (m.n_states, m.n_actions, m.n_observations) == (2, 5, 3)
    np.testing.assert_array_equal(m.initial, [1.0, 0.0])
    # Essay 1's transition utility low -> high at MKT 2, by hand: (2 + 3 - 0.94) / 10.
    assert m.P[2, 0, 1] == pytest.approx(1 / (1 + np.exp(-(2 + 1.5 * 2 - 0.235 * 4) / 10)))
    with pytest.raises(ValueError, match="cut_points must be strictly increasing"):
        fan2015_essay1(cut_points=(1.0, 0.0))


def test_learning_never_loses_in_simulation():
    r = run_essay1(n_sequences=300, seed=1)
    assert r.vol >= -3 * r.vol_se - 1e-12
    assert r.dcv_pomdp > 0 and r.dcv_hmm > 0
