import numpy as np
import pytest

from crm_envs.core.models import TabularMDP, TabularPOMDP
from crm_envs.core.params import (
    check_array,
    check_choice,
    check_int,
    check_options,
    check_prob,
    check_prob_vector,
    check_scalar,
    lookup_preset,
)
from crm_envs.core.rng import (
    NORMAL_MAX,
    seed_keys,
    splitmix_normal,
    splitmix_normal_pair,
    splitmix_uniform,
)


def test_check_scalar_names_parameter_value_and_range():
    with pytest.raises(ValueError, match=r"alpha must lie in \(0.0, 1.0\], got 0.0"):
        check_scalar("alpha", 0.0, low=0.0, high=1.0, low_open=True)
    with pytest.raises(ValueError, match="finite"):
        check_scalar("beta", float("nan"))
    with pytest.raises(TypeError, match="gamma must be a real number"):
        check_scalar("gamma", "0.5")
    assert check_prob("p", 1) == 1.0
    with pytest.raises(ValueError, match=r"p must lie in \[0.0, 1.0\], got 1.5"):
        check_prob("p", 1.5)


def test_check_int_and_choice():
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, 5\], got 7"):
        check_int("n", 7, low=1, high=5)
    with pytest.raises(TypeError):
        check_int("n", True)
    with pytest.raises(ValueError, match="Did you mean 'pauses'"):
        check_choice("start", "pause", ["f2f", "pauses", "any"])


def test_check_array_shape_and_finiteness():
    with pytest.raises(ValueError, match=r"w must have shape \(2, any\), got \(3, 2\)"):
        check_array("w", np.zeros((3, 2)), shape=(2, None))
    with pytest.raises(ValueError, match=r"w must be finite.*index \(1,\)"):
        check_array("w", [0.0, np.inf])
    arr = check_array("w", [1.0, 2.0])
    assert not arr.flags.writeable


def test_check_prob_vector_reports_bad_row():
    with pytest.raises(ValueError, match=r"row \(1,\) sums to 0.9"):
        check_prob_vector("q", np.array([[0.5, 0.5], [0.4, 0.5]]))


def test_lookup_preset_suggests_closest_name():
    presets = {"bonaccorso": lambda: 1, "fan2015_essay2": lambda: 2}
    assert lookup_preset("X", "fan2015_essay2", presets) == 2
    with pytest.raises(ValueError, match="Did you mean 'bonaccorso'"):
        lookup_preset("X", "bonacorso", presets)


def _p(rows):
    return np.array(rows, dtype=float)


def test_tabular_mdp_validates_rows_and_shapes():
    P = np.stack([np.eye(2), _p([[0.5, 0.5], [0.0, 1.0]])])
    R = np.zeros((2, 2))
    m = TabularMDP(P, R, gamma=0.9)
    assert (m.n_actions, m.n_states) == (2, 2)
    bad = P.copy()
    bad[1, 0] = [0.5, 0.6]
    with pytest.raises(ValueError, match=r"row P\[1, 0\] sums to 1.1"):
        TabularMDP(bad, R, gamma=0.9)
    neg = P.copy()
    neg[0, 1] = [-0.1, 1.1]
    with pytest.raises(ValueError, match="non-negative"):
        TabularMDP(neg, R, gamma=0.9)
    with pytest.raises(ValueError, match="R must have shape"):
        TabularMDP(P, np.zeros((3, 2)), gamma=0.9)
    with pytest.raises(ValueError, match="needs gamma < 1"):
        TabularMDP(P, R, gamma=1.0)
    with pytest.raises(ValueError, match="horizon"):
        TabularMDP(P, np.zeros((4, 2, 2)), gamma=1.0, horizon=3)
    with pytest.raises(ValueError, match="initial"):
        TabularMDP(P, R, gamma=0.9, initial=[0.3, 0.3])


def test_tabular_pomdp_validates_observation_rows():
    P = np.stack([np.eye(2)])
    O = np.array([[[0.9, 0.1], [0.2, 0.8]]])
    pomdp = TabularPOMDP(P, O, np.zeros((1, 2)), gamma=0.95, initial=[0.5, 0.5])
    assert pomdp.n_observations == 2
    bad = O.copy()
    bad[0, 1] = [0.2, 0.7]
    with pytest.raises(ValueError, match=r"row O\[0, 1\] sums to 0.9"):
        TabularPOMDP(P, bad, np.zeros((1, 2)), gamma=0.95, initial=[0.5, 0.5])
    with pytest.raises(ValueError, match="gamma"):
        TabularPOMDP(P, O, np.zeros((1, 2)), gamma=1.0, initial=[0.5, 0.5])


def test_counter_stream_is_uniform_and_matches_pure_python():
    from scipy import stats

    key = int(seed_keys(123, 1)[0])
    u = np.array([splitmix_uniform(key, i) for i in range(20000)])
    with np.errstate(over="ignore"):
        u_py = np.array([splitmix_uniform.py_func(np.int64(key), np.int64(i)) for i in range(50)])
    assert np.array_equal(u[:50], u_py)
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert ((u >= 0) & (u < 1)).all()
    # Successive values are uncorrelated, and neighbouring seeds give unrelated streams.
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.03
    other = np.array([splitmix_uniform(int(seed_keys(124, 1)[0]), i) for i in range(20000)])
    assert abs(np.corrcoef(u, other)[0, 1]) < 0.03


def test_box_muller_pair_gives_two_independent_standard_normals():
    from scipy import stats

    key = int(seed_keys(7, 1)[0])
    pairs = np.array([splitmix_normal_pair(key, 2 * i) for i in range(20000)])
    first, second = pairs[:, 0], pairs[:, 1]
    assert np.array_equal(first[:100], [splitmix_normal(key, 2 * i) for i in range(100)])
    for z in (first, second):
        assert stats.kstest(z, "norm").pvalue > 1e-3
        assert np.abs(z).max() <= NORMAL_MAX
    # Independent, not merely uncorrelated: |z1| and |z2| share the radius, so a dependence
    # through it would correlate their squares (s.e. of a correlation: 1 / sqrt(20000)).
    assert abs(np.corrcoef(first, second)[0, 1]) < 4 / np.sqrt(20000)
    assert abs(np.corrcoef(first**2, second**2)[0, 1]) < 4 / np.sqrt(20000)


def test_seed_keys_of_consecutive_seeds_match_one_by_one():
    assert np.array_equal(seed_keys(5, 4), np.concatenate([seed_keys(5 + i, 1) for i in range(4)]))


def test_check_options_refuses_unknown_reset_options():
    assert check_options(None, ("params",)) == {}
    opts = {"params": 1}
    out = check_options(opts, ("params",))
    assert out == opts and out is not opts
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['regoin'\]"):
        check_options({"regoin": 0, "params": 1}, ("region", "params"))
