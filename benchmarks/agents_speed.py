"""Speed of the agents' inner loops, as ratios against references measured in the same run.

* Q-learning updates per second on CustomerJourney transitions: numba (``td_replay``) vs a
  straightforward pure-Python Q-learning loop over the same transitions.
* One value-iteration sweep on a dense random MDP (default 1,000 states x 5 actions):
  ``agents.dp`` (numba) vs a NumPy matrix-product sweep ``max_a (R + gamma P V)``.
* Q-learning updates per second on every id the tabular agents take: their numba backend
  (the env's kernel stepped inside the compiled training loop) vs their Gymnasium backend
  (``env.step`` from Python), same agent and seed.
* SB3's PPO on N copies of an env: env-steps per second through :mod:`crm_envs.sb3` (one
  kernel call per step of all copies) vs SB3's ``DummyVecEnv`` of N single envs, for whole
  training (rollouts and gradient updates) and for the rollouts alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

__all__ = [
    "SpeedResult",
    "format_speed",
    "ppo_speed",
    "q_learning_speed",
    "tabular_speed",
    "value_iteration_speed",
]


@dataclass(frozen=True)
class SpeedResult:
    """One comparison: ours vs the reference (rates in operations per second)."""

    name: str
    ours: float
    reference: float
    unit: str

    @property
    def ratio(self) -> float:
        """Return ours / reference."""
        return self.ours / self.reference


def _best(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def q_learning_speed(n_journeys: int = 50_000, repeats: int = 3, seed: int = 0) -> SpeedResult:
    """Q-learning updates per second, numba vs pure Python, on logged journey transitions.

    Both apply the textbook update with a constant step 0.1 and gamma = 1 to the same
    transitions (random-policy journeys logged by ``simulate_journeys``).
    """
    from agents.tabular import Q_LEARNING, td_replay
    from crm_envs.envs.customer_journey import get_preset
    from crm_envs.papers.bonaccorso.fit import simulate_journeys

    params = get_preset("bonaccorso")
    log = simulate_journeys(params, n_journeys, None, seed=seed)
    k = params.n_regions
    s = (log.cell * k + log.region) * 11 + log.t
    s2 = (log.next_cell * k + log.region) * 11 + log.t + 1
    a, r = log.action, log.rho * 0.75**log.t + log.con * 0.15**log.t
    done = log.terminated
    n_s = params.n_cells * k * 11
    q = np.zeros((n_s, 4))
    td_replay(Q_LEARNING, q, q.copy(), np.zeros_like(q), s, a, r, s2, done, 1.0, 0.1, 0.0, 0.0)

    def ours() -> None:
        q[:] = 0.0
        td_replay(Q_LEARNING, q, q.copy(), np.zeros_like(q), s, a, r, s2, done, 1.0, 0.1, 0.0,
                  0.0)  # fmt: skip

    sl, al, rl, s2l, dl = (x.tolist() for x in (s, a, r, s2, done))

    def python() -> None:
        qp = [[0.0] * 4 for _ in range(n_s)]
        cnt = [[0.0] * 4 for _ in range(n_s)]
        for i in range(len(sl)):
            si, ai = sl[i], al[i]
            cnt[si][ai] += 1.0
            target = rl[i] if dl[i] else rl[i] + max(qp[s2l[i]])
            qp[si][ai] += 0.1 * (target - qp[si][ai])

    n = len(sl)
    return SpeedResult("Q-learning updates (CustomerJourney transitions)", n / _best(ours, repeats),
                       n / _best(python, 1), "updates/s")  # fmt: skip


def value_iteration_speed(n_states: int = 1000, n_actions: int = 5, repeats: int = 5,
                          seed: int = 0) -> SpeedResult:  # fmt: skip
    """Value-iteration sweeps per second: agents.dp's numba sweep vs a NumPy sweep."""
    from agents.dp import _bellman

    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(n_states) * 0.1, size=(n_actions, n_states))
    r = rng.normal(size=(n_actions, n_states))
    v = rng.normal(size=n_states)
    q, v_out, pi = np.zeros((n_states, n_actions)), np.zeros(n_states), np.zeros(n_states, np.int64)
    _bellman(p, r, 0.95, v, q, v_out, pi)

    def numpy_sweep() -> None:
        (r + 0.95 * (p @ v)).max(axis=0)

    ours = _best(lambda: _bellman(p, r, 0.95, v, q, v_out, pi), repeats)
    ref = _best(numpy_sweep, repeats)
    return SpeedResult(f"value-iteration sweep ({n_states} states x {n_actions} actions)",
                       1.0 / ours, 1.0 / ref, "sweeps/s")  # fmt: skip


