"""REINFORCE (Williams 1992), the policy gradient of the journey paper, with optional baseline.

* :class:`TabularReinforce` -- a softmax policy over table rows (``Discrete`` /
  ``MultiDiscrete`` observations), in numpy. With ``baseline=True`` a state-value table,
  learned alongside, is subtracted from the return (variance reduction).
* :class:`MLPReinforce` -- a small torch MLP policy for any ``Box`` / ``Discrete`` /
  ``MultiDiscrete`` observation (one-hot encoded), updated from batches of episodes; its
  baseline is the batch's mean return at each step index.
"""

from __future__ import annotations

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


#: Adam's per-parameter state, saved by :meth:`MLPReinforce.save`.
_ADAM_KEYS = ("step", "exp_avg", "exp_avg_sq")


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


class MLPReinforce(Agent, SavableAgent):
    """REINFORCE with a torch MLP softmax policy over ``Discrete`` actions.

    :meth:`save` and :meth:`load` are :class:`~agents.common.SavableAgent`'s, as for every
    agent: one ``.npz`` archive with the class name, the config and, as float32 numpy arrays,
    the network's weights and Adam's moments (no torch pickle). A loaded agent predicts
    exactly as the saved one (its weights are bit for bit the same); the random generator
    of its action draws and ``num_timesteps`` are not saved.

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

    def _saved_arrays(self) -> dict[str, NDArray[Any]]:
        """The network's weights and Adam's state, as float32 numpy arrays.

        Entries: ``net.<name>`` for every tensor of the network's state dict (e.g.
        ``net.0.weight``), and ``adam.<name>.step`` / ``.exp_avg`` / ``.exp_avg_sq`` for
        every parameter (zeros before the first update: what a fresh Adam starts from).
        """
        out = {f"net.{k}": v.detach().numpy().copy() for k, v in self.net.state_dict().items()}
        for name, p in self.net.named_parameters():
            state = self.opt.state.get(p, {})
            for key in _ADAM_KEYS:
                value = state.get(key)
                zero = np.zeros((), np.float32) if key == "step" else np.zeros(p.shape, np.float32)
                out[f"adam.{name}.{key}"] = zero if value is None else value.detach().numpy().copy()
        return out

    def _check_loaded(self, file: Path, name: str, arr: NDArray[Any], current: NDArray[Any]):
        """The common checks, and: Adam's step counts are whole numbers, its second moments >= 0."""
        super()._check_loaded(file, name, arr, current)
        if name.endswith((".step", ".exp_avg_sq")) and arr.size and arr.min() < 0:
            raise ValueError(f"{file}: saved {name} must be >= 0, found {arr.min()}")
        if name.endswith(".step") and arr != np.round(arr):
            raise ValueError(f"{file}: saved {name} must be a whole number of steps, found {arr}")

    def _restore_arrays(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Load the checked arrays into the network and into Adam."""
        import torch

        state = {k.removeprefix("net."): torch.from_numpy(a.copy())
                 for k, a in arrays.items() if k.startswith("net.")}  # fmt: skip
        self.net.load_state_dict(state)
        opt = self.opt.state_dict()
        opt["state"] = {
            i: {key: torch.from_numpy(arrays[f"adam.{name}.{key}"].copy()) for key in _ADAM_KEYS}
            for i, (name, _) in enumerate(self.net.named_parameters())
        }
        self.opt.load_state_dict(opt)
