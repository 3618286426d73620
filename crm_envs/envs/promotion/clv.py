"""Customer lifetime value: the BG/BB and gamma-gamma models, in log space and vectorised.

BG/BB (Fader, Hardie & Shang 2010, Marketing Science 29(6)) models discrete-period repeat
transactions: while alive a customer transacts in a period with probability p ~ Beta(alpha,
beta) and, after each period, drops out for good with probability theta ~ Beta(gamma, delta).
A customer is summarised by (x, t_x, n): x repeat transactions in n periods, the last in
period t_x (t_x = 0 if x = 0). Gamma-gamma (Fader, Hardie & Lee 2005, Journal of Marketing
Research 42(4)) models the average value per transaction with parameters (p, q, v).

Equation numbers refer to Fader, Hardie & Shang (2010).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, logsumexp

from crm_envs.core.params import check_array

__all__ = [
    "BGBB",
    "GammaGamma",
    "RFMSummary",
    "fit_bgbb",
    "fit_gamma_gamma",
    "rfm_summary",
]


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return v


@dataclass(frozen=True)
class RFMSummary:
    """Customers grouped by (frequency x, recency t_x, periods n), with counts.

    Attributes:
        x: Repeat transactions.
        t_x: Period of the last repeat transaction (0 when x = 0).
        n: Number of transaction opportunities (periods) observed.
        count: Number of customers with this (x, t_x, n).
    """

    x: NDArray[np.int64]
    t_x: NDArray[np.int64]
    n: NDArray[np.int64]
    count: NDArray[np.float64]

    def __post_init__(self) -> None:
        x, t_x, n, c = (
            np.atleast_1d(np.asarray(v)) for v in (self.x, self.t_x, self.n, self.count)
        )
        if not (x.shape == t_x.shape == n.shape == c.shape):
            raise ValueError(f"x, t_x, n, count must have one shape, got {x.shape}, {t_x.shape}, "
                             f"{n.shape}, {c.shape}")  # fmt: skip
        check_rfm(x, t_x, n)
        if np.any(c < 0) or not np.all(np.isfinite(c)):
            raise ValueError(
                f"count must be finite and >= 0, got {c[(c < 0) | ~np.isfinite(c)][:3]}"
            )
        for name, v in (("x", x), ("t_x", t_x), ("n", n)):
            object.__setattr__(self, name, v.astype(np.int64))
        object.__setattr__(self, "count", c.astype(np.float64))


def check_rfm(x: ArrayLike, t_x: ArrayLike, n: ArrayLike) -> None:
    """Raise ``ValueError`` unless 0 <= x <= t_x <= n, t_x = 0 iff x = 0, all integers."""
    x, t_x, n = (np.asarray(v) for v in (x, t_x, n))
    for name, v in (("x", x), ("t_x", t_x), ("n", n)):
        if np.any(v < 0) or np.any(v != np.round(v)):
            raise ValueError(
                f"{name} must be non-negative integers, got {v[(v < 0) | (v != np.round(v))][:3]}"
            )
    if np.any(x > n):
        raise ValueError(f"frequency x must not exceed the periods n; found x={x[x > n][:3]}")
    if np.any(t_x > n):
        raise ValueError(f"recency t_x must not exceed the periods n; found t_x={t_x[t_x > n][:3]}")
    if np.any(x > t_x):
        raise ValueError("x repeat transactions need recency t_x >= x (one per period at most)")
    if np.any((x == 0) != (t_x == 0)):
        raise ValueError("recency t_x must be 0 exactly when the frequency x is 0")


def rfm_summary(purchases: ArrayLike) -> RFMSummary:
    """Summarise a binary purchase matrix (customers x periods after the first purchase).

    Args:
        purchases: (customers, n) 0/1 array: 1 where the customer made a repeat transaction.

    Returns:
        The :class:`RFMSummary`, one row per distinct (x, t_x, n) with its count.
    """
    m = np.asarray(purchases)
    if m.ndim != 2:
        raise ValueError(f"purchases must be a (customers, periods) matrix, got shape {m.shape}")
    if not np.isin(m, (0, 1)).all():
        raise ValueError("purchases must contain only 0 and 1 (one transaction per period at most)")
    n = m.shape[1]
    x = m.sum(axis=1)
    last = np.where(x > 0, n - np.argmax(m[:, ::-1], axis=1), 0)
    keys, counts = np.unique(np.stack([x, last]), axis=1, return_counts=True)
    return RFMSummary(keys[0], keys[1], np.full(keys.shape[1], n), counts)


@dataclass(frozen=True)
class BGBB:
    """The beta-geometric/beta-Bernoulli model with parameters alpha, beta, gamma, delta > 0."""

    alpha: float
    beta: float
    gamma: float
    delta: float

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "gamma", "delta"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))

    def _terms(self, x, t_x, n):
        """Log of the two parts of the likelihood (Eq. 5): alive throughout, and the sum."""
        a, b, g, d = self.alpha, self.beta, self.gamma, self.delta
        x, t_x, n = (np.asarray(v, dtype=np.float64) for v in (x, t_x, n))
        check_rfm(x, t_x, n)
        base = betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n) - betaln(g, d)
        x_b, t_b, n_b = np.broadcast_arrays(x, t_x, n)
        width = int(np.max(n_b - t_b)) if n_b.size else 0
        i = np.arange(width)
        shape = (*x_b.shape, width)
        xi, ti, ni = (np.broadcast_to(v[..., None], shape) for v in (x_b, t_b, n_b))
        terms = (betaln(a + xi, b + ti - xi + i) - betaln(a, b)
                 + betaln(g + 1, d + ti + i) - betaln(g, d))  # fmt: skip
        terms = np.where(i < ni - ti, terms, -np.inf)
        return base, terms

    def log_likelihood(self, x: ArrayLike, t_x: ArrayLike, n: ArrayLike) -> NDArray[np.float64]:
        """Log-likelihood of each (x, t_x, n) (Eq. 5), computed with logsumexp."""
        base, terms = self._terms(x, t_x, n)
        return logsumexp(np.concatenate([base[..., None], terms], axis=-1), axis=-1)

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, n: ArrayLike) -> NDArray[np.float64]:
        """Probability of being alive at period n + 1 given (x, t_x, n) (Eq. 11)."""
        a, b, g, d = self.alpha, self.beta, self.gamma, self.delta
        x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
        alive = betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n + 1) - betaln(g, d)
        return np.exp(alive - self.log_likelihood(x, t_x, n))

    def purchase_propensity(
        self, x: ArrayLike, t_x: ArrayLike, n: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Mean purchase probability p of the customers alive and of those gone at n + 1.

        Given (x, t_x, n), p and the dropout history have a joint posterior. Returns
        ``(E[p | alive at n + 1], E[p | dropped out by n + 1])``: the alive customers' monthly
        purchase probability, and the category demand of the customers who stopped buying
        here. E[p | alive] = (alpha + x) / (alpha + beta + n); E[p x likelihood] over all
        paths is the likelihood with alpha + 1, times alpha / (alpha + beta).
        """
        a, b, g, d = self.alpha, self.beta, self.gamma, self.delta
        x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
        log_l = self.log_likelihood(x, t_x, n)
        shifted = BGBB(a + 1.0, b, g, d).log_likelihood(x, t_x, n)
        p_all = np.exp(np.log(a / (a + b)) + shifted - log_l)  # E[p | history]
        alive = self.p_alive(x, t_x, n)
        p_alive_mean = (a + x) / (a + b + n)
        p_dead = (p_all - alive * p_alive_mean) / np.maximum(1.0 - alive, 1e-300)
        return p_alive_mean, p_dead

    def expected_transactions(self, n: ArrayLike) -> NDArray[np.float64]:
        """Unconditional expected repeat transactions in the first n periods (Eq. 7)."""
        a, b, g, d = self.alpha, self.beta, self.gamma, self.delta
        n = np.asarray(n, dtype=float)
        ratio = np.exp(gammaln(g + d) - gammaln(g + d + n) + gammaln(1 + d + n) - gammaln(1 + d))
        if np.isclose(g, 1.0):
            return _eq7_limit(a, b, d, n)
        return a / (a + b) * d / (g - 1) * (1 - ratio)

    def conditional_expected_transactions(
        self, n_star: ArrayLike, x: ArrayLike, t_x: ArrayLike, n: ArrayLike
    ) -> NDArray[np.float64]:
        """Expected repeat transactions in periods n+1..n+n* given (x, t_x, n) (Eq. 13)."""
        a, b, g, d = self.alpha, self.beta, self.gamma, self.delta
        n_star = np.asarray(n_star, dtype=float)
        x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
        if np.any(n_star < 0):
            raise ValueError(f"n_star must be >= 0, got {n_star}")
        log_l = self.log_likelihood(x, t_x, n)
        head = betaln(a + x + 1, b + n - x) - betaln(a, b) - log_l
        # sum_{s=1}^{n*} E[theta-survival to n+s] = d/(g-1) G(g+d)/G(1+d) [G(1+d+n)/G(g+d+n)
        # - G(1+d+n+n*)/G(g+d+n+n*)]; written as a difference of exponentials for stability.
        c = gammaln(g + d) - gammaln(1 + d)
        t1 = c + gammaln(1 + d + n) - gammaln(g + d + n)
        t2 = c + gammaln(1 + d + n + n_star) - gammaln(g + d + n + n_star)
        if np.isclose(g, 1.0):
            survival = _survival_sum_direct(g, d, n, n_star)
            return np.exp(head) * survival
        return np.exp(head) * d / (g - 1) * (np.exp(t1) - np.exp(t2))

    def pmf(self, x: ArrayLike, n: int) -> NDArray[np.float64]:
        """P(X(n) = x): the distribution of repeat transactions in n periods (Eq. 8)."""
        a, b, g, d = self.alpha, self.beta, self.gamma, self.delta
        x = np.asarray(x, dtype=float)
        if np.any(x < 0) or np.any(x > n):
            raise ValueError(f"x must lie in 0..n = 0..{n}, got {x}")
        logc = gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1)
        first = logc + betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n) - betaln(g, d)
        i = np.arange(n)
        xi = x[..., None]
        with np.errstate(invalid="ignore"):
            lc = gammaln(i + 1) - gammaln(xi + 1) - gammaln(np.maximum(i - xi, 0) + 1)
            terms = lc + betaln(a + xi, b + np.maximum(i - xi, 0)) - betaln(a, b) + betaln(
                g + 1, d + i) - betaln(g, d)  # fmt: skip
        terms = np.where(i >= xi, terms, -np.inf)
        return np.exp(logsumexp(np.concatenate([first[..., None], terms], axis=-1), axis=-1))

    def sample(self, n_customers: int, n: int, seed: int | np.random.Generator) -> NDArray[np.int8]:
        """Simulate a (customers, n) 0/1 purchase matrix from the model.

        Args:
            n_customers: Number of customers.
            n: Periods per customer.
            seed: Seed or Generator.

        Returns:
            The purchase matrix (1 = a repeat transaction in that period).
        """
        rng = np.random.default_rng(seed)
        p = rng.beta(self.alpha, self.beta, n_customers)
        theta = rng.beta(self.gamma, self.delta, n_customers)
        # Alive in period t (1-based) iff the customer survived the t - 1 dropout chances before.
        # A living customer drops out at the start of each opportunity with probability theta
        # (FHS 2010, assumption iii): dead from opportunity D ~ Geometric(theta) on, so alive
        # at opportunity t (1-based) iff t < D, which the likelihood's (1 - theta)**n encodes.
        death = rng.geometric(theta)
        alive = np.arange(1, n + 1)[None, :] < death[:, None]
        buys = rng.random((n_customers, n)) < p[:, None]
        return (alive & buys).astype(np.int8)


