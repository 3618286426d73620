"""The ferry preset reproduces the paper's facts and plans (Mandania et al. 2025)."""

import numpy as np
import pytest

from crm_envs.envs.promotion.model import GROUPS
from crm_envs.envs.promotion.plan import plan
from crm_envs.envs.promotion.presets import get_preset

P = get_preset("mandania2025_ferry")
M = P.build()
U = M.uplift()


def test_calibration_reproduces_the_papers_facts():
    m = P.model
    assert m.conditional_expected_transactions(5, 6, 6, 6) == pytest.approx(3.10, abs=0.01)
    assert m.conditional_expected_transactions(5, 0, 0, 6) == pytest.approx(0.03, abs=0.005)
    assert 100 * m.pmf(0, 6) == pytest.approx(90.5, abs=0.5)
    assert M.weights[0] == pytest.approx(m.pmf(0, 6), abs=1e-12)
    assert M.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert len(GROUPS) == 14


def test_rule3_plan_is_7pct_for_5_months_for_all():
    pl = plan(U, rule=3)
    assert (pl.promotion == P.promotion_names.index("7% loyalty discount")).all()
    assert (pl.duration == 5).all()
    assert pl.total > 0


def test_rule2_short_for_loss_making_groups_long_for_the_rest():
    pl = plan(U, rule=2)
    k = P.promotion_names.index("7% loyalty discount")
    assert (pl.promotion == k).all()
    table = U[:, :, k, :]
    loses_always = (table < 0).all(axis=-1)
    gains_most_at_5 = table.argmax(axis=-1) == 4
    assert loses_always.any() and gains_most_at_5.any()
    assert (pl.duration[loses_always] == 1).all()
    assert (pl.duration[gains_most_at_5] == 5).all()
    assert (pl.duration[table[..., 4] < 0] < 5).all()


def test_promoting_the_most_profitable_groups_for_5_months_loses_money():
    profit = M.baseline_profit().sum(axis=1)  # (G,)
    top = np.argsort(profit / M.members.sum(axis=1))[-3:]  # most profitable per member
    k = P.promotion_names.index("7% loyalty discount")
    assert U[top, :, k, 4].sum() < 0
    assert {GROUPS[g].name for g in top} <= {"5+/up to 1 month", "5+/1-3 months",
                                             "4/up to 1 month", "4/1-3 months"}  # fmt: skip


def test_rule1_promotes_only_profitable_segments_and_dominates():
    p1, p2, p3 = (plan(U, rule=r) for r in (1, 2, 3))
    assert (p1.uplift >= 0).all()
    assert p1.total >= p2.total >= p3.total  # each rule adds a constraint
    brute = np.maximum(U.reshape(*U.shape[:2], -1).max(axis=-1), 0).sum()
    assert p1.total == pytest.approx(brute)


def test_budgeted_plans_respect_the_budget_and_beat_greedy():
    res = M.resource()
    budget = 0.3 * plan(U, rule=1).evaluate(res).sum()
    for rule in (1, 2, 3):
        pl = plan(U, rule=rule, budget=budget, resource=res)
        assert pl.evaluate(res).sum() <= budget + 1e-6
    pl1 = plan(U, rule=1, budget=budget, resource=res)
    # Brute-force check on a 2-group sub-problem.
    sub_u, sub_r = U[:2, :1], res[:2, :1]
    b = 0.5 * sub_r[:, :, 0, 4].sum()
    best = 0.0
    opts = [(-1, 0)] + [(k, d) for k in range(4) for d in range(1, 6)]
    for a in opts:
        for c in opts:
            val = use = 0.0
            for g, (k, d) in enumerate((a, c)):
                if k >= 0:
                    val += sub_u[g, 0, k, d - 1]
                    use += sub_r[g, 0, k, d - 1]
            if use <= b:
                best = max(best, val)
    assert plan(sub_u, 1, b, sub_r).total == pytest.approx(best)
    assert pl1.total > 0


def test_bad_input_raises():
    with pytest.raises(ValueError, match="rule must be one of"):
        plan(U, rule=4)
    with pytest.raises(ValueError, match="budget must be"):
        plan(U, rule=1, budget=-1.0, resource=M.resource())
    with pytest.raises(ValueError, match="resource table"):
        plan(U, rule=1, budget=10.0)
    with pytest.raises(ValueError, match=r"discounts\) must lie in \[0, 1\)"):
        P.replace(promotion_costs=(0.07, 1.2, 0.04, 0.02))
    with pytest.raises(ValueError, match="alpha must be a positive"):
        P.replace(bgbb=(0.0, 1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="Did you mean 'mandania2025_ferry'"):
        get_preset("mandania_ferry")