def ppo_speed(
    env_id: str = "crm_envs/CustomerJourney-v1",
    n_envs: int = 16,
    steps: int = 8192,
    repeats: int = 2,
    seed: int = 0,
) -> list[SpeedResult]:
    """PPO env-steps per second on our SB3 adapter vs ``DummyVecEnv``, same N, same run.

    Args:
        env_id: A registered id.
        n_envs: Copies N (PPO's ``n_steps`` is ``2048 // N``, so a rollout has 2,048 steps).
        steps: Env steps of training per repeat.
        repeats: Repeats; the best is kept.
        seed: Seed of the envs and of PPO.

    Returns:
        Two results: whole training, and the rollouts alone (``collect_rollouts``).
    """
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from crm_envs.sb3 import make_sb3_vec_env

    torch.set_num_threads(1)
    n_steps = max(2, 2048 // n_envs)
    makers = {
        "ours": lambda: make_sb3_vec_env(env_id, n_envs, seed=seed),
        "reference": lambda: DummyVecEnv([lambda: gym.make(env_id)] * n_envs),
    }
    train, roll = {}, {}
    for name, make in makers.items():
        model = PPO("MlpPolicy", make(), n_steps=n_steps, seed=seed, device="cpu")
        train[name] = steps / _best(lambda m=model: m.learn(steps), repeats)
        model._setup_learn(steps)  # a fresh last observation for the rollout alone

        def rollout(m: PPO = model) -> None:
            m.collect_rollouts(m.env, m._init_callback(None), m.rollout_buffer, n_steps)

        roll[name] = n_steps * n_envs / _best(rollout, repeats)
    label = f"{env_id.split('/')[-1]}, N = {n_envs}: crm_envs.sb3 vs DummyVecEnv"
    return [
        SpeedResult(f"PPO training, {label}", train["ours"], train["reference"], "env-steps/s"),
        SpeedResult(f"PPO rollouts, {label}", roll["ours"], roll["reference"], "env-steps/s"),
    ]


class _GymnasiumLoop(gym.Wrapper):  # type: ignore[type-arg]
    """A pass-through wrapper that sends the tabular agents to their Gymnasium backend.

    It changes nothing, but the agents do not know it, so they train through ``env.step``:
    the reference loop.
    """


def tabular_speed(steps: int = 200_000, repeats: int = 3, seed: int = 0) -> list[SpeedResult]:
    """Q-learning updates per second on every id the tabular agents take, per id.

    The same :class:`~agents.tabular.QLearning` trains on ``gym.make(id)`` with its numba
    backend (the env's serial kernel stepped inside the agent's compiled loop) and, for the
    reference, through a pass-through wrapper that sends it to its Gymnasium backend
    (``env.step`` from Python). Both learn the same table from the same seed; an id whose
    spaces the tabular agents do not take (Box observations or actions) has no row.

    Args:
        steps: Env steps (one update each) per repeat; the reference runs a tenth of them.
        repeats: Repeats; the best is kept.
        seed: Seed of the agents and envs.

    Returns:
        One result per id, in registration order.
    """
    from agents.tabular import QLearning, select_backend
    from crm_envs.registration import ENV_INFO

    results = []
    for info in ENV_INFO:
        env = gym.make(info.env_id)
        if not isinstance(env.action_space, QLearning.action_spaces) or not isinstance(
            env.observation_space, QLearning.observation_spaces
        ):
            continue
        if select_backend(env)[0] != "numba":  # pragma: no cover - every such id has a kernel
            raise RuntimeError(f"{info.env_id}: {select_backend(env)[1]}")
        rates = {}
        loops = (("numba", env, steps), ("gymnasium", _GymnasiumLoop(env), max(1, steps // 10)))
        for name, target, n in loops:

            def learn(name: str = name, target: gym.Env = target, n: int = n) -> None:
                agent = QLearning(target, seed=seed)
                agent.learn(n)
                if agent.backend != name:  # pragma: no cover - select_backend's rule
                    raise RuntimeError(f"{name} loop expected, {agent.backend} ran")

            learn()  # compile and warm up
            rates[name] = n / _best(learn, repeats)
        label = f"Q-learning updates, {info.env_id.split('/')[-1]}: numba vs Gymnasium loop"
        results.append(SpeedResult(label, rates["numba"], rates["gymnasium"], "updates/s"))
    return results


def format_speed(results: list[SpeedResult]) -> str:
    """Markdown table of the comparisons."""
    lines = ["| loop | ours | reference | ratio |", "|---|---:|---:|---:|"]
    for x in results:
        lines.append(f"| {x.name} | {x.ours:,.0f} {x.unit} | {x.reference:,.0f} {x.unit} | "
                     f"{x.ratio:.2f} |")  # fmt: skip
    return "\n".join(lines)
