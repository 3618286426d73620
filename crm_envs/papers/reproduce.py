"""Every paper's published numbers, recomputed: one :class:`Check` per figure.

Each paper's package has a ``reproduce`` module whose ``checks()`` recompute its figures from
the models; nothing is typed in as a computed value. ``crm-bench reproduce``
(:mod:`benchmarks.reproduce`) writes them beside the originals.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Check", "all_checks"]


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


def all_checks() -> list[Check]:
    """Every reproduced figure of every paper."""
    from crm_envs.papers.bonaccorso import reproduce as bonaccorso
    from crm_envs.papers.fan2015 import reproduce as fan2015
    from crm_envs.papers.mandania2025 import reproduce as mandania2025
    from crm_envs.papers.streukens2011 import reproduce as streukens2011

    return streukens2011.checks() + mandania2025.checks() + bonaccorso.checks() + fan2015.checks()
