"""The benchmark's agents and suites, as data.

* An **agent** is an :class:`AgentSpec`: how it is built and trained, the action and observation
  spaces it supports and what else it needs of an env (an action mask, a campaign task). One
  table, :data:`AGENTS`, holds them all, ours and Stable-Baselines3's (and sb3-contrib's).
* An **env configuration** is a registered id, optionally with ``gym.make`` kwargs in brackets:
  ``"crm_envs/B2BCustomer-v1[observation=purchase]"`` (:func:`parse_config`).
* A **suite** is a :class:`Suite`: env configurations with their training budgets, and the
  agents to try. Its runs are *derived*: every agent on every configuration whose spaces it
  supports (:meth:`Suite.pairs`); the pairs it cannot run are listed with the reason. The
  harness then keeps only configurations whose headroom at the suite's evaluation budget is at
  least :attr:`Suite.min_headroom_se` standard errors (:func:`benchmarks.harness.select`).
"""

from __future__ import annotations

import difflib
import importlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

__all__ = [
    "AGENTS",
    "BANDIT_PULLS",
    "SUITES",
    "AgentSpec",
    "Suite",
    "closest",
    "make_env",
    "parse_config",
    "unsupported",
]

_BOX, _DISC, _MDISC, _MBIN = (
    gym.spaces.Box,
    gym.spaces.Discrete,
    gym.spaces.MultiDiscrete,
    gym.spaces.MultiBinary,
)
_ANY_OBS = (_BOX, _DISC, _MDISC, _MBIN)
_SB3_ON_POLICY_ACTIONS = (_BOX, _DISC, _MDISC, _MBIN)


def closest(name: str, known: Iterable[str]) -> str:
    """A hint for an unknown ``name``: the closest of ``known`` (difflib), or all of them.

    Args:
        name: The unknown name.
        known: The valid names.

    Returns:
        ``"did you mean 'x'?"`` (up to three names), or ``"known: [...]"`` when none is close.
    """
    known = sorted(set(known))

    def similarity(k: str) -> float:  # also the short form of an id ("CustomerJourney-v1")
        full = difflib.SequenceMatcher(None, name, k).ratio()
        short = difflib.SequenceMatcher(None, name.lower(), k.rsplit("/", 1)[-1].lower())
        return max(full, short.ratio())

    scored = sorted(((similarity(k), k) for k in known), reverse=True)
    hits = [k for r, k in scored[:3] if r >= 0.6 and r >= scored[0][0] - 0.05]
    if hits:
        return "did you mean " + " or ".join(repr(h) for h in hits) + "?"
    return f"known: {known}"


