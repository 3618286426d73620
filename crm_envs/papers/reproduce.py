"""Every paper's published numbers, recomputed: one :class:`Check` per figure.

Each paper's package has a ``reproduce`` module whose ``checks()`` recompute its figures from
the models; nothing is typed in as a computed value. ``crm-bench reproduce``
(:mod:`benchmarks.reproduce`) writes them beside the originals.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["STATUSES", "Check", "all_checks"]


STATUSES = ("reproduced", "not reproduced", "calibrated", "calibrated, missed")
"""Verdicts of a row: a reproduction comes out of the model without being fitted to it; a
calibrated row is true by construction (a parameter was fitted to it), so it never counts as
a reproduction, and "calibrated, missed" is a calibration that does not reach its target."""


@dataclass(frozen=True)
class Check:
    """One published figure, recomputed.

    Attributes:
        paper: Source (author, year, table or section).
        quantity: What is compared.
        computed: Value from the model (a number or text).
        published: The paper's value.
        rel_tol: Allowed relative difference ``|computed - published| / |published|`` for
            numbers (0: equal); ignored for text, which must be equal.
        calibrated: None for a claim the model must reproduce; otherwise what was fitted or
            chosen to make it true (the row is then *calibrated*, never *reproduced*).
    """

    paper: str
    quantity: str
    computed: float | str
    published: float | str
    rel_tol: float = 0.0
    calibrated: str | None = None

    @property
    def rel_diff(self) -> float | None:
        """``(computed - published) / |published|`` for numbers, None for text."""
        if isinstance(self.computed, str) or isinstance(self.published, str):
            return None
        if self.published == 0:
            return 0.0 if self.computed == 0 else float("inf")
        return (self.computed - self.published) / abs(self.published)

    @property
    def passed(self) -> bool:
        """Whether the computed value matches the published one within ``rel_tol``."""
        diff = self.rel_diff
        if diff is None:
            return self.computed == self.published
        return abs(diff) <= self.rel_tol

    @property
    def status(self) -> str:
        """One of :data:`STATUSES`."""
        if self.calibrated is not None:
            return "calibrated" if self.passed else "calibrated, missed"
        return "reproduced" if self.passed else "not reproduced"


def all_checks() -> list[Check]:
    """Every reproduced figure of every paper."""
    from crm_envs.papers.bonaccorso import reproduce as bonaccorso
    from crm_envs.papers.fan2015 import reproduce as fan2015
    from crm_envs.papers.mandania2025 import reproduce as mandania2025
    from crm_envs.papers.streukens2011 import reproduce as streukens2011

    return streukens2011.checks() + mandania2025.checks() + bonaccorso.checks() + fan2015.checks()
