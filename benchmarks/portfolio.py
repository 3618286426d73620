"""Speed of the B2B customer-base analysis (Fan 2015, Figure 18): solve + simulate per customer.

Target of issue 3: 10,000 heterogeneous customers (POMDP and HMM planners solved, 100
simulated 60-month sequences per policy) in at most 60 s on the 2-core reference machine.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

__all__ = ["PortfolioSpeed", "format_portfolio_speed", "portfolio_speed"]


@dataclass(frozen=True)
class PortfolioSpeed:
    """One timed run of :func:`crm_envs.envs.b2b_customer.solver.portfolio`.

    Attributes:
        customers: Customers analysed.
        n_sims: Sequences per customer and policy.
        horizon: Months per sequence.
        seconds: Wall time (compilation excluded: a warm-up run comes first).
        cpus: CPUs numba could use.
        plot: Path of the DCV-VOL map written, or "".
    """

    customers: int
    n_sims: int
    horizon: int
    seconds: float
    cpus: int
    plot: str


def portfolio_speed(
    customers: int = 10_000, n_sims: int = 100, horizon: int = 60, seed: int = 0, plot: str = ""
) -> PortfolioSpeed:
    """Time the customer-base analysis on :func:`sample_customers` (after a warm-up).

    Args:
        customers: Number of customers.
        n_sims: Sequences per customer and policy.
        horizon: Months per sequence.
        seed: Seed of the customers and the sequences.
        plot: Where to save the DCV-VOL map (PNG), or "" for none.
    """
    from crm_envs.envs.b2b_customer.customers import sample_customers
    from crm_envs.envs.b2b_customer.solver import portfolio

    portfolio(sample_customers(8, seed), n_sims=4, horizon=horizon)  # compile
    result = portfolio(sample_customers(customers, seed), n_sims=n_sims, horizon=horizon,
                       seed=seed, progress_bar=True)  # fmt: skip
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        from crm_envs.envs.b2b_customer.plots import plot_portfolio

        plot_portfolio(result).savefig(plot, dpi=110)
    return PortfolioSpeed(customers, n_sims, horizon, result.seconds, os.cpu_count() or 1, plot)


def format_portfolio_speed(r: PortfolioSpeed) -> str:
    """A Markdown line with the measurement and the machine."""
    cpu = platform.processor() or platform.machine()
    return (
        f"| {r.customers:,} customers x {r.n_sims} sequences x {r.horizon} months, both "
        f"planners | {r.seconds:.1f} s | {r.cpus} CPUs, {cpu}"
        f" | target <= 60 s: {'met' if r.seconds <= 60 else '**not met**'} |"
    )