@dataclass(frozen=True)
class AgentSpec:
    """One agent of the benchmark.

    Attributes:
        build: How to build and train it:

            * ``"module.Class"``: one of ours, built as ``Class(env, seed=seed, **kwargs)`` and
              trained with ``.learn(budget)``;
            * ``"sb3:ALGO"`` or ``"sb3_contrib:ALGO"``: a Stable-Baselines3 (contrib) algorithm
              with its default ``MlpPolicy`` (``MlpLstmPolicy`` for ``RecurrentPPO``);
            * ``"declared:random"`` or ``"declared:reference"``: the env task's own baseline
              or reference (nothing is trained);
            * a callable ``factory(env, seed, budget) -> trained`` (the trained object has
              ``predict(obs, deterministic=True) -> (action, state)``).
        kwargs: Keyword arguments of an agent of ours (JSON-serialisable).
        actions: Action-space classes it supports (None: any).
        observations: Observation-space classes it supports (None: any).
        needs: What else it needs of the env: ``"action_mask"`` (``info["action_mask"]`` at
            every reset and step) or ``"campaign"`` (a promotion campaign task).
        description: One line for tables.
        n_envs: Copies of the env an SB3 on-policy agent trains on at once, stepped by one
            kernel call through :mod:`crm_envs.sb3` (1: a single env). ``n_steps`` in
            ``kwargs`` counts steps per copy. An env scored by regret always trains a single
            env, whose every pull is counted.
    """

    build: str | Callable[[gym.Env, int, int], Any]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    actions: tuple[type, ...] | None = None
    observations: tuple[type, ...] | None = None
    needs: tuple[str, ...] = ()
    description: str = ""
    n_envs: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.n_envs, int) or isinstance(self.n_envs, bool) or self.n_envs < 1:
            raise ValueError(f"AgentSpec.n_envs must be an int >= 1, got {self.n_envs!r}")
        if self.n_envs > 1 and not self.sb3:
            raise ValueError(
                f"AgentSpec.n_envs > 1 needs an SB3 agent (build 'sb3:...'), got {self.build!r}"
            )
        unknown = set(self.needs) - set(NEEDS)
        if unknown:
            raise ValueError(
                f"AgentSpec.needs has unknown entries {sorted(unknown)}; known: {sorted(NEEDS)}"
            )
        if isinstance(self.build, str) and ":" not in self.build and "." not in self.build:
            raise ValueError(
                f"AgentSpec.build must be 'module.Class', 'sb3:ALGO', "
                f"'sb3_contrib:ALGO', 'declared:ROLE' or a callable, "
                f"got {self.build!r}"
            )

    def requirements(self) -> tuple[tuple[type, ...] | None, tuple[type, ...] | None, tuple]:
        """``(actions, observations, needs)``; an agent of ours declares them on its class.

        For an ``agents.base.Agent`` subclass the class attributes ``action_spaces``,
        ``observation_spaces`` and ``needs`` are the one declaration (the spec's own fields
        are then ignored, except that its ``needs`` are added).
        """
        if isinstance(self.build, str) and ":" not in self.build:
            module, name = self.build.rsplit(".", 1)
            cls = getattr(importlib.import_module(module), name)
            if hasattr(cls, "action_spaces"):
                return cls.action_spaces, cls.observation_spaces, (*cls.needs, *self.needs)
        return self.actions, self.observations, self.needs

    @property
    def sb3(self) -> bool:
        """Whether the agent is an SB3 or sb3-contrib model (``build`` ``"sb3:..."``)."""
        return isinstance(self.build, str) and self.build.startswith(("sb3:", "sb3_contrib:"))

    @property
    def declared(self) -> str | None:
        """``"random"`` or ``"reference"`` for the task's declared policies, else None."""
        if isinstance(self.build, str) and self.build.startswith("declared:"):
            return self.build.split(":", 1)[1]
        return None


def _has_action_mask(env: gym.Env) -> bool:
    return "action_mask" in env.reset(seed=0)[1]


def _is_campaign(env: gym.Env) -> bool:
    return bool(getattr(env.unwrapped.task, "campaign", False))


def _is_bandit(env: gym.Env) -> bool:
    return getattr(env.unwrapped.task, "scoring", "return") == "regret"


#: What an :class:`AgentSpec` may need of an env: the test, and the sentence when it fails.
NEEDS: dict[str, tuple[Callable[[gym.Env], bool], str]] = {
    "action_mask": (_has_action_mask, "an action mask in info['action_mask']"),
    "campaign": (_is_campaign, "a PromotionCampaign env"),
    "bandit": (_is_bandit, "a bandit env (a task scored by regret)"),
}


def _ours(path: str, description: str, **kwargs: Any) -> AgentSpec:
    """An agent of ours: its spaces and needs are declared on its class (``agents.base``)."""
    return AgentSpec(path, kwargs, description=description)


