"""Bonaccorso: the policy figure."""

import pytest

from agents.dp import backward_induction
from crm_envs.envs.customer_journey import CustomerJourneyEnv
from crm_envs.envs.customer_journey.presets import BONACCORSO_LAYOUT
from crm_envs.papers.bonaccorso.figures import plot_policy


def test_plot_policy_draws_one_arrow_per_touchpoint():
    env = CustomerJourneyEnv()
    sol = backward_induction(env.model())
    k = env.params.n_regions
    values = sol.V[0, 0::k].reshape(5, 15)
    policy = sol.policy[0, 0::k].reshape(5, 15)
    ax = plot_policy(values, policy)
    n_touch = sum(ch not in "SX" for row in BONACCORSO_LAYOUT for ch in row)
    assert len(ax.texts) - 2 * 75 == n_touch  # annotations with arrows
    with pytest.raises(ValueError, match="grid's shape"):
        plot_policy(values[:, :3], policy)
