"""The base of every agent of ours: construction, spaces, seeding, the training loop's frame.

An :class:`Agent` subclass declares its config dataclass and the spaces it supports, and
implements :meth:`Agent._learn` (the algorithm's steps) and :meth:`Agent.predict`. The base
owns everything else, once:

* **Construction**: the config is built and validated from keyword arguments; the env must be
  a Gymnasium env with supported spaces (``TypeError`` naming what is needed otherwise).
* **Seeding, one convention**: ``config.seed`` seeds ``self.rng`` (every Python-side draw of
  the agent), and every :meth:`Agent.learn` call resets the env with
  ``config.seed + num_timesteps``, so training continued in several calls meets new episodes
  and the same calls give the same numbers.
* **Bookkeeping**: ``num_timesteps`` (env steps trained so far) and ``episode_returns``
  (one entry per finished episode; one per step for learners that update after every step
  of a continuing task: a bandit's pulls, a promotion campaign's cycles; subclasses append
  to ``self._returns``).
* **Progress bar and callback**: a tqdm bar of env steps; ``callback(locals()) -> False`` stops
  training early.

The benchmark reads the supported spaces from the class (``benchmarks.registry``), so they are
declared in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from tqdm.auto import tqdm

from agents.common import SEED_MAX, check_env, check_learn_args, config_from_kwargs

__all__ = ["Agent"]


def _names(types: tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in types)


class Agent:
    """Base class of the agents (see the module docstring).

    Args:
        env: The training env.
        **config: Fields of the subclass's ``config_class``.

    Attributes:
        config: The validated config (a frozen dataclass with a ``seed`` field).
        env: The training env.
        rng: NumPy generator seeded by ``config.seed``, for the agent's own draws.
        num_timesteps: Env steps trained so far.
    """

    #: The config dataclass (must have an integer ``seed`` field).
    config_class: ClassVar[type]
    #: Action-space classes the agent supports (None: any).
    action_spaces: ClassVar[tuple[type, ...] | None] = None
    #: Observation-space classes the agent supports (None: any).
    observation_spaces: ClassVar[tuple[type, ...] | None] = None
    #: What else it needs of an env (keys of ``benchmarks.registry.NEEDS``, e.g. "bandit").
    needs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, env: gym.Env, **config: Any) -> None:
        self.config = config_from_kwargs(self.config_class, config)
        check_env(env, type(self).__name__)
        reason = self.unsupported(env)
        if reason is not None:
            raise TypeError(reason)
        self.env = env
        self.rng = np.random.default_rng(self.config.seed)
        self.num_timesteps = 0
        self._returns: list[float] = []

    @property
    def episode_returns(self) -> NDArray[np.float64]:
        """Return of every episode finished during training (per pull, per cycle: see above)."""
        return np.array(self._returns, dtype=float)

    @classmethod
    def unsupported(cls, env: gym.Env) -> str | None:
        """Why the agent cannot train on ``env``'s spaces, or None when it can."""
        name = cls.__name__
        if cls.action_spaces is not None and not isinstance(env.action_space, cls.action_spaces):
            return (f"{name} needs a {_names(cls.action_spaces)} action space, got "
                    f"{env.action_space}")  # fmt: skip
        space = env.observation_space
        if cls.observation_spaces is not None and not isinstance(space, cls.observation_spaces):
            return f"{name} needs a {_names(cls.observation_spaces)} observation space, got {space}"
        return None

    def reset_seed(self) -> int:
        """Seed of the env reset at the start of the next :meth:`learn` call."""
        return (self.config.seed + self.num_timesteps) % (SEED_MAX + 1)

    def learn(self, total_timesteps: int, progress_bar: bool = False, callback: Any = None):
        """Train for ``total_timesteps`` env steps; returns self.

        Args:
            total_timesteps: Env steps (>= 1). Episodic agents that update on whole episodes
                may finish the last one, so slightly more steps can be taken.
            progress_bar: Show a tqdm bar of env steps.
            callback: ``callback(locals()) -> False`` stops training early; when it is called
                depends on the agent (after every step, episode or batch).
        """
        total = check_learn_args(total_timesteps, progress_bar, callback)
        obs, _ = self.env.reset(seed=self.reset_seed())

        def stop(frame: dict[str, Any]) -> bool:
            return callback is not None and callback(frame) is False

        with tqdm(total=total, disable=not progress_bar, desc=type(self).__name__) as bar:
            done = self._learn(obs, total, bar, stop)
        self.num_timesteps += int(done)
        return self

    def _learn(
        self, obs: Any, total: int, bar: tqdm, stop: Callable[[dict[str, Any]], bool]
    ) -> int:
        """The algorithm's training steps from ``obs`` (the env was just reset).

        Args:
            obs: The first observation.
            total: Env steps to take.
            bar: The progress bar, to ``update`` with steps taken.
            stop: ``stop(locals())`` is True when the callback asks to stop.

        Returns:
            Env steps taken.
        """
        raise NotImplementedError

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[Any, None]:
        """The action for ``obs`` (SB3's signature: ``(action, state)``)."""
        raise NotImplementedError