#: Every agent of the benchmark, by name.
AGENTS: dict[str, AgentSpec] = {
    "random": AgentSpec("declared:random", description="the task's uniform random baseline"),
    "reference": AgentSpec("declared:reference", description="the task's declared reference"),
    "q_learning": _ours("agents.tabular.QLearning", "tabular Q-learning"),
    "double_q": _ours("agents.tabular.DoubleQLearning", "tabular double Q-learning"),
    "sarsa": _ours("agents.tabular.SARSA", "tabular SARSA"),
    "expected_sarsa": _ours("agents.tabular.ExpectedSARSA", "tabular expected SARSA"),
    "reinforce": _ours("agents.reinforce.TabularReinforce", "tabular REINFORCE"),
    "reinforce_mlp": _ours("agents.reinforce.MLPReinforce", "REINFORCE with a torch MLP"),
    "epsilon_greedy": _ours(
        "agents.bandits.EpsilonGreedy", "epsilon-greedy bandit", epsilon=0.1, alpha=None
    ),
    # The bandits' scales suit PromotionBandit-v2, whose rewards are in pounds (a pull is a
    # batch of 1,000 customers; reward s.d. about 200).
    "ucb1": _ours("agents.bandits.UCB1", "UCB1 bandit", scale=1000.0, c=0.3),
    "thompson": _ours(
        "agents.bandits.ThompsonSampling", "Gaussian Thompson sampling", sigma=200.0, prior_sd=500.0
    ),
    "campaign_learner": AgentSpec(
        "crm_envs.papers.mandania2025.learner.CampaignLearner",
        needs=("campaign",),
        description="Mandania et al. (2025)'s campaign learner",
    ),
    "ppo": AgentSpec(
        "sb3:PPO",
        kwargs={"n_steps": 256},
        actions=_SB3_ON_POLICY_ACTIONS,
        observations=_ANY_OBS,
        description="SB3 PPO on 8 copies (rollouts of 8 x 256 = 2,048 steps, as the default)",
        n_envs=8,
    ),
    "a2c": AgentSpec(
        "sb3:A2C",
        actions=_SB3_ON_POLICY_ACTIONS,
        observations=_ANY_OBS,
        description="SB3 A2C on 8 copies (8 x 5 steps per update)",
        n_envs=8,
    ),
    "dqn": AgentSpec("sb3:DQN", actions=(_DISC,), observations=_ANY_OBS, description="SB3 DQN"),
    "sac": AgentSpec("sb3:SAC", actions=(_BOX,), observations=_ANY_OBS, description="SB3 SAC"),
    "td3": AgentSpec("sb3:TD3", actions=(_BOX,), observations=_ANY_OBS, description="SB3 TD3"),
    "maskable_ppo": AgentSpec(
        "sb3_contrib:MaskablePPO",
        kwargs={"n_steps": 256},
        actions=(_DISC, _MDISC, _MBIN),
        observations=_ANY_OBS,
        needs=("action_mask",),
        description="sb3-contrib MaskablePPO on 8 copies, masked by info['action_mask']",
        n_envs=8,
    ),
    "recurrent_ppo": AgentSpec(
        "sb3_contrib:RecurrentPPO",
        # sb3-contrib's defaults (a 256-unit LSTM, 8 minibatches x 10 epochs per rollout) took
        # 22 minutes for 20,000 steps on 2 shared cores; a 64-unit LSTM and 2 x 5 passes over
        # each rollout take a few minutes and still carry a 60-month purchase history.
        kwargs={"batch_size": 512, "n_epochs": 5, "policy_kwargs": {"lstm_hidden_size": 64}},
        actions=_SB3_ON_POLICY_ACTIONS,
        observations=_ANY_OBS,
        description="sb3-contrib RecurrentPPO (64-unit LSTM policy) on 8 copies of 128 steps: "
        "memory for raw POMDP observations",
        n_envs=8,
    ),
}


def _names(types: tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in types)


def unsupported(env: gym.Env, agent: str) -> str | None:
    """Why ``agent`` cannot run on ``env``, or None when it can.

    Args:
        env: The environment (as made by ``gym.make``).
        agent: A key of :data:`AGENTS`.

    Returns:
        A sentence naming the agent, what it needs and what the env has; None if supported.

    Raises:
        ValueError: ``agent`` is not a key of :data:`AGENTS` (with the closest names).
    """
    if agent not in AGENTS:
        raise ValueError(
            f"agent must be one of {sorted(AGENTS)}, got {agent!r}; {closest(agent, AGENTS)}"
        )
    actions, observations, needs = AGENTS[agent].requirements()
    env_id = env.spec.id if env.spec else type(env.unwrapped).__name__
    if actions is not None and not isinstance(env.action_space, actions):
        return (
            f"{agent} needs a {_names(actions)} action space; {env_id} has "
            f"{type(env.action_space).__name__}"
        )
    if observations is not None and not isinstance(env.observation_space, observations):
        return (
            f"{agent} needs a {_names(observations)} observation space; {env_id} has "
            f"{type(env.observation_space).__name__}"
        )
    for need in needs:
        test, what = NEEDS[need]
        if not test(env):
            return f"{agent} needs {what}; {env_id} has none"
    return None


