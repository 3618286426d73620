"""crm-bench reproduce: the published numbers the suite reproduces, and the committed file."""

from pathlib import Path

import pytest

from benchmarks.reproduce import write_reproduction
from crm_envs.papers.reproduce import all_checks

ROOT = Path(__file__).resolve().parents[2]

# A committed number may differ from a fresh run by the rounding of its printed form plus this
# relative amount: floating-point results differ between CPUs and library versions.
REL_TOL = 1e-6


def test_every_figure_matches_except_fans_essay1_example():
    checks = all_checks()
    reproduced = [c for c in checks if not c.paper.startswith("Fan 2015, Essay 1")]
    # 15 Streukens, 5 Mandania, 4 Bonaccorso, 13 Fan Table 4 (initial, 2 transitions, 10
    # emissions).
    assert len(reproduced) == 37
    failed = [(c.paper, c.quantity, c.computed, c.published) for c in reproduced if not c.passed]
    assert failed == []
    # Essay 1's example is reported as it comes out (the text leaves constants open).
    assert sum(c.paper.startswith("Fan 2015, Essay 1") for c in checks) == 4


def _table_rows(text: str) -> list[list[str]]:
    """The cells of every data row of the Markdown table (header and rule skipped)."""
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]


def _number(cell: str) -> tuple[float, float]:
    """A printed number and half a unit of its last printed digit (its rounding)."""
    digits = cell.replace(",", "").lstrip("+")
    mantissa, _, exponent = digits.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    half_unit = 0.5 * 10.0 ** (int(exponent or 0) - decimals)
    return float(digits), half_unit


def _close(cell: str, value: float) -> bool:
    printed, half_unit = _number(cell)
    return abs(printed - value) <= half_unit + REL_TOL * max(abs(value), 1e-12)


def _same_file(committed: str, fresh: str, checks: list) -> list[str]:
    """Every disagreement of a REPRODUCTION.md text with ``fresh`` (made from ``checks``)."""
    problems = []
    if committed.splitlines()[2] != fresh.splitlines()[2]:  # "N of M figures match ..."
        problems.append(f"summary: {committed.splitlines()[2]!r} vs {fresh.splitlines()[2]!r}")
    old, new = _table_rows(committed), _table_rows(fresh)
    if len(old) != len(new):
        return [*problems, f"{len(old)} rows committed, {len(new)} computed"]
    for row, (a, b) in enumerate(zip(old, new, strict=True)):
        # paper, quantity, published, tolerance and match are inputs or verdicts: equal text.
        for col in (0, 1, 3, 5, 6):
            if a[col] != b[col]:
                problems.append(f"row {row}, column {col}: {a[col]!r} vs {b[col]!r}")
        computed = next(c for c in checks if (c.paper, c.quantity) == (b[0], b[1]))
        if isinstance(computed.computed, str):
            if a[2] != b[2]:
                problems.append(f"row {row}, computed: {a[2]!r} vs {b[2]!r}")
            continue
        if not _close(a[2], computed.computed):
            problems.append(f"row {row}, computed: {a[2]} vs {computed.computed!r}")
        diff = computed.computed - computed.published
        printed, half_unit = _number(a[4])
        scale = max(abs(computed.computed), abs(computed.published), 1.0)
        if abs(printed - diff) > half_unit + REL_TOL * scale:
            problems.append(f"row {row}, difference: {a[4]} vs {diff!r}")
    return problems


def test_committed_reproduction_file_is_current(tmp_path):
    checks = all_checks()
    fresh = write_reproduction(tmp_path / "R.md", checks).read_text()
    assert _same_file((ROOT / "REPRODUCTION.md").read_text(), fresh, checks) == []


def test_file_comparison_ignores_rounding_noise_but_not_real_changes(tmp_path):
    checks = all_checks()
    fresh = write_reproduction(tmp_path / "R.md", checks).read_text()
    # The fresh-clone failure of issue 13: a difference of 1e-10 printed with other digits.
    noisy = fresh.replace("| +0 |", "| +3.519e-10 |", 1)
    assert noisy != fresh
    assert _same_file(noisy, fresh, checks) == []
    # A computed value that moved beyond its printed precision is caught.
    rows = _table_rows(fresh)
    numeric = next(r for r in rows if r[2][0].isdigit() and "," in r[2])
    moved = fresh.replace(f"| {numeric[2]} |", f"| {numeric[2]}1 |", 1)
    assert _same_file(moved, fresh, checks)
    # A verdict that flipped is caught.
    flipped = fresh.replace("| yes |", "| **no** |", 1)
    assert _same_file(flipped, fresh, checks)


def test_missing_folder_is_refused_before_computing(monkeypatch, tmp_path):
    import benchmarks.reproduce as reproduce

    monkeypatch.setattr(reproduce, "all_checks", lambda: pytest.fail("computed first"))
    with pytest.raises(ValueError, match="does not exist"):
        reproduce.write_reproduction(tmp_path / "missing" / "R.md")
