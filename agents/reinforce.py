"""REINFORCE (Williams 1992), the policy gradient of the journey paper, with optional baseline.

* :class:`TabularReinforce` -- a softmax policy over table rows (``Discrete`` /
  ``MultiDiscrete`` observations), in numpy. With ``baseline=True`` a state-value table,
  learned alongside, is subtracted from the return (variance reduction).
* :class:`MLPReinforce` -- a small torch MLP policy for any ``Box`` / ``Discrete`` /
  ``MultiDiscrete`` observation (one-hot encoded), updated from batches of episodes; its
  baseline is the batch's mean return at each step index.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from tqdm.auto import tqdm

from agents.base import Agent
from agents.common import (
    ObsIndexer,
    SavableAgent,
    check_field,
    check_observation,
    check_reward,
    check_seed,
)
from crm_envs.core.params import check_bool, check_int, check_scalar

__all__ = ["MLPReinforce", "ReinforceConfig", "TabularReinforce"]


@dataclass(frozen=True)
class ReinforceConfig:
    """Configuration of the REINFORCE agents.

    Every field is checked when the config is built: a wrong type raises ``TypeError``, NaN,
    an infinity or a value outside the stated range raises ``ValueError``.

    Attributes:
        gamma: Discount factor of the returns, in [0, 1].
        lr: Step size of the policy parameters (tabular) or Adam's learning rate (MLP);
            finite and > 0.
        baseline: Subtract a baseline from the returns (True or False).
        baseline_lr: Step size in (0, 1] of the tabular state-value baseline (a running
            average of the returns: a step above 1 overshoots them).
        batch_episodes: Episodes per update (MLP), an integer >= 1.
        hidden: Width of the MLP's two hidden layers, an integer >= 1.
        seed: Seed in [0, 2**32 - 1] of the action draws, the network and the env's first
            reset.
    """

    gamma: float = 1.0
    lr: float = 0.2
    baseline: bool = True
    baseline_lr: float = 0.1
    batch_episodes: int = 32
    hidden: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        check_field(self, "gamma", check_scalar, low=0.0, high=1.0)
        check_field(self, "lr", check_scalar, low=0.0, low_open=True)
        check_field(self, "baseline", check_bool)
        check_field(self, "baseline_lr", check_scalar, low=0.0, high=1.0, low_open=True)
        check_field(self, "batch_episodes", check_int, low=1)
        check_field(self, "hidden", check_int, low=1)
        check_field(self, "seed", check_seed)


def _returns(rewards: list[float], gamma: float) -> NDArray[np.float64]:
    out = np.zeros(len(rewards))
    acc = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        acc = rewards[t] + gamma * acc
        out[t] = acc
    return out


class TabularReinforce(Agent, SavableAgent):
    """REINFORCE with a tabular softmax policy ``pi(a|s) ∝ exp(theta[s, a])``.

    Args:
        env: Env with ``Discrete``/``MultiDiscrete`` observations and ``Discrete`` actions.
        **config: :class:`ReinforceConfig` fields.
    """

    _arrays = ("theta", "value")
    config_class = ReinforceConfig
    action_spaces = (gym.spaces.Discrete,)
    observation_spaces = (gym.spaces.Discrete, gym.spaces.MultiDiscrete)

    def __init__(self, env: gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.indexer = ObsIndexer(env.observation_space)
        self.theta = np.zeros((self.indexer.n, int(env.action_space.n)))
        self.value = np.zeros(self.indexer.n)

    def _pi(self, s: int) -> NDArray[np.float64]:
        z = np.exp(self.theta[s] - self.theta[s].max())
        return z / z.sum()

    def _learn(self, obs: Any, total: int, bar: tqdm, stop: Callable[[dict], bool]) -> int:
        """Whole episodes until ``total`` env steps; the callback runs after each episode."""
        c = self.config
        steps = 0
        while steps < total:
            states, actions, rewards = [], [], []
            done = False
            while not done:
                s = self.indexer(obs)
                a = int(self.rng.choice(self.theta.shape[1], p=self._pi(s)))
                obs, r, term, trunc, _ = self.env.step(a)
                states.append(s)
                actions.append(a)
                rewards.append(check_reward(r, type(self).__name__))
                done = term or trunc
            steps += len(rewards)
            bar.update(len(rewards))
            g = _returns(rewards, c.gamma)
            for t, (s, a) in enumerate(zip(states, actions, strict=True)):
                adv = g[t] - (self.value[s] if c.baseline else 0.0)
                if c.baseline:
                    self.value[s] += c.baseline_lr * (g[t] - self.value[s])
                grad = -self._pi(s)
                grad[a] += 1.0
                self.theta[s] += c.lr * (c.gamma**t) * adv * grad
            self._returns.append(float(sum(rewards)))
            if stop(locals()):
                break
            obs, _ = self.env.reset()
        return steps

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[int, None]:
        """Most probable action (or a draw from the policy when not deterministic)."""
        s = self.indexer(obs)
        if deterministic:
            return int(np.argmax(self.theta[s])), None
        return int(self.rng.choice(self.theta.shape[1], p=self._pi(s))), None


def _encoder(space: gym.Space[Any]):
    """(feature size, function obs -> float32 feature vector) for an observation space."""
    if isinstance(space, gym.spaces.Box):
        return int(np.prod(space.shape)), lambda o: np.asarray(o, np.float32).ravel()
    if isinstance(space, gym.spaces.Discrete):
        n = int(space.n)
        return n, lambda o: np.eye(n, dtype=np.float32)[int(o)]
    if isinstance(space, gym.spaces.MultiDiscrete):
        nvec = space.nvec.astype(int)
        offs = np.r_[0, np.cumsum(nvec)[:-1]]

        def enc(o: Any) -> NDArray[np.float32]:
            out = np.zeros(int(nvec.sum()), np.float32)
            out[offs + np.asarray(o, dtype=int)] = 1.0
            return out

        return int(nvec.sum()), enc
    raise TypeError(
        f"MLPReinforce supports Box, Discrete and MultiDiscrete observations, got {space}"
    )


class MLPReinforce(Agent):
    """REINFORCE with a torch MLP softmax policy over ``Discrete`` actions.

    Args:
        env: Env with ``Box``/``Discrete``/``MultiDiscrete`` observations, ``Discrete`` actions.
        **config: :class:`ReinforceConfig` fields (``lr`` is Adam's learning rate).
    """

    config_class = ReinforceConfig
    action_spaces = (gym.spaces.Discrete,)
    observation_spaces = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete)

    def __init__(self, env: gym.Env, **config: Any) -> None:
        import torch

        config.setdefault("lr", 0.01)
        super().__init__(env, **config)
        self.space = env.observation_space
        n_in, self.encode = _encoder(env.observation_space)
        torch.manual_seed(self.config.seed)
        h = self.config.hidden
        self.net = torch.nn.Sequential(
            torch.nn.Linear(n_in, h), torch.nn.Tanh(), torch.nn.Linear(h, h), torch.nn.Tanh(),
            torch.nn.Linear(h, int(env.action_space.n)),
        )  # fmt: skip
        self.opt = torch.optim.Adam(self.net.parameters(), lr=self.config.lr)
        self.gen = torch.Generator().manual_seed(self.config.seed)

    def _check(self, obs: Any) -> NDArray[np.float32]:
        check_observation(self.space, obs)
        return self.encode(obs)

    def _learn(self, obs: Any, total: int, bar: tqdm, stop: Callable[[dict], bool]) -> int:
        """Batches of whole episodes until ``total`` env steps; the callback runs per batch."""
        import torch

        c = self.config
        steps = 0
        while steps < total:
            feats, acts, rets, step_idx = [], [], [], []
            for _ in range(c.batch_episodes):
                rewards = []
                done = False
                t = 0
                while not done:
                    x = self.encode(obs)
                    with torch.no_grad():
                        logits = self.net(torch.from_numpy(x))
                    a = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=self.gen))
                    obs, r, term, trunc, _ = self.env.step(a)
                    feats.append(x)
                    acts.append(a)
                    step_idx.append(t)
                    rewards.append(check_reward(r, type(self).__name__))
                    done = term or trunc
                    t += 1
                rets.extend(_returns(rewards, c.gamma))
                self._returns.append(float(sum(rewards)))
                steps += len(rewards)
                bar.update(len(rewards))
                obs, _ = self.env.reset()
            g = np.array(rets)
            idx = np.array(step_idx)
            if c.baseline:  # mean return of the batch at the same step index
                base = np.zeros_like(g)
                for t in np.unique(idx):
                    base[idx == t] = g[idx == t].mean()
                g = g - base
            logp = torch.log_softmax(self.net(torch.from_numpy(np.stack(feats))), -1)
            chosen = logp[torch.arange(len(acts)), torch.as_tensor(acts)]
            weight = torch.as_tensor(g * c.gamma**idx, dtype=torch.float32)
            loss = -(chosen * weight).sum() / c.batch_episodes
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            if stop(locals()):
                break
        return steps

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[int, None]:
        """Most probable action (or a draw from the policy when not deterministic)."""
        import torch

        x = torch.from_numpy(self._check(obs))
        with torch.no_grad():
            logits = self.net(x)
        if deterministic:
            return int(torch.argmax(logits)), None
        return int(torch.multinomial(torch.softmax(logits, -1), 1, generator=self.gen)), None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the network's weights (``torch.save`` of the state dict) to exactly ``path``.

        Args:
            path: Target file (no suffix is added; :meth:`load` reads the same path).

        Returns:
            The path written.
        """
        import torch

        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {path!r}")
        torch.save(self.net.state_dict(), path)
        return Path(os.fspath(path))

    def load(self, path: str | os.PathLike[str]) -> MLPReinforce:
        """Load weights saved by :meth:`save`; returns self.

        Args:
            path: The file given to :meth:`save`.

        Raises:
            FileNotFoundError: If ``path`` is not a file.
            ValueError: If it is not a torch file of this network's state dict (the same
                parameter names and shapes, i.e. the same ``hidden`` and spaces) holding
                finite floats; the network is then left unchanged.
        """
        import torch

        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {path!r}")
        file = Path(os.fspath(path))
        if not file.is_file():
            raise FileNotFoundError(f"no saved MLPReinforce weights at {file}")
        mine = self.net.state_dict()
        expected = (
            "an MLPReinforce.save() file (torch state dict with "
            f"{ {k: tuple(v.shape) for k, v in mine.items()} })"
        )
        try:
            state = torch.load(file, weights_only=True)
        except Exception as exc:  # torch raises many types for a file it cannot read
            raise ValueError(
                f"{file} is not a readable torch file ({type(exc).__name__}); expected {expected}"
            ) from None
        if not isinstance(state, dict) or set(state) != set(mine):
            keys = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{file} holds {keys}; expected {expected}")
        for k, v in mine.items():
            got = state[k]
            if not isinstance(got, torch.Tensor) or got.shape != v.shape or got.dtype != v.dtype:
                desc = (tuple(got.shape), got.dtype) if isinstance(got, torch.Tensor) else got
                raise ValueError(
                    f"{file}: saved {k} is {desc}, expected {(tuple(v.shape), v.dtype)} "
                    "(a network for other spaces or another hidden size?)"
                )
            if not bool(torch.isfinite(got).all()):
                raise ValueError(f"{file}: saved {k} holds NaN or infinite weights")
        self.net.load_state_dict(state)
        return self