# --------------------------------------------------------------------------- env configs
def parse_config(config: str) -> tuple[str, dict[str, Any]]:
    """Split an env configuration ``"id[k=v,...]"`` into the id and its ``gym.make`` kwargs.

    Values are read as JSON when they parse (``3``, ``true``, ``"x"``), else kept as strings.

    Args:
        config: A registered id, optionally followed by ``[key=value,...]``.

    Returns:
        ``(env_id, kwargs)``.

    Raises:
        ValueError: Malformed brackets or a ``key=value`` item without ``=``.
    """
    if not isinstance(config, str):
        raise TypeError(f"an env configuration must be a str, got {config!r}")
    if "[" not in config:
        if "]" in config:
            raise ValueError(f"env configuration {config!r} has ']' without '['")
        return config, {}
    env_id, _, rest = config.partition("[")
    if not rest.endswith("]") or "[" in rest or "]" in rest[:-1]:
        raise ValueError(f"env configuration {config!r} must look like 'id[key=value,...]'")
    kwargs: dict[str, Any] = {}
    for item in filter(None, rest[:-1].split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"env configuration {config!r}: {item!r} is not key=value")
        try:
            kwargs[key.strip()] = json.loads(value)
        except ValueError:
            kwargs[key.strip()] = value.strip()
    return env_id, kwargs


def make_env(config: str) -> gym.Env:
    """``gym.make`` of an env configuration (see :func:`parse_config`)."""
    env_id, kwargs = parse_config(config)
    return gym.make(env_id, **kwargs)


# --------------------------------------------------------------------------- suites
@dataclass(frozen=True)
class Suite:
    """A benchmark suite: env configurations, their budgets, and the agents to try.

    Attributes:
        description: One line on what the suite is for.
        budgets: Env configuration -> ``{agent: training env steps}``; the key ``"*"`` is the
            budget of every other learning agent. The task's declared ``random`` and
            ``reference`` train nothing (budget 0), except on an env scored by regret, where
            they play the ``"*"`` budget like the learners.
        agents: The agents to try on every configuration whose spaces they support.
        seeds: Default number of seeds.
        eval_episodes: Held-out evaluation episodes per run.
        min_headroom_se: A configuration is run only if its reference beats its best naive
            baseline by at least this many standard errors at ``eval_episodes`` (for an env
            scored by regret: if uniform random's regret over the budget is that far above 0).
        exclude: ``(config, agent)`` pairs not to run although supported, e.g. a tabular agent
            on a table too big for its budget.
        episodes: Per-configuration evaluation episodes replacing ``eval_episodes`` where an
            env is noisier and needs more to show its headroom.
    """

    description: str
    budgets: Mapping[str, Mapping[str, int]]
    agents: tuple[str, ...]
    seeds: int = 5
    eval_episodes: int = 200
    min_headroom_se: float = 5.0
    exclude: frozenset[tuple[str, str]] = frozenset()
    episodes: Mapping[str, int] = field(default_factory=dict)

    def eval_episodes_of(self, config: str) -> int:
        """Evaluation episodes of ``config`` (see :attr:`episodes`)."""
        return int(self.episodes.get(config, self.eval_episodes))

    def budget(self, config: str, agent: str, regret: bool = False) -> int:
        """Training env steps of ``agent`` on ``config`` (see :attr:`budgets`)."""
        table = self.budgets[config]
        if AGENTS[agent].declared is not None:
            return int(table["*"]) if regret else 0
        return int(table.get(agent, table["*"]))

    def pairs(
        self, configs: Iterable[str] | None = None
    ) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, str]]]:
        """The derived runs and the pairs left out.

        Args:
            configs: Derive only for these of the suite's configurations (None: all).

        Returns:
            ``(runs, left_out)``: ``(config, agent, budget)`` for every agent that supports
            the configuration's spaces, and ``(config, agent, reason)`` for every other.
        """
        runs, left_out = [], []
        wanted = None if configs is None else set(configs)
        for config in self.budgets:
            if wanted is not None and config not in wanted:
                continue
            env = make_env(config)
            regret = getattr(env.unwrapped.task, "scoring", "return") == "regret"
            for agent in self.agents:
                reason = unsupported(env, agent)
                if reason is None and (config, agent) in self.exclude:
                    reason = f"excluded from this suite ({agent} on {config})"
                if reason is None:
                    runs.append((config, agent, self.budget(config, agent, regret)))
                else:
                    left_out.append((config, agent, reason))
            env.close()
        return runs, left_out


