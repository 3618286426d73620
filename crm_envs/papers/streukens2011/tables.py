"""Markdown comparisons of the model's results with Streukens et al. (2011), Tables 5 and 6."""

from __future__ import annotations

from crm_envs.envs.roi_allocation.params import ROIAllocationParams
from crm_envs.envs.roi_allocation.presets import TABLE5, TABLE6
from crm_envs.envs.roi_allocation.solver import solve_allocation
from crm_envs.papers.streukens2011.sensitivity import sensitivity_table

__all__ = ["table5_markdown", "table6_markdown"]


def table5_markdown(params: ROIAllocationParams) -> str:
    """Table 5 recomputed from ``params`` beside the published figures.

    Args:
        params: The model (normally the ``streukens2011`` preset).

    Returns:
        A Markdown table.
    """
    best, budgeted = solve_allocation(params), solve_allocation(params, TABLE5["budget"])
    j4, j5 = 3, 4  # delivery, product-related quality
    rows = [
        ("optimal total effort", f"${best.total:,.0f}", "$42,000"),
        ("share to delivery (y4)", f"{100 * best.shares[j4]:.2f}%", "16.94%"),
        ("share to product quality (y5)", f"{100 * best.shares[j5]:.2f}%", "83.06%"),
        ("investment profit", f"${best.profit:,.0f}", "$8,894"),
        ("ROI", f"{100 * best.roi:.2f}%", "21.18%"),
        ("post-investment y4 / y5", f"{best.levels_after[j4]:.2f} / {best.levels_after[j5]:.2f}",
         "6.67 / 7.19"),
        ("$10,000 budget: share to y5", f"{100 * budgeted.shares[j5]:.2f}%", "100%"),
        ("$10,000 budget: profit", f"${budgeted.profit:,.0f}", "$4,480"),
        ("$10,000 budget: ROI", f"{100 * budgeted.roi:.2f}%", "44.80%"),
        ("$10,000 budget: post-investment y5", f"{budgeted.levels_after[j5]:.2f}", "6.73"),
        ("effort to maintain y1..y7",
         ", ".join(f"{x:,.0f}" for x in params.maintenance_effort),
         ", ".join(f"{x:,}" for x in TABLE5["maintenance_effort"])),
    ]  # fmt: skip
    lines = ["| quantity | computed | Table 5 |", "|---|---:|---:|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def table6_markdown(params: ROIAllocationParams, delta: float = 0.05) -> str:
    """Nominal-range sensitivity (% change of investment profit) beside Table 6.

    Args:
        params: The model.
        delta: Relative change of each arc weight.

    Returns:
        A Markdown table: per path, our % change at -delta / +delta and the paper's.
    """
    rows = sensitivity_table(params, solve_allocation(params), delta)
    lines = [
        "| path | ours: profit at -5% | ours: % | ours: profit at +5% | ours: % "
        "| Table 6: profit at -5% | % | Table 6: profit at +5% | % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        pm, cm, _, pp, cp, _ = TABLE6[r.arc]
        lines.append(
            f"| {r.arc[0]} → {r.arc[1]} | ${r.profit_minus:,.0f} | {r.change_minus:+.1f} "
            f"| ${r.profit_plus:,.0f} | {r.change_plus:+.1f} | ${pm:,} | {cm} | ${pp:,} | {cp} |"
        )
    return "\n".join(lines)
