"""Tabular temporal-difference agents: Q-learning, Double Q-learning, SARSA, Expected SARSA.

One training loop serves the four algorithms, in two backends (see :func:`select_backend`):

* ``"numba"``: where the env offers ``env.unwrapped.jit_interface()`` (e.g.
  ``CustomerJourney-v1``), the whole loop -- env steps included -- runs inside numba, on the
  unwrapped env's kernel. Wrappers are then skipped, so this backend is taken only when every
  wrapper around the env is known to change nothing the learner sees:
  :data:`TRANSPARENT_WRAPPERS` (gymnasium's ``PassiveEnvChecker`` and ``OrderEnforcing``, which
  ``gym.make`` adds) and a ``TimeLimit`` whose limit is not shorter than the env's own
  horizon (such a limit never cuts an episode the env would not end itself).
* ``"gymnasium"``: every other case -- any other wrapper (``TransformReward``, a shorter
  ``TimeLimit``, ``Monitor``...), or an env without a kernel -- steps through
  ``env.step``/``env.reset`` with the same update rules.

Both backends draw the agent's random numbers from the same numba generator in the same order
and seed it identically, so where the numba backend is allowed both learn the same Q tables,
bit for bit. After ``learn``, ``agent.backend`` says which one ran and ``agent.backend_reason``
why.

Exploration schedules: epsilon decays linearly from ``epsilon_start`` to ``epsilon_end`` over
the first ``epsilon_decay`` fraction of training, then stays (Bonaccorso's journeys start at
25% exploration and decay to 0); with ``explore_threshold`` set, the agent explores only once
the episode's return so far has reached the threshold (the paper's rule: try alternatives only
with an engaged customer). Learning rate: ``lr / (1 + n(s, a)) ** lr_power`` (``lr_power = 0``
is a constant step; 0.5 < power <= 1 satisfies the Robbins-Monro conditions).

Double Q-learning: van Hasselt (2010); van Hasselt, Guez & Silver (2016), cited by the journey
paper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit
from numba import njit
from numpy.typing import NDArray
from tqdm.auto import tqdm

from agents.base import Agent
from agents.common import (
    SEED_MAX,
    ObsIndexer,
    SavableAgent,
    check_field,
    check_reward,
    check_seed,
)
from crm_envs.core.params import check_scalar

__all__ = [
    "CHUNK",
    "SARSA",
    "TRANSPARENT_WRAPPERS",
    "DoubleQLearning",
    "ExpectedSARSA",
    "QLearning",
    "TabularConfig",
    "select_backend",
    "td_replay",
]

Q_LEARNING, DOUBLE_Q, SARSA_, EXPECTED_SARSA = 0, 1, 2, 3


@dataclass(frozen=True)
class TabularConfig:
    """Configuration of the tabular TD agents (CleanRL style: one docstring per field).

    Every field is checked when the config is built: a wrong type raises ``TypeError``, NaN,
    an infinity or a value outside the stated range raises ``ValueError``.

    Attributes:
        gamma: Discount factor in [0, 1] of the TD targets (1 for the journey's time-indexed
            rewards, whose discounting is already in the reward).
        lr: Learning-rate scale, > 0, with ``lr / 2 ** lr_power <= 1`` (the first update's step;
            a step above 1 overshoots the TD target and can diverge).
        lr_power: Learning rate is ``lr / (1 + n(s, a)) ** lr_power``, >= 0; 0 = constant.
        epsilon_start: Exploration probability in [0, 1] at the start of training.
        epsilon_end: Exploration probability in [0, 1] after the decay.
        epsilon_decay: Fraction in [0, 1] of training over which epsilon decays linearly.
        explore_threshold: If set (a finite number), explore only once the episode's return so
            far reaches it (Bonaccorso's second schedule: try alternatives only with an engaged
            customer). Default None: plain decaying epsilon-greedy, the paper's first
            schedule. On CustomerJourney a journey's return stays below 0.5 until it
            converts, so thresholds >= 0 leave little exploration: with 25,000 journeys the
            learned policy reaches >= 0.95 of the random-to-optimal span, against >= 0.99
            for None or -1 (``tests/agents/test_tabular.py``).
        initial_q: Initial value (finite) of every action value.
        seed: Seed in [0, 2**32 - 1] of the exploration and of the env's first reset.
    """

    gamma: float = 1.0
    lr: float = 0.5
    lr_power: float = 0.6
    epsilon_start: float = 0.25
    epsilon_end: float = 0.0
    epsilon_decay: float = 0.8
    explore_threshold: float | None = None
    initial_q: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("gamma", "epsilon_start", "epsilon_end", "epsilon_decay"):
            check_field(self, name, check_scalar, low=0.0, high=1.0)
        check_field(self, "lr", check_scalar, low=0.0, low_open=True)
        check_field(self, "lr_power", check_scalar, low=0.0)
        if self.lr / 2.0**self.lr_power > 1.0:
            raise ValueError(
                f"lr / 2 ** lr_power (the first update's step size) must be <= 1, got "
                f"lr={self.lr}, lr_power={self.lr_power}: lower lr or raise lr_power"
            )
        if self.explore_threshold is not None:
            check_field(self, "explore_threshold", check_scalar)
        check_field(self, "initial_q", check_scalar)
        check_field(self, "seed", check_seed)


# Numba's random functions keep their own state (separate from NumPy's); every training run
# seeds it explicitly through _seed_numba, so runs are reproducible.
@njit(cache=True)
def _seed_numba(seed):
    np.random.seed(seed)  # noqa: NPY002  (numba's generator, seeded per run)


@njit(cache=True)
def _epsilon(step, total, start, end, decay):
    span = decay * total
    if span <= 0 or step >= span:
        return end
    return start + (end - start) * step / span


@njit(cache=True)
def _greedy(qa, qb, s, double):
    best, best_a = -np.inf, 0
    for a in range(qa.shape[1]):
        v = qa[s, a] + qb[s, a] if double else qa[s, a]
        if v > best:
            best, best_a = v, a
    return best_a


@njit(cache=True)
def _choose(qa, qb, s, double, eps, explore_ok):
    if explore_ok and np.random.random() < eps:  # noqa: NPY002  (numba, see _seed_numba)
        return np.random.randint(qa.shape[1])  # noqa: NPY002
    return _greedy(qa, qb, s, double)


@njit(cache=True)
def _update(algo, qa, qb, counts, s, a, r, s2, a2, done, gamma, lr, lr_power, eps):
    """One TD update; returns nothing (tables modified in place)."""
    counts[s, a] += 1.0
    step = lr if lr_power == 0.0 else lr / (1.0 + counts[s, a]) ** lr_power  # pow is costly
    n_a = qa.shape[1]
    if algo == DOUBLE_Q:
        if np.random.random() < 0.5:  # noqa: NPY002  (numba, see _seed_numba)
            upd, other = qa, qb
        else:
            upd, other = qb, qa
        target = r
        if not done:
            target += gamma * other[s2, _greedy(upd, upd, s2, False)]
        upd[s, a] += step * (target - upd[s, a])
        return
    target = r
    if not done:
        if algo == Q_LEARNING:
            best = qa[s2, 0]  # an explicit loop: a row view would cost reference counting
            for b in range(1, n_a):
                best = max(best, qa[s2, b])
            target += gamma * best
        elif algo == SARSA_:
            target += gamma * qa[s2, a2]
        else:  # expected SARSA under the epsilon-greedy policy
            g = _greedy(qa, qa, s2, False)
            exp = (1.0 - eps) * qa[s2, g]
            for b in range(n_a):
                exp += eps / n_a * qa[s2, b]
            target += gamma * exp
    qa[s, a] += step * (target - qa[s, a])


@njit(cache=True)
def td_replay(algo, qa, qb, counts, s, a, r, s2, done, gamma, lr, lr_power, eps):
    """Apply the TD update of ``algo`` to logged transitions in order (numba).

    Args:
        algo: 0 Q-learning, 1 Double Q, 2 SARSA (uses the next logged action), 3 Expected SARSA.
        qa: (S, A) table (updated).
        qb: (S, A) second table of Double Q (updated; unused otherwise).
        counts: (S, A) visit counts (updated).
        s: (T,) states.
        a: (T,) actions.
        r: (T,) rewards.
        s2: (T,) next states.
        done: (T,) terminated flags.
        gamma: Discount.
        lr: Learning-rate scale.
        lr_power: Learning-rate decay power.
        eps: Epsilon of the Expected SARSA target.
    """
    n = s.shape[0]
    for i in range(n):
        a2 = a[i + 1] if i + 1 < n else 0
        _update(algo, qa, qb, counts, s[i], a[i], r[i], s2[i], a2, done[i], gamma, lr, lr_power,
                eps)  # fmt: skip


@njit(cache=True)
def _index(obs, strides):
    s = 0
    for j in range(strides.shape[0]):
        s += obs[0, j] * strides[j]
    return s


@njit
def _train_jit(algo, step_fn, kp, fstate, state, obs, rew, term, trunc, extra, act, strides, qa, qb,
               counts, t_begin, t_end, total, gamma, lr, lr_power, e0, e1, decay, use_threshold,
               threshold, seed, returns, n_ep, ep_return, explore_ok, a):  # fmt: skip
    """Steps ``t_begin .. t_end - 1`` of a ``total``-step run.

    The env's episode state lives in ``state``/``obs`` between calls. ``n_ep`` counts the
    episodes finished so far, ``ep_return`` is the return of the episode in progress, and
    ``explore_ok`` says whether its next action may explore; ``a`` is the action already chosen
    for the current state (SARSA's target used it), or -1 to choose one. Returns the four updated.
    """
    _seed_numba(seed)
    double = algo == DOUBLE_Q
    s = _index(obs, strides)
    if a < 0:
        a = _choose(qa, qb, s, double, _epsilon(t_begin, total, e0, e1, decay), explore_ok)
    for t in range(t_begin, t_end):
        eps = _epsilon(t, total, e0, e1, decay)
        act[0] = a
        step_fn(kp, fstate, state, act, obs, rew, term, trunc, extra)
        r = rew[0]
        done = term[0]
        ended = term[0] or trunc[0]
        s2 = _index(obs, strides)
        ep_return += r
        explore_next = (not use_threshold) or ep_return >= threshold
        a2 = _choose(qa, qb, s2, double, eps, explore_next)
        _update(algo, qa, qb, counts, s, a, r, s2, a2, done, gamma, lr, lr_power, eps)
        if ended:
            if n_ep < returns.shape[0]:
                returns[n_ep] = ep_return
            n_ep += 1
            step_fn(kp, fstate, state, act, obs, rew, term, trunc, extra)  # NEXT_STEP autoreset
            s = _index(obs, strides)
            ep_return = 0.0
            explore_ok = not use_threshold
            a = _choose(qa, qb, s, double, eps, explore_ok)
        else:
            s, a = s2, a2
            explore_ok = explore_next
    return n_ep, ep_return, explore_ok, a


#: Env steps per numba call: the progress bar and the callback run between calls. Fixed, so
#: the numbers do not depend on whether a bar or a callback is used. Both backends reseed the
#: agent's numba generator every ``CHUNK`` steps (that is what makes them agree).
CHUNK = 1 << 20

#: Wrapper classes the numba backend may skip: they check API use or warn, and pass every
#: observation, reward and episode end through unchanged. Matched by exact class, so a
#: subclass (which may override ``step``) sends training through the Gymnasium loop.
TRANSPARENT_WRAPPERS: tuple[type, ...] = (PassiveEnvChecker, OrderEnforcing)


def _own_horizon(base: Any) -> int | None:
    """The longest episode the unwrapped env runs by itself, if it states one.

    crm_envs ids state it as ``env.unwrapped.task.horizon``; other envs may have ``horizon``.
    """
    for owner in (base, getattr(base, "task", None)):
        h = getattr(owner, "horizon", None)
        if isinstance(h, (int, np.integer)) and not isinstance(h, bool) and h >= 1:
            return int(h)
    return None


def select_backend(env: gym.Env) -> tuple[str, str]:
    """Which training loop the tabular agents use on ``env``, and why.

    The rule: ``"numba"`` only when stepping the unwrapped env's kernel reproduces what
    ``env.step`` would return, i.e. when

    1. ``env.unwrapped`` has ``jit_interface()``, and its class does not override ``step`` or
       ``reset`` below the class that defines the kernel;
    2. every wrapper between ``env`` and ``env.unwrapped`` is exactly one of
       :data:`TRANSPARENT_WRAPPERS`, or a ``TimeLimit`` whose ``max_episode_steps`` is at least
       the env's own horizon (``env.unwrapped.horizon``, else its task's ``horizon``; a
       ``TimeLimit`` on an env that states no horizon is not known to be harmless).

    Otherwise ``"gymnasium"``: the loop calls ``env.step`` and ``env.reset``, so every wrapper
    acts.

    Args:
        env: The env the agent trains on.

    Returns:
        ``(backend, reason)``: ``"numba"`` or ``"gymnasium"``, and a sentence saying why.
    """
    base = env.unwrapped
    if not hasattr(base, "jit_interface"):
        return "gymnasium", f"{type(base).__name__} has no jit_interface()"
    mro = type(base).__mro__
    owner = next(k for k in mro if "jit_interface" in vars(k))
    for k in mro[: mro.index(owner)]:
        changed = sorted({"step", "reset"} & set(vars(k)))
        if changed:
            return "gymnasium", (
                f"{k.__name__} overrides {changed} but not jit_interface(), so the kernel "
                "would not do what its step does"
            )
    horizon = _own_horizon(base)
    layer = env
    while layer is not base:
        kind = type(layer)
        if not isinstance(layer, gym.Wrapper):
            return "gymnasium", f"{kind.__name__} is not a gymnasium.Wrapper"
        if kind is TimeLimit:
            limit = layer._max_episode_steps
            if horizon is None:
                return "gymnasium", (
                    f"TimeLimit({limit}) on an env that states no horizon may cut episodes"
                )
            if limit < horizon:
                return "gymnasium", (
                    f"TimeLimit({limit}) cuts episodes shorter than the env's horizon {horizon}"
                )
        elif kind not in TRANSPARENT_WRAPPERS:
            return "gymnasium", (
                f"wrapper {kind.__name__} may change what the env returns; only "
                f"{[w.__name__ for w in TRANSPARENT_WRAPPERS]} and a TimeLimit not shorter "
                "than the horizon are skipped"
            )
        layer = layer.env
    return "numba", f"{type(base).__name__} kernel; every wrapper passes steps through unchanged"


class _TabularAgent(Agent, SavableAgent):
    """Common implementation of the four TD agents (see the module docstring).

    Args:
        env: Env with ``Discrete``/``MultiDiscrete`` observations and ``Discrete`` actions
            (wrappers are honoured: see :func:`select_backend`).
        **config: :class:`TabularConfig` fields.

    Attributes:
        q: (S, A) action values (the first table of Double Q).
        q2: (S, A) second table of Double Q (unused by the others).
        counts: (S, A) updates of each pair so far.
        episode_returns: Return of every episode finished during training.
        num_timesteps: Env steps trained so far.
        backend: ``"numba"`` or ``"gymnasium"``: the loop the last :meth:`learn` used (None
            before the first call); chosen by :func:`select_backend` at every call.
        backend_reason: Why that backend was chosen (empty before the first call).
    """

    _algo = Q_LEARNING
    _arrays = ("q", "q2", "counts")
    config_class = TabularConfig
    action_spaces = (gym.spaces.Discrete,)
    observation_spaces = (gym.spaces.Discrete, gym.spaces.MultiDiscrete)

    def __init__(self, env: gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.indexer = ObsIndexer(env.observation_space)
        n_s, n_a = self.indexer.n, int(env.action_space.n)
        self.q = np.full((n_s, n_a), float(self.config.initial_q))
        self.q2 = np.full((n_s, n_a), float(self.config.initial_q))
        self.counts = np.zeros((n_s, n_a))
        self.backend: str | None = None
        self.backend_reason = ""

    @property
    def values(self) -> NDArray[np.float64]:
        """(S, A) action values used to act (the mean of both tables for Double Q)."""
        return (self.q + self.q2) / 2.0 if self._algo == DOUBLE_Q else self.q

    def _learn(self, obs: Any, total: int, bar: tqdm, stop: Callable[[dict], bool]) -> int:
        """Train on the numba or the Gymnasium backend (:func:`select_backend`).

        The callback is called after every step on the Gymnasium backend and after every
        ``CHUNK`` steps on the numba backend; its locals hold ``self`` and ``t``, the steps
        done so far.
        """
        self.backend, self.backend_reason = select_backend(self.env)
        returns = np.zeros(total)
        if self.backend == "numba":
            n_ep, done = self._learn_jit(self.env.unwrapped, total, returns, bar, stop)
        else:
            n_ep, done = self._learn_gym(obs, total, returns, bar, stop)
        self._returns.extend(returns[:n_ep].tolist())
        return done

    def _numba_seed(self, t: int) -> int:
        """Seed of the agent's numba generator for the chunk starting at step ``t``."""
        return (self.config.seed + self.num_timesteps + t) % (SEED_MAX + 1)

    def _learn_jit(
        self, base: Any, total: int, returns: NDArray, bar: tqdm, stop: Callable[[dict], bool]
    ) -> tuple[int, int]:
        c = self.config
        it = base.jit_interface()
        act = np.zeros(1, np.int64)
        n_ep, ep_return, explore_ok, a, t = 0, 0.0, c.explore_threshold is None, -1, 0
        while t < total:
            end = min(t + CHUNK, total)
            n_ep, ep_return, explore_ok, a = _train_jit(
                self._algo, it.step, it.kp, it.fstate, it.state, it.obs, it.rew, it.term, it.trunc,
                it.extra, act, self.indexer.strides, self.q, self.q2, self.counts, t, end,
                total, c.gamma, c.lr, c.lr_power, c.epsilon_start, c.epsilon_end,
                c.epsilon_decay, c.explore_threshold is not None,
                float(c.explore_threshold or 0.0), self._numba_seed(t), returns,
                n_ep, ep_return, explore_ok, a,
            )  # fmt: skip
            bar.update(end - t)
            t = end
            if stop(locals()):
                break
        base._ended = True  # the env's episode state now belongs to the learner's loop
        return n_ep, t

    def _learn_gym(
        self, obs: Any, total: int, returns: NDArray, bar: tqdm, stop: Callable[[dict], bool]
    ) -> tuple[int, int]:
        """:func:`_train_jit`'s loop over ``env.step``/``env.reset``: same draws, same order."""
        c = self.config
        q, q2, counts = self.q, self.q2, self.counts
        double = self._algo == DOUBLE_Q
        use_threshold = c.explore_threshold is not None
        threshold = float(c.explore_threshold or 0.0)
        eps_args = (total, c.epsilon_start, c.epsilon_end, c.epsilon_decay)
        s, ep_return, explore_ok = self.indexer(obs), 0.0, not use_threshold
        n_ep, a, done = 0, -1, 0
        for t in range(total):
            bar.update(1)
            if t % CHUNK == 0:  # where _train_jit starts a call
                _seed_numba(self._numba_seed(t))
                if a < 0:
                    a = int(_choose(q, q2, s, double, _epsilon(t, *eps_args), explore_ok))
            eps = _epsilon(t, *eps_args)
            obs, r, term, trunc, _ = self.env.step(a)
            r, term, ended = check_reward(r, type(self).__name__), bool(term), bool(term or trunc)
            s2 = self.indexer(obs)
            ep_return += r
            explore_next = (not use_threshold) or ep_return >= threshold
            a2 = int(_choose(q, q2, s2, double, eps, explore_next))
            _update(self._algo, q, q2, counts, s, a, r, s2, a2, term, c.gamma, c.lr,
                    c.lr_power, eps)  # fmt: skip
            done = t + 1
            if ended:
                returns[n_ep] = ep_return
                n_ep += 1
                obs, _ = self.env.reset()
                s, ep_return, explore_ok = self.indexer(obs), 0.0, not use_threshold
                a = int(_choose(q, q2, s, double, eps, explore_ok))
            else:
                s, a, explore_ok = s2, a2, explore_next
            if stop(locals()):
                break
        return n_ep, done

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[int, None]:
        """Greedy action for ``obs`` (epsilon-greedy with ``epsilon_end`` if not deterministic).

        Raises:
            ValueError: If ``obs`` is not in the env's observation space.
        """
        s = self.indexer(obs)
        if not deterministic and self.rng.random() < self.config.epsilon_end:
            return int(self.rng.integers(self.q.shape[1])), None
        return int(np.argmax(self.values[s])), None


class QLearning(_TabularAgent):
    """Q-learning (Watkins & Dayan 1992): ``Q += lr (r + gamma max_a' Q(s', a') - Q)``."""

    _algo = Q_LEARNING


class DoubleQLearning(_TabularAgent):
    """Double Q-learning: two tables, each evaluated at the other's greedy action."""

    _algo = DOUBLE_Q


class SARSA(_TabularAgent):
    """SARSA: on-policy target ``r + gamma Q(s', a')`` with the action actually taken next."""

    _algo = SARSA_


class ExpectedSARSA(_TabularAgent):
    """Expected SARSA: target ``r + gamma E_pi[Q(s', .)]`` under the epsilon-greedy policy."""

    _algo = EXPECTED_SARSA
