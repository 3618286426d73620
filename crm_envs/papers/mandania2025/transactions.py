r"""From a transaction log to the promotion envs' params (Mandania et al. 2025's pipeline).

:func:`params_from_transactions` takes a table of (customer id, date[, amount]) -- a pandas
DataFrame or the path of a CSV file; pandas is an optional extra (``pip install
crm-envs[pandas]``) -- and follows the paper's steps:

1. **Cohort and windows.** The cohort is the customers whose first purchase falls in the
   log's first calendar month (the paper: first-time buyers of January 2018). The
   calibration window is the 6 calendar months after it (February-July), the forecast
   window the ``horizon`` months after that (August-December).
2. **RFM summary.** A customer's calibration history is one 0/1 per month (BG/BB models
   whether a customer buys in a period, not how often): frequency x = months with a repeat
   purchase, recency t_x = the last such month (0 if none), n = 6
   (:func:`~crm_envs.envs.promotion.clv.rfm_summary`).
3. **Fits.** BG/BB by maximum likelihood (:func:`~crm_envs.envs.promotion.clv.fit_bgbb`);
   with amounts, gamma-gamma (:func:`~crm_envs.envs.promotion.clv.fit_gamma_gamma`) on
   each customer's number of calibration-period transactions (first purchase included) and
   average contribution (``commission`` x amount).
4. **Groups.** The 14 frequency/recency groups of
   :data:`~crm_envs.envs.promotion.model.GROUPS`, with their observed sizes and their
   observed and predicted transactions in the forecast window (a holdout check).
5. **Params.** A :class:`~crm_envs.envs.promotion.params.PromotionParams` for both
   ``PromotionBandit-v2`` and ``PromotionCampaign-v2`` (pass it as ``params=``): the
   fitted BG/BB, the cohort's size, and, with amounts, three contribution levels (the mean
   contribution of each third of the customers by average contribution, a third of the
   cohort each) and the fitted spend model. A log without promotions says nothing about how
   customers respond to one, so the response and survey parameters come from ``template``
   (default: the ``mandania2025_ferry`` preset).

On the CDNOW log that the ``lifetimes`` package ships (not needed by the tests; first
purchases are all in the first quarter of 1997, so the first month's cohort is January)::

    import pandas as pd
    from lifetimes.datasets import load_dataset

    log = load_dataset(
        "CDNOW_master.txt", header=None, sep=r"\s+",
        names=["customer_id", "date", "quantity", "amount"], dtype={"date": str},
    )
    log["date"] = pd.to_datetime(log["date"], format="%Y%m%d")
    fit = params_from_transactions(log, amount="amount", commission=1.0)
    env = gym.make("crm_envs/PromotionCampaign-v2", params=fit.params)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.params import check_int, check_scalar
from crm_envs.envs.promotion.clv import (
    BGBB,
    GammaGamma,
    RFMSummary,
    fit_bgbb,
    fit_gamma_gamma,
    rfm_summary,
)
from crm_envs.envs.promotion.model import GROUPS
from crm_envs.envs.promotion.params import PromotionParams

__all__ = [
    "CALIBRATION_MONTHS",
    "TransactionFit",
    "params_from_transactions",
    "simulate_transactions",
]

CALIBRATION_MONTHS = 6
"""Months in the calibration window: the paper's, and the one the 14 groups are defined on."""


