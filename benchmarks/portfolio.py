"""Speed of the B2B customer-base analysis (Fan 2015, Figure 18): solve + simulate per customer.

Target of issues 3 and 19: 10,000 heterogeneous customers (POMDP and HMM planners solved, both
policies evaluated exactly on a 101-point belief grid, and 100 simulated 60-month sequences
per policy) in at most 60 s on the 2-core reference machine.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PortfolioSpeed", "check_plot_path", "format_portfolio_speed", "portfolio_speed"]


@dataclass(frozen=True)
class PortfolioSpeed:
    """One timed run of :func:`crm_envs.papers.fan2015.portfolio.portfolio`.

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
        customers: Number of customers (>= 1).
        n_sims: Sequences per customer and policy (>= 2).
        horizon: Months per sequence (>= 1).
        seed: Seed of the customers and the sequences.
        plot: Where to save the DCV-VOL map (an image file, e.g. ``.png``), or "" for none.

    Raises:
        ValueError: A count below its minimum, or a ``plot`` path that cannot be written
            (checked before anything is computed).
    """
    for name, value, low in (("customers", customers, 1), ("n_sims", n_sims, 2),
                             ("horizon", horizon, 1)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if plot:
        check_plot_path(plot)
    from crm_envs.papers.fan2015.customers import sample_customers
    from crm_envs.papers.fan2015.portfolio import portfolio

    portfolio(sample_customers(8, seed), n_sims=4, horizon=horizon)  # compile
    result = portfolio(sample_customers(customers, seed), n_sims=n_sims, horizon=horizon,
                       seed=seed, progress_bar=True)  # fmt: skip
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        from crm_envs.papers.fan2015.figures import plot_portfolio

        plot_portfolio(result).savefig(plot, dpi=110)
    return PortfolioSpeed(customers, n_sims, horizon, result.seconds, os.cpu_count() or 1, plot)


def check_plot_path(plot: str) -> str:
    """Check, before any computation, that the DCV-VOL map can be saved at ``plot``.

    Args:
        plot: The image path; its suffix names the format (``.png``, ``.pdf``, ``.svg``...).

    Returns:
        ``plot``.

    Raises:
        ValueError: The folder does not exist, ``plot`` is a folder, it has no suffix or one
            matplotlib cannot write, or matplotlib is not installed.
    """
    path = Path(plot)
    if path.is_dir():
        raise ValueError(f"plot={plot!r} is a folder; give an image file such as map.png")
    if not path.parent.is_dir():
        raise ValueError(f"plot={plot!r}: the folder {path.parent} does not exist; create it first")
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise ValueError("plot needs matplotlib: pip install 'crm_envs[plot]'") from None
    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    if path.suffix.lstrip(".").lower() not in formats:
        raise ValueError(
            f"plot={plot!r} must end in an image suffix matplotlib writes, e.g. .png; "
            f"one of {formats}"
        )
    return plot


def format_portfolio_speed(r: PortfolioSpeed) -> str:
    """A Markdown line with the measurement and the machine."""
    cpu = platform.processor() or platform.machine()
    return (
        f"| {r.customers:,} customers x {r.n_sims} sequences x {r.horizon} months, both "
        f"planners, exact VOL | {r.seconds:.1f} s | {r.cpus} CPUs, {cpu}"
        f" | target <= 60 s: {'met' if r.seconds <= 60 else '**not met**'} |"
    )
