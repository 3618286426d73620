"""What every agent shares: observation indexing, schedules, evaluation, saving."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from crm_envs.core.params import check_int

__all__ = ["EvalResult", "ObsIndexer", "SavableAgent", "check_observation", "evaluate_policy"]


def check_observation(space: gym.Space[Any], obs: Any) -> None:
    """Raise ``ValueError`` unless ``obs`` belongs to ``space`` (the agents' input check)."""
    arr = np.asarray(obs)
    if not space.contains(arr if arr.ndim else arr.astype(np.int64).item()):
        raise ValueError(
            f"observation {obs!r} is not in the observation space {space} "
            f"(shape {getattr(space, 'shape', None)})"
        )


class ObsIndexer:
    """Maps observations of a ``Discrete`` or ``MultiDiscrete`` space to table rows.

    Args:
        space: The env's observation space.
    """

    def __init__(self, space: gym.Space[Any]) -> None:
        if isinstance(space, gym.spaces.Discrete):
            self.nvec = np.array([space.n], dtype=np.int64)
        elif isinstance(space, gym.spaces.MultiDiscrete) and space.nvec.ndim == 1:
            self.nvec = space.nvec.astype(np.int64)
        else:
            raise TypeError(
                f"tabular agents need a Discrete or 1-D MultiDiscrete observation space, "
                f"got {space}"
            )
        self.space = space
        #: Multipliers such that ``index = obs @ strides``.
        self.strides = np.r_[np.cumprod(self.nvec[::-1])[::-1][1:], 1].astype(np.int64)
        self.n = int(np.prod(self.nvec))

    def __call__(self, obs: Any) -> int:
        """Row of one observation; raises ``ValueError`` if it is not in the space."""
        check_observation(self.space, obs)
        return int(np.atleast_1d(np.asarray(obs)).astype(np.int64) @ self.strides)


class SavableAgent:
    """``save(path)`` / ``load(path)`` for agents whose state is a config plus numpy arrays.

    Subclasses name their learned arrays in ``_arrays`` and keep their config dataclass in
    ``self.config``.
    """

    _arrays: tuple[str, ...] = ()
    config: Any

    def save(self, path: str | Path) -> None:
        """Write the config (JSON) and learned arrays (``.npz``) to ``path`` (a ``.npz`` file)."""
        path = Path(path)
        data = {name: getattr(self, name) for name in self._arrays}
        data["__config__"] = np.array(json.dumps(asdict(self.config)))
        np.savez(path, **data)

    def load(self, path: str | Path) -> SavableAgent:
        """Restore learned arrays saved by :meth:`save` (the config must match); returns self."""
        with np.load(Path(path), allow_pickle=False) as data:
            saved = json.loads(str(data["__config__"]))
            if saved != json.loads(json.dumps(asdict(self.config))):
                raise ValueError(
                    f"saved config {saved} differs from this agent's {asdict(self.config)}"
                )
            for name in self._arrays:
                current = getattr(self, name)
                if data[name].shape != np.shape(current):
                    raise ValueError(
                        f"saved {name} has shape {data[name].shape}, expected {np.shape(current)}"
                    )
                setattr(self, name, data[name].copy())
        return self


def config_from_kwargs(cls: type, kwargs: dict[str, Any]) -> Any:
    """Build config dataclass ``cls`` from keyword arguments, naming unknown ones."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise TypeError(f"unknown {cls.__name__} option(s) {unknown}; known: {sorted(names)}")
    return cls(**kwargs)


@dataclass(frozen=True)
class EvalResult:
    """Outcome of :func:`evaluate_policy`.

    Attributes:
        mean: Mean episode return.
        stderr: Standard error of the mean.
        returns: Every episode's return.
    """

    mean: float
    stderr: float
    returns: NDArray[np.float64]


def evaluate_policy(
    agent_or_policy: Any,
    env: gym.Env | str,
    n_episodes: int = 100,
    seed: int = 0,
    deterministic: bool = True,
) -> EvalResult:
    """Run ``n_episodes`` episodes and report the mean return and its standard error.

    Args:
        agent_or_policy: Anything with ``predict(obs, deterministic)`` (ours or SB3's), or a
            callable ``policy(obs) -> action``.
        env: A Gymnasium env or a registered id.
        n_episodes: Number of episodes (>= 1).
        seed: Episode ``i`` is reset with ``seed + i``.
        deterministic: Passed to ``predict``.

    Returns:
        The :class:`EvalResult`.
    """
    n_episodes = check_int("n_episodes", n_episodes, low=1)
    if isinstance(env, str):
        env = gym.make(env)
    if hasattr(agent_or_policy, "predict"):

        def act(obs: Any) -> Any:
            return agent_or_policy.predict(obs, deterministic=deterministic)[0]
    elif callable(agent_or_policy):
        act: Callable[[Any], Any] = agent_or_policy  # type: ignore[no-redef]
    else:
        raise TypeError("agent_or_policy must have predict(obs, deterministic) or be callable")
    returns = np.zeros(n_episodes)
    for i in range(n_episodes):
        obs, _ = env.reset(seed=seed + i)
        done = False
        while not done:
            obs, reward, term, trunc, _ = env.step(act(obs))
            returns[i] += float(reward)
            done = term or trunc
    stderr = returns.std(ddof=1) / np.sqrt(n_episodes) if n_episodes > 1 else float("nan")
    return EvalResult(float(returns.mean()), float(stderr), returns)
