"""Streukens et al. (2011): sensitivity (Table 6), the README's tables and Figure 2."""

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from crm_envs.envs.roi_allocation.presets import DRIVERS, TABLE6, get_preset
from crm_envs.envs.roi_allocation.solver import solve_allocation
from crm_envs.papers.streukens2011.figures import investment_curve, plot_investment_curve
from crm_envs.papers.streukens2011.sensitivity import sensitivity_table
from crm_envs.papers.streukens2011.tables import table5_markdown, table6_markdown

P = get_preset("streukens2011")


def test_sensitivity_directions_and_ranking_match_table6():
    rows = {r.arc: r for r in sensitivity_table(P, solve_allocation(P))}
    assert set(rows) == set(TABLE6)
    structural = [arc for arc in TABLE6 if arc[0] not in DRIVERS]
    ours = [abs(rows[a].change_minus) + abs(rows[a].change_plus) for a in structural]
    paper = [TABLE6[a][1] + TABLE6[a][4] for a in structural]
    # Which paths matter most: Quality -> Value first, Satisfaction -> Trust among the last two.
    assert structural[int(np.argmax(ours))] == ("QUAL", "VAL") == structural[int(np.argmax(paper))]
    assert ("SAT", "TRUST") in [structural[i] for i in np.argsort(ours)[:2]]
    assert stats.spearmanr(ours, paper).statistic > 0.4
    # Every arc is positive, so raising it raises profit and lowering it lowers profit.
    for r in rows.values():
        assert r.profit_plus >= r.profit_minus


def test_sensitivity_of_unfunded_drivers_is_zero():
    rows = {r.arc: r for r in sensitivity_table(P, solve_allocation(P))}
    for name in ("ordering", "catalogue", "invoicing"):
        assert rows[(name, "QUAL")].change_plus == pytest.approx(0.0, abs=1e-9)


def test_investment_curve_peaks_at_the_optimum():
    effort, revenue, profit = investment_curve(P, points=61)
    best = solve_allocation(P)
    assert profit.max() <= best.profit + 1e-6
    assert abs(effort[np.argmax(profit)] - best.total) <= effort[1]
    assert profit[0] == 0.0 and profit[-1] < 0  # over-investment loses money
    assert np.all(np.diff(revenue) > 0)
    ax = plot_investment_curve(P)
    assert len(ax.lines) >= 3


def test_readme_shows_the_computed_tables():
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    assert table5_markdown(P) in readme
    assert table6_markdown(P) in readme