def _id(name: str, variant: str = "") -> str:
    """The newest registered id of env ``name``, with an optional variant (``"[k=v]"``).

    Suites name envs without a version, so a version bump does not leave them behind.
    """
    from crm_envs.registration import ENV_INFO

    versions = [int(i.env_id.rsplit("-v", 1)[1]) for i in ENV_INFO
                if i.env_id.rsplit("-v", 1)[0] == f"crm_envs/{name}"]  # fmt: skip
    if not versions:
        raise LookupError(f"no crm_envs/{name} is registered")
    return f"crm_envs/{name}-v{max(versions)}{variant}"


_LEARNERS = (
    "random",
    "reference",
    "q_learning",
    "double_q",
    "reinforce",
    "reinforce_mlp",
    "ucb1",
    "thompson",
    "epsilon_greedy",
    "campaign_learner",
    "ppo",
    "dqn",
    "maskable_ppo",
    "recurrent_ppo",
)

#: Evaluation episodes of the bandit. It is scored by the regret of its training run; the
#: evaluation returns are only reported beside the score, and an episode is 1,000 pulls.
_BANDIT_EPISODES = 20

#: Training pulls of every agent on the bandit, which is scored by its regret over them: four
#: of PPO's 256-step rollouts, so that SB3, which finishes its last rollout, pulls exactly as
#: often as the other agents (a budget of 1,000 gave PPO 1,024 pulls).
BANDIT_PULLS = 1_024

#: The benchmark's suites, by name.
SUITES: dict[str, Suite] = {
    "quick": Suite(
        description="every id with headroom, small budgets: minutes on 2 cores",
        budgets={
            _id("CustomerJourney"): {
                "*": 20_000,
                "q_learning": 200_000,
                "double_q": 200_000,
                "reinforce": 100_000,
            },
            _id("ROIAllocation"): {"*": 20_000},
            _id("ROIAllocationDiscrete"): {"*": 6_000},
            _id("PromotionBandit"): {"*": BANDIT_PULLS},
            _id("PromotionCampaign"): {"*": 2_000, "campaign_learner": 100},
            _id("B2BCustomer"): {"*": 12_000},
            _id("B2BCustomerEssay1"): {"*": 12_000},
        },
        agents=(
            "random",
            "reference",
            "q_learning",
            "ucb1",
            "thompson",
            "campaign_learner",
            "ppo",
            "maskable_ppo",
        ),
        seeds=2,
        episodes={_id("B2BCustomer"): 1000, _id("PromotionBandit"): _BANDIT_EPISODES},
    ),
}
_STANDARD = {  # configuration -> (budgets, the agents run on it)
    _id("CustomerJourney"): (
        {"*": 50_000, "q_learning": 200_000},
        ("q_learning", "ppo", "a2c", "maskable_ppo"),
    ),
    _id("ROIAllocation"): ({"*": 20_000, "sac": 5_000}, ("ppo", "a2c", "sac")),
    _id("ROIAllocationDiscrete"): ({"*": 20_000}, ("ppo",)),
    _id("PromotionBandit"): (
        {"*": BANDIT_PULLS},
        ("q_learning", "ucb1", "thompson", "epsilon_greedy", "ppo"),
    ),
    _id("PromotionCampaign"): ({"*": 2_000, "campaign_learner": 300}, ("campaign_learner", "ppo")),
    _id("B2BCustomer"): ({"*": 20_000}, ("ppo", "recurrent_ppo")),
    _id("B2BCustomer", "[observation=purchase]"): ({"*": 20_000}, ("ppo", "recurrent_ppo")),
    _id("B2BCustomerEssay1"): ({"*": 20_000}, ("ppo",)),
}
_STANDARD_AGENTS = tuple(dict.fromkeys(a for _, agents in _STANDARD.values() for a in agents))
SUITES["standard"] = Suite(
    description="the README's leaderboard: on every id with headroom, the tabular, bandit and "
    "SB3 (contrib) agents named for it, 5 seeds; about 8 minutes with --jobs 2 on 2 quiet cores",
    budgets={config: budgets for config, (budgets, _) in _STANDARD.items()},
    agents=("random", "reference", *_STANDARD_AGENTS),
    seeds=5,
    episodes={
        _id("B2BCustomer"): 1000,
        _id("B2BCustomer", "[observation=purchase]"): 1000,
        _id("PromotionBandit"): _BANDIT_EPISODES,
    },
    exclude=frozenset(
        (config, agent)
        for config, (_, agents) in _STANDARD.items()
        for agent in _STANDARD_AGENTS
        if agent not in agents
    ),
)