@dataclass(frozen=True, eq=False)
class TransactionFit:
    """What :func:`params_from_transactions` found.

    Attributes:
        params: Params for ``PromotionBandit-v2`` and ``PromotionCampaign-v2``.
        summary: The cohort's RFM summary over the calibration window.
        bgbb: The fitted BG/BB model.
        spend: The fitted gamma-gamma model of the contribution per transaction, or None.
        cohort_month: The cohort's month (first purchases), as ``numpy.datetime64[M]``.
        cohort_size: Customers in the cohort.
        group_sizes: (G,) cohort customers in each frequency/recency group.
        forecast_observed: (G,) repeat transactions per member observed in the forecast
            window (months with a purchase), by group.
        forecast_predicted: (G,) the same, predicted by the fitted BG/BB.
    """

    params: PromotionParams
    summary: RFMSummary
    bgbb: BGBB
    spend: GammaGamma | None
    cohort_month: np.datetime64
    cohort_size: int
    group_sizes: NDArray[np.int64]
    forecast_observed: NDArray[np.float64]
    forecast_predicted: NDArray[np.float64]


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError as err:  # pragma: no cover - pandas is installed in CI
        raise ImportError(
            "params_from_transactions needs pandas: pip install 'crm-envs[pandas]'"
        ) from err
    return pd


