"""fit_journey_model recovers the simulated model from 25,000 logged journeys (issue point 4)."""

import numpy as np
import pytest

from agents.dp import backward_induction
from crm_envs.envs.customer_journey import CustomerJourneyEnv, get_preset
from crm_envs.papers.bonaccorso.fit import fit_journey_model, simulate_journeys

N_JOURNEYS = 25_000  # the paper's simulation size


@pytest.fixture(scope="module")
def fitted():
    params = get_preset("bonaccorso")
    policy = backward_induction(CustomerJourneyEnv().model()).policy
    # Sales reps follow the optimal playbook and try something else 25% of the time
    # (the paper's initial exploration rate).
    log = simulate_journeys(params, N_JOURNEYS, policy, seed=2024, epsilon=0.25)
    fit = fit_journey_model(log, params.layout, params.region_names, smoothing=0.5)
    counts = np.zeros((params.n_regions, params.n_cells, 4))
    np.add.at(counts, (log.region, log.cell, log.action), 1)
    return params, log, fit, counts


def test_log_holds_25000_complete_journeys(fitted):
    _params, log, _, _ = fitted
    assert log.n_journeys == N_JOURNEYS
    ends = np.flatnonzero(np.r_[log.journey[1:] != log.journey[:-1], True])
    finished = log.terminated[ends] | (log.t[ends] == 9)
    assert finished.all()
    assert (log.cell[log.t == 0] == 0).all()  # every journey starts at F2F (0, 0)


def test_transitions_of_well_visited_pairs_within_0_02(fitted):
    params, _, fit, counts = fitted
    valid = params.valid_moves.astype(bool)[None]
    err = np.abs(fit.transition_matrix() - params.transition_matrix()).max(axis=-1)
    well = (counts >= 2000) & valid  # binomial s.e. <= 0.011 there
    assert well.sum() >= 15
    assert err[well].max() <= 0.02


def test_every_visited_pair_within_five_standard_errors(fitted):
    params, _, fit, counts = fitted
    valid = params.valid_moves.astype(bool)[None]
    true, est = params.transition_matrix(), fit.transition_matrix()
    sel = (counts >= 30) & valid
    n = counts[sel][:, None]
    se = np.sqrt(true[sel] * (1 - true[sel]) / n) + 2.0 / n  # + smoothing bias bound
    assert sel.sum() >= 60
    assert (np.abs(est[sel] - true[sel]) <= 5 * se + 1e-12).all()


def test_rewards_and_region_frequencies_recovered(fitted):
    params, log, fit, _ = fitted
    types = params.cell_types
    seen = np.zeros(params.env_reward.shape, dtype=bool)
    valid = params.valid_moves[log.cell, log.action] == 1
    seen[log.region[valid], types[log.cell[valid]], types[log.next_cell[valid]]] = True
    assert seen.sum() >= 40
    np.testing.assert_allclose(fit.env_reward[seen], params.env_reward[seen], atol=1e-12)
    np.testing.assert_allclose(fit.con_reward[seen], params.con_reward[seen], atol=1e-12)
    assert fit.start_cell == (0, 0)
    np.testing.assert_allclose(fit.region_probs, params.region_distribution(), atol=0.015)
    np.testing.assert_allclose(fit.p_intended, params.p_intended, atol=0.01)


def test_fitted_params_drive_the_env(fitted):
    _, _, fit, _ = fitted
    env = CustomerJourneyEnv(params=fit)
    obs, _info = env.reset(seed=0)
    assert obs.tolist()[:2] == [0, 0]
    env.step(1)


def test_fit_rejects_a_log_that_jumps_across_the_grid(fitted):
    params, log, _, _ = fitted
    import dataclasses

    bad = dataclasses.replace(log, next_cell=log.next_cell.copy())
    bad.next_cell[0] = params.n_cells - 1
    with pytest.raises(ValueError, match="not a grid neighbour"):
        fit_journey_model(bad, params.layout, params.region_names)


def test_unvisited_pairs_take_the_prior():
    params = get_preset("bonaccorso")
    log = simulate_journeys(params, 200, None, seed=0)
    fit = fit_journey_model(log, params.layout, params.region_names, prior=params)
    counts = np.zeros((params.n_regions, params.n_cells, 4))
    np.add.at(counts, (log.region, log.cell, log.action), 1)
    unvisited = (counts == 0) & params.valid_moves.astype(bool)[None]
    assert unvisited.any()
    np.testing.assert_allclose(
        fit.transition_matrix()[unvisited], params.transition_matrix()[unvisited]
    )