def _survival_sum_direct(g: float, d: float, n, n_star) -> NDArray[np.float64]:
    """sum_{s=1}^{n*} B(g, d + n + s) / B(g, d) computed term by term (used when gamma = 1)."""
    n, n_star = np.broadcast_arrays(np.asarray(n, float), np.asarray(n_star, float))
    out = np.zeros(n.shape)
    for idx in np.ndindex(n.shape):
        s = np.arange(1, int(n_star[idx]) + 1)
        out[idx] = np.exp(betaln(g, d + n[idx] + s) - betaln(g, d)).sum()
    return out


def _eq7_limit(a: float, b: float, d: float, n) -> NDArray[np.float64]:
    s = np.asarray(n, dtype=float)
    out = np.zeros(s.shape)
    for idx in np.ndindex(s.shape):
        t = np.arange(1, int(s[idx]) + 1)
        out[idx] = a / (a + b) * np.exp(betaln(1.0, d + t) - betaln(1.0, d)).sum()
    return out


def fit_bgbb(summary: RFMSummary, start: tuple[float, float, float, float] = (1, 1, 1, 1)) -> BGBB:
    """Maximum-likelihood BG/BB parameters of a summary (count-weighted, log-parameters).

    Args:
        summary: Customers by (x, t_x, n) with counts.
        start: Starting (alpha, beta, gamma, delta).

    Returns:
        The fitted :class:`BGBB`.

    Raises:
        TypeError: If ``summary`` is not an :class:`RFMSummary`.
        ValueError: If it holds no customers (nothing to fit), or the fit does not reach
            finite parameters.
    """
    if not isinstance(summary, RFMSummary):
        raise TypeError(f"summary must be an RFMSummary, got {type(summary).__name__}")
    if not summary.count.sum() > 0:
        raise ValueError(
            "fit_bgbb needs at least one customer: the summary's counts sum to "
            f"{float(summary.count.sum())}; build it from a non-empty purchase history"
        )

    def nll(theta: NDArray[np.float64]) -> float:
        m = BGBB(*np.exp(theta))
        return -float(summary.count @ m.log_likelihood(summary.x, summary.t_x, summary.n))

    options = {"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000, "maxfev": 40000}
    res = minimize(
        nll, np.log(np.asarray(start, dtype=float)), method="Nelder-Mead", options=options
    )
    res = minimize(nll, res.x, method="BFGS", options={"gtol": 1e-9})
    return BGBB(*_fitted("fit_bgbb", res.x))


@dataclass(frozen=True)
class GammaGamma:
    """Gamma-gamma model of the average value per transaction (p, q, v > 0)."""

    p: float
    q: float
    v: float

    def __post_init__(self) -> None:
        for name in ("p", "q", "v"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))

    def log_likelihood(self, x: ArrayLike, m_x: ArrayLike) -> NDArray[np.float64]:
        """Log density of the average value ``m_x`` over ``x >= 1`` transactions."""
        p, q, v = self.p, self.q, self.v
        x, m = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
        if np.any(x < 1) or np.any(m <= 0):
            raise ValueError("gamma-gamma needs x >= 1 transactions and average values m_x > 0")
        px = p * x
        return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
                + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(v + m * x))  # fmt: skip

    def conditional_expected_value(self, x: ArrayLike, m_x: ArrayLike) -> NDArray[np.float64]:
        """E[value per transaction | x, m_x] = (p (v + x m_x)) / (p x + q - 1) (needs q > 1)."""
        if self.q <= 1:
            raise ValueError(f"the conditional expectation needs q > 1, got q = {self.q}")
        x, m = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
        return self.p * (self.v + x * m) / (self.p * x + self.q - 1)

    def sample(self, x: ArrayLike, seed: int | np.random.Generator) -> NDArray[np.float64]:
        """Average transaction value of customers with ``x`` transactions each."""
        rng = np.random.default_rng(seed)
        x = np.asarray(x, dtype=float)
        nu = rng.gamma(self.q, 1.0 / self.v, x.shape)  # customer's rate
        return rng.gamma(self.p * x, 1.0 / nu) / x