def _show(value: Any) -> str:
    """A cell value for an error message: strings quoted, numbers plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _load(log: Any, customer: str, date: str, amount: str | None) -> Any:
    pd = _pandas()
    if isinstance(log, (str, Path)):
        path = Path(log)
        if not path.is_file():
            raise ValueError(f"transaction log {str(path)!r} is not a file")
        log = pd.read_csv(path)
    if not isinstance(log, pd.DataFrame):
        raise TypeError(
            f"log must be a pandas DataFrame or the path of a CSV file, got {type(log).__name__}"
        )
    wanted = [customer, date] + ([amount] if amount is not None else [])
    missing = [c for c in wanted if c not in log.columns]
    if missing:
        raise ValueError(
            f"the log has no column {missing[0]!r}; its columns are {list(log.columns)} "
            "(name the right ones with customer=, date= and amount=)"
        )
    if len(log) == 0:
        raise ValueError("the transaction log is empty: it needs at least one row per customer")
    df = log[wanted].copy()
    if df[customer].isna().any():
        row = int(np.flatnonzero(df[customer].isna().to_numpy())[0])
        raise ValueError(f"row {row} of the log has no customer id")
    dates = pd.to_datetime(df[date], errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"cannot read the date {_show(df[date].iloc[row])} in row {row} of the log (column "
            f"{date!r}); give dates pandas can parse, e.g. 2018-01-31"
        )
    df[date] = dates
    if amount is not None:
        values = pd.to_numeric(df[amount], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"amount {_show(df[amount].iloc[row])} in row {row} is not a finite number"
            )
        if (values < 0).any():
            row = int(np.flatnonzero(values < 0)[0])
            raise ValueError(
                f"amounts must be >= 0 (a purchase's value); row {row} has {values[row]}: "
                "remove refunds or net them out before fitting"
            )
        df[amount] = values
    return df


def params_from_transactions(
    log: Any,
    customer: str = "customer_id",
    date: str = "date",
    amount: str | None = None,
    horizon: int = 5,
    commission: float = 0.2,
    template: PromotionParams | None = None,
) -> TransactionFit:
    """Fit the promotion model's customer side to a transaction log.

    Args:
        log: A pandas DataFrame, or the path of a CSV file with a header row.
        customer: Column of customer ids.
        date: Column of transaction dates (anything ``pandas.to_datetime`` reads).
        amount: Column of transaction values (spend, >= 0), or None. With amounts the
            contribution per transaction is ``commission`` x amount and gets a gamma-gamma
            model; without, ``template``'s contribution levels are kept.
        horizon: Months in the forecast window and planning horizon (1-24).
        commission: Contribution as a fraction of the amount, in (0, 1] (1: amounts are
            already contributions).
        template: Params whose promotion, response and survey parameters are kept
            (default: the ``mandania2025_ferry`` preset).

    Returns:
        A :class:`TransactionFit` with the params and what they were fitted from.

    Raises:
        ValueError: For an empty log, a missing column, an unparseable date, a negative or
            non-numeric amount, a cohort of fewer than two customers, or a log that ends
            before the calibration and forecast windows do.
        TypeError: If ``log`` is neither a DataFrame nor a path.
    """
    horizon = check_int("horizon", horizon, low=1, high=24)
    commission = check_scalar("commission", commission, low=0.0, high=1.0, low_open=True)
    if template is None:
        from crm_envs.envs.promotion.presets import get_preset

        template = get_preset("mandania2025_ferry")
    elif not isinstance(template, PromotionParams):
        raise TypeError(f"template must be PromotionParams, got {type(template).__name__}")
    df = _load(log, customer, date, amount)
    month = df[date].to_numpy().astype("datetime64[M]")
    first = df.assign(_m=month).groupby(customer, sort=False)["_m"].min()
    cohort_month = month.min()
    cohort = first.index[first.to_numpy() == cohort_month]
    if len(cohort) < 2:
        raise ValueError(
            f"the cohort (customers whose first purchase is in {cohort_month}, the log's "
            f"first month) has {len(cohort)} customer; BG/BB needs a cohort of many customers"
        )
    last_needed = cohort_month + np.timedelta64(CALIBRATION_MONTHS + horizon, "M")
    if month.max() < last_needed:
        raise ValueError(
            f"the log ends in {month.max()}, but a cohort starting in {cohort_month} needs "
            f"{CALIBRATION_MONTHS} calibration and {horizon} forecast months, up to "
            f"{last_needed}; use a longer log or a shorter horizon"
        )
    in_cohort = df[customer].isin(cohort).to_numpy()
    ids = df[customer].to_numpy()[in_cohort]
    offset = (month[in_cohort] - cohort_month).astype(int)  # 0 = the cohort month
    row = first.index.get_indexer(ids)  # customer index (cohort customers are a subset)
    codes, row = np.unique(row, return_inverse=True)
    n_cust, span = len(codes), CALIBRATION_MONTHS + horizon
    bought = np.zeros((n_cust, span + 1), dtype=np.int8)
    keep = offset <= span
    bought[row[keep], offset[keep]] = 1
    calib = bought[:, 1 : CALIBRATION_MONTHS + 1]
    forecast = bought[:, CALIBRATION_MONTHS + 1 :]
    summary = rfm_summary(calib)
    model = fit_bgbb(summary)

    x = calib.sum(axis=1)
    t_x = np.where(x > 0, CALIBRATION_MONTHS - np.argmax(calib[:, ::-1], axis=1), 0)
    group = np.full(n_cust, -1)
    for g, grp in enumerate(GROUPS):
        for cx, ct in grp.cells:
            group[(x == cx) & (t_x == ct)] = g
    sizes = np.bincount(group, minlength=len(GROUPS))
    observed = np.bincount(group, weights=forecast.sum(axis=1), minlength=len(GROUPS))
    predicted_each = model.conditional_expected_transactions(horizon, x, t_x, CALIBRATION_MONTHS)
    predicted = np.bincount(group, weights=predicted_each, minlength=len(GROUPS))
    with np.errstate(invalid="ignore", divide="ignore"):
        observed, predicted = observed / sizes, predicted / sizes

    changes: dict[str, Any] = {
        "bgbb": (model.alpha, model.beta, model.gamma, model.delta),
        "cohort_size": float(n_cust),
        "horizon": horizon,
        "month_profile": _resample(template.month_profile, horizon),
    }
    spend = None
    if amount is not None:
        spend, levels = _spend(df[in_cohort], customer, date, amount, commission, cohort_month)
        changes |= {
            "spend": (spend.p, spend.q, spend.v),
            "contributions": levels,
            "contribution_shares": (1 / 3, 1 / 3, 1 / 3),
            "commission": commission,
        }
    params = template.replace(**changes)
    return TransactionFit(params, summary, model, spend, cohort_month, n_cust, sizes, observed,
                          predicted)  # fmt: skip


def _resample(profile: tuple[float, ...], horizon: int) -> tuple[float, ...]:
    """The template's month profile stretched or cut to ``horizon`` months (linear)."""
    old = np.asarray(profile)
    if len(old) == horizon:
        return tuple(old)
    grid = np.linspace(0.0, 1.0, horizon) if horizon > 1 else np.array([0.0])
    return tuple(np.interp(grid, np.linspace(0.0, 1.0, len(old)), old))


