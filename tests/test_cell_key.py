"""Cell key perturbation (issue 19, item 7): the same people give the same noise in every
table, the noise is unbiased, and differencing overlapping tables recovers no small count
(where suppression alone lets it)."""

from __future__ import annotations

import random

from joinedup.disclosure.cellkey import (
    KEY_RANGE,
    cell_key,
    perturb,
    perturb_cells,
    perturbation,
    record_key,
)
from joinedup.disclosure.policy import SUPPRESSED, DisclosurePolicy

SECRET = b"partnership-secret-for-the-test-0123456789"
POLICY = DisclosurePolicy(threshold=5)


def _published(units: set[str]) -> int | str:
    return perturb(len(units), cell_key(record_key(SECRET, u) for u in units), POLICY)


def _preimages(most: int = 300) -> dict[object, set[int]]:
    """For each published value, the true counts some cell key publishes as it: all a
    reader who knows the method (but no record key) can infer from one figure."""
    out: dict[object, set[int]] = {}
    for n in range(most + 1):
        for ck in range(KEY_RANGE) if n else (0,):
            out.setdefault(perturb(n, ck, POLICY), set()).add(n)
    return out


def test_same_people_same_figure_in_every_table() -> None:
    people = {f"P{i:05d}" for i in range(37)}
    first = _published(people)
    # another table, another order, another release: the same units, the same figure
    again: set[str] = set()
    for p in sorted(people, reverse=True):
        again.add(p)
    assert _published(again) == first
    assert record_key(SECRET, "P00001") == record_key(SECRET, "P00001")
    assert record_key(SECRET, "P00001") != record_key(b"another-secret-0123456789abcdef", "P00001")
    shown = perturb_cells({"a": (37, 3), "b": (0, 0), "c": (3, 200)}, POLICY)
    assert shown["b"] == 0  # zero stays zero
    assert shown["c"] in (SUPPRESSED, 0)  # a small count is never shown as itself
    assert isinstance(shown["a"], int) and shown["a"] % 5 == 0


def test_noise_is_unbiased_and_small() -> None:
    for n in range(1, 760):
        noise = [perturbation(n, ck) for ck in range(KEY_RANGE)]
        assert max(abs(x) for x in noise) <= 4
        assert abs(sum(noise) / KEY_RANGE) < 0.02  # expected published value = the count


def test_differencing_overlapping_tables_recovers_no_small_count() -> None:
    rng = random.Random(19)
    people = [f"P{i:05d}" for i in range(5000)]
    pre = _preimages()
    pinned_ck = pinned_suppression = attacks = 0
    for _ in range(2000):
        a = set(rng.sample(people, rng.randint(6, 150)))
        extra = rng.randint(1, POLICY.threshold)  # the small count an attacker wants
        b = a | set(rng.sample([p for p in people if p not in a], extra))
        attacks += 1
        # suppression alone publishes both (both are above the threshold): exact difference
        if len(b) - len(a) == extra:
            pinned_suppression += 1
        pa, pb = _published(a), _published(b)
        candidates = {y - x for x in pre[pa] for y in pre[pb] if 1 <= y - x <= POLICY.threshold}
        assert extra in candidates  # the method is consistent with the truth
        if len(candidates) == 1:
            pinned_ck += 1
    assert pinned_suppression == attacks  # the attack works on unperturbed counts
    assert pinned_ck == 0  # and never on perturbed ones