def _fitted(name: str, log_params: NDArray[np.float64]) -> NDArray[np.float64]:
    """Positive finite parameters from a fit's log-parameters, or a clear error."""
    with np.errstate(over="ignore"):
        params = np.exp(log_params)
    if not np.all(np.isfinite(params) & (params > 0)):
        raise ValueError(
            f"{name} did not reach finite parameters (got {params.tolist()}): the data do not "
            "identify the model; use more customers or more varied histories"
        )
    return params


def fit_gamma_gamma(x: ArrayLike, m_x: ArrayLike) -> GammaGamma:
    """Maximum-likelihood gamma-gamma parameters from (x, m_x) of customers with x >= 1.

    Args:
        x: (N,) number of transactions of each customer (integers >= 1).
        m_x: (N,) each customer's average value per transaction (finite, > 0).

    Returns:
        The fitted :class:`GammaGamma`.

    Raises:
        ValueError: On empty, mismatched, non-finite or out-of-range data, naming the first
            offending customer.
    """
    x = check_array("x", x, shape=(None,))
    m = check_array("m_x", m_x, shape=(None,))
    if len(x) == 0:
        raise ValueError("fit_gamma_gamma needs at least one customer, got empty x and m_x")
    if len(x) != len(m):
        raise ValueError(f"x and m_x must have one entry per customer, got {len(x)} and {len(m)}")
    bad = np.flatnonzero((x < 1) | (x != np.round(x)))
    if bad.size:
        raise ValueError(
            f"x must be whole numbers of transactions >= 1 (customers without a transaction "
            f"have no average value); customer {bad[0]} has x = {x[bad[0]]}"
        )
    bad = np.flatnonzero(m <= 0)
    if bad.size:
        raise ValueError(
            f"m_x must be positive average values; customer {bad[0]} has m_x = {m[bad[0]]}"
        )

    def nll(theta: NDArray[np.float64]) -> float:
        return -float(GammaGamma(*np.exp(theta)).log_likelihood(x, m).sum())

    start = np.log([1.0, 2.0, max(float(m.mean()), 1e-3)])
    res = minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-10,
                                                               "maxiter": 20000})  # fmt: skip
    res = minimize(nll, res.x, method="BFGS")
    return GammaGamma(*_fitted("fit_gamma_gamma", res.x))
