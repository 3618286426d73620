"""``crm-bench reproduce``: every paper's published numbers recomputed beside the originals.

Each row: the quantity, the computed value, the published value, their difference, the
tolerance and pass/fail. Nothing here is typed in as a computed value: every computed column
comes out of the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Check", "all_checks", "write_reproduction"]


@dataclass(frozen=True)
class Check:
    """One reproduced figure.

    Attributes:
        paper: Source.
        quantity: What is compared.
        computed: Value from the model (a number or text).
        published: The paper's value.
        tolerance: Allowed absolute difference (None: must be equal).
    """

    paper: str
    quantity: str
    computed: float | str
    published: float | str
    tolerance: float | None = None

    @property
    def passed(self) -> bool:
        """Whether the computed value matches within the tolerance."""
        if isinstance(self.computed, str) or isinstance(self.published, str):
            return self.computed == self.published
        return abs(self.computed - self.published) <= (self.tolerance or 0.0)


def _streukens() -> list[Check]:
    from crm_envs.envs.roi_allocation.presets import TABLE5, get_preset
    from crm_envs.envs.roi_allocation.solver import solve_allocation

    p, src = get_preset("streukens2011"), "Streukens et al. 2011, Table 5"
    best, budgeted = solve_allocation(p), solve_allocation(p, TABLE5["budget"])
    out = [Check(src, f"effort to maintain y{i + 1}", float(round(e)), float(pub), 0.0)
           for i, (e, pub) in enumerate(zip(p.maintenance_effort, TABLE5["maintenance_effort"],
                                            strict=True))]  # fmt: skip
    out += [
        Check(src, "optimal total effort ($; calibrated)", best.total, 42_000.0, 420.0),
        Check(src, "share to delivery (%)", 100 * best.shares[3], 16.94, 0.5),
        Check(src, "share to product quality (%)", 100 * best.shares[4], 83.06, 0.5),
        Check(src, "investment profit ($)", best.profit, 8_894.0, 88.94),
        Check(src, "ROI (%)", 100 * best.roi, 21.18, 0.5),
        Check(
            src, "$10k budget: share to product quality (%)", 100 * budgeted.shares[4], 100.0, 0.5
        ),
        Check(src, "$10k budget: profit ($)", budgeted.profit, 4_480.0, 44.8),
        Check(src, "$10k budget: ROI (%)", 100 * budgeted.roi, 44.80, 0.5),
    ]
    return out


def _mandania() -> list[Check]:
    from crm_envs.envs.promotion.plan import plan
    from crm_envs.envs.promotion.presets import get_preset

    p, src = get_preset("mandania2025_ferry"), "Mandania et al. 2025"
    m, model = p.model, p.build()
    u = model.uplift()
    rule3 = plan(u, rule=3)
    k = p.promotion_names[int(rule3.promotion[0, 0])]
    rule2 = plan(u, rule=2)
    table = u[:, :, int(rule2.promotion[0, 0]), :]
    short_for_losers = bool((rule2.duration[(table < 0).all(-1)] == 1).all())
    long_for_rest = bool((rule2.duration[table.argmax(-1) == 4] == 5).all())
    return [
        Check(src, "E[transactions in the next 5 months] given active all 6",
              float(m.conditional_expected_transactions(5, 6, 6, 6)), 3.10, 0.01),
        Check(src, "E[transactions in the next 5 months] given no repeat",
              float(m.conditional_expected_transactions(5, 0, 0, 6)), 0.03, 0.005),
        Check(src, "share with no repeat purchase (%)", 100 * float(m.pmf(0, 6)), 90.5, 0.5),
        Check(src, "rule 3 plan", f"{k}, {int(rule3.duration[0, 0])} months, all groups",
              "7% loyalty discount, 5 months, all groups"),
        Check(src, "rule 2: 1 month for loss-making groups, 5 for the rest",
              "yes" if short_for_losers and long_for_rest else "no", "yes"),
    ]  # fmt: skip


def _bonaccorso() -> list[Check]:
    import gymnasium as gym

    import crm_envs  # noqa: F401
    from agents.dp import backward_induction

    env = gym.make("crm_envs/CustomerJourney-v0").unwrapped
    sol, p, src = backward_induction(env.model()), env.params, "Bonaccorso"

    def path(start: tuple[int, int], region: int) -> str:
        cells = p.intended_journey(sol.policy, start, region)
        return " -> ".join(f"{p.layout[r][c]}{(r, c)}" for r, c in cells)

    return [
        Check(src, "optimal journey from (0,0), urban", path((0, 0), 0),
              "F(0, 0) -> P(0, 1) -> C(1, 1) -> W(2, 1) -> P(2, 2) -> S(3, 2)"),
        Check(src, "after the conference, rural", path((0, 0), 2).split(" -> ")[3], "F(1, 2)"),
        Check(src, "end of the journey from (1,13)", path((1, 13), 0).split(" -> ")[-1],
              "S(4, 14)"),
        Check(src, "end of the journey from (3,11)", path((3, 11), 0).split(" -> ")[-1],
              "S(4, 14)"),
    ]  # fmt: skip


def _fan() -> list[Check]:
    from crm_envs.envs.b2b_customer.presets import REFERENCE, TABLE4, fan2015_essay2
    from crm_envs.papers.fan2015.essay1 import essay1_pomdp, hmm_steady_state, run_essay1

    src = "Fan 2015, Essay 1 (1.4.2)"
    r = run_essay1(n_sequences=500)
    policy = "2 below / 3 above" if r.pomdp_actions == (2, 3) else f"{r.pomdp_actions}"
    p = fan2015_essay2()
    trans = p.transition_matrix(REFERENCE["spend"], tslp=REFERENCE["tslp"], maintenance=False)
    emis = p.emission_matrix(REFERENCE["spend"])
    t4 = "Fan 2015, Essay 2, Table 4 (at the reference month)"
    checks = [
        Check(src, "HMM steady-state belief at MKT 3 (scale calibrated)",
              hmm_steady_state(essay1_pomdp(), 3), 0.66, 0.005),
        Check(src, "policy (both planners)", policy, "2 below / 3 above"),
        Check(src, "average DCV, HMM", r.dcv_hmm, 83.5, 5.0),
        Check(src, "average DCV, POMDP", r.dcv_pomdp, 96.1, 5.0),
        Check(t4, "initial P(high)", p.initial_high, TABLE4["initial"][1], 0.005),
    ]  # fmt: skip
    for s, name in enumerate(("low", "high")):
        checks.append(Check(t4, f"transition {name} -> high", float(trans[s, 1]),
                            TABLE4["transition"][s][1], 0.005))  # fmt: skip
    for s, name in enumerate(("low", "high")):
        for lv in range(p.n_levels):
            checks.append(Check(t4, f"emission {name}, level {lv}", float(emis[s, lv]),
                                TABLE4["emission"][s][lv], 0.005))  # fmt: skip
    return checks


def all_checks() -> list[Check]:
    """Every reproduced figure of every paper."""
    return _streukens() + _mandania() + _bonaccorso() + _fan()


def _fmt(x: float | str) -> str:
    if isinstance(x, str):
        return x
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def write_reproduction(
    path: str | Path = "REPRODUCTION.md", checks: list[Check] | None = None
) -> Path:
    """Write the Markdown comparison.

    Args:
        path: Where to write it.
        checks: The checks to print (default: :func:`all_checks`, computed now).

    Returns:
        The path written.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: folder {path.parent} does not exist")
    checks = all_checks() if checks is None else checks
    n_pass = sum(c.passed for c in checks)
    lines = ["# Published numbers, recomputed", "",
             f"{n_pass} of {len(checks)} figures match within their tolerance "
             "(`crm-bench reproduce`).", "",
             "| paper | quantity | computed | published | difference | tolerance | match |",
             "|---|---|---|---|---:|---:|---|"]  # fmt: skip
    for c in checks:
        diff = "" if isinstance(c.computed, str) else f"{c.computed - c.published:+.4g}"
        tol = "" if c.tolerance is None else f"{c.tolerance:g}"
        lines.append(f"| {c.paper} | {c.quantity} | {_fmt(c.computed)} | {_fmt(c.published)} | "
                     f"{diff} | {tol} | {'yes' if c.passed else '**no**'} |")  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