def _spend(df, customer, date, amount, commission, cohort_month):
    """Gamma-gamma on calibration-period contributions and three contribution levels."""
    month = df[date].to_numpy().astype("datetime64[M]")
    calib = (month - cohort_month).astype(int) <= CALIBRATION_MONTHS
    per = (df.loc[calib].assign(_c=commission * df.loc[calib, amount])
           .groupby(customer)["_c"].agg(["count", "mean"]))  # fmt: skip
    per = per[per["mean"] > 0]
    if len(per) < 3:
        raise ValueError(
            "amounts: fewer than 3 cohort customers with a positive average amount; the "
            "spend model needs more (or leave amount=None)"
        )
    spend = fit_gamma_gamma(per["count"].to_numpy(float), per["mean"].to_numpy(float))
    if spend.q <= 1:
        raise ValueError(
            f"the gamma-gamma fit has q = {spend.q:.3g} <= 1: no finite expected spend; the "
            "amounts are too dispersed for this model (or leave amount=None)"
        )
    means = np.sort(per["mean"].to_numpy(float))
    levels = tuple(float(part.mean()) for part in np.array_split(means, 3))
    return spend, levels


def simulate_transactions(
    bgbb: BGBB,
    n_customers: int,
    months: int,
    spend: GammaGamma | None = None,
    seed: int = 0,
    start: str = "2018-01",
    later_customers: int = 0,
) -> Any:
    """A transaction log of a cohort simulated from known BG/BB (and gamma-gamma) parameters.

    Every cohort customer buys once on a random day of the ``start`` month, then in each of
    the next ``months`` months as BG/BB dictates (one purchase on a random day of the month,
    sometimes a second one: BG/BB counts months with a purchase). With ``spend``, each
    customer's transactions are gamma-gamma values (Fader, Hardie & Lee 2005). The
    ``later_customers`` first buy in a later month and must not enter the cohort.

    Returns:
        A pandas DataFrame with columns ``customer_id``, ``date`` and, with ``spend``,
        ``amount``; rows in date order.
    """
    pd = _pandas()
    n_customers = check_int("n_customers", n_customers, low=1)
    months = check_int("months", months, low=1)
    rng = np.random.default_rng(seed)
    buys = bgbb.sample(n_customers, months, rng)  # (N, months)
    cust, when = np.nonzero(buys)
    second = rng.random(len(cust)) < 0.1  # a few months with two purchases
    cust = np.concatenate([np.arange(n_customers), cust, cust[second]])
    when = np.concatenate([np.zeros(n_customers, int), when + 1, when[second] + 1])
    if later_customers:
        extra = np.arange(n_customers, n_customers + later_customers)
        cust = np.concatenate([cust, extra])
        when = np.concatenate([when, rng.integers(1, months + 1, later_customers)])
    base = np.datetime64(start, "M")
    first_day = (base + when.astype("timedelta64[M]")).astype("datetime64[D]")
    days = ((first_day.astype("datetime64[M]") + np.timedelta64(1, "M")).astype("datetime64[D]")
            - first_day).astype(int)  # fmt: skip
    dates = first_day + (rng.random(len(cust)) * days).astype(int).astype("timedelta64[D]")
    log = {"customer_id": cust, "date": dates}
    if spend is not None:
        total = n_customers + later_customers
        nu = rng.gamma(spend.q, 1.0 / spend.v, total)
        log["amount"] = rng.gamma(spend.p, 1.0 / nu[cust])
    return pd.DataFrame(log).sort_values("date", kind="stable").reset_index(drop=True)
