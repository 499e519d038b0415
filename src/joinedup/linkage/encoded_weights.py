"""Match weights for encoded records, estimated from the encodings at the hub.

A pair of encoded records is compared field by field: each field's Dice coefficient falls
into a *level* (:data:`COMPARISONS`), and each level has an ``m`` probability (how often
records of one person reach it) and a ``u`` probability (how often records of two people
reach it by chance). The weight of a level is ``log2(m / u)`` (Fellegi-Sunter), as in
Splink. The hub holds no key, but it needs none to estimate these:

- **u, by random sampling**: Dice levels of random pairs of records. Two records of one
  person drawn by chance would count as chance agreement (with ten records a person, one
  random pair in about 1,500 is one person, as often as two strangers share a date of
  birth), so each field's ``u`` is counted on random pairs that *disagree* on another
  field: their dates of birth (or, for the date of birth, their names).
- **m, by expectation maximisation** over the candidate pairs, with ``u`` fixed, in two
  sessions as Splink trains: the pairs with equal dates of birth estimate every other
  field, the pairs with equal forenames estimate the date of birth (a field a session
  selects on tells nothing within it, so it is left out of that session). A Dirichlet
  prior of :data:`PRIOR_PAIRS` pairs at the default ``m`` keeps small partnerships near
  the defaults.
- **term frequencies**: two equal encodings are an equal value, so how common a name is
  can be counted without the key. An equal forename or surname weighs
  ``log2(m / f)``, ``f`` the share of distinct (name, date of birth) encodings with that
  name (a person with many records counts once), instead of ``log2(m / u)``.

With too few records or pairs, the defaults (:data:`COMPARISONS`: ``m0`` and ``u0``) are
the weights: the same for every partnership, as before any data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from joinedup.linkage.encoded import dice

__all__ = [
    "COMPARISONS",
    "PRIOR_PAIRS",
    "U_SAMPLE",
    "Comparison",
    "EncodedWeights",
    "default_weights",
    "estimate_weights",
    "field_levels",
    "level_weights",
]

Levels = dict[str, npt.NDArray[np.int64]]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Comparison:
    """One compared field: Dice thresholds from the highest level down (a pair below every
    threshold is in the last level), with default m and u probabilities per level."""

    name: str
    least: tuple[float, ...]
    m0: tuple[float, ...]
    u0: tuple[float, ...]
    #: a level met by another encoding instead: (that field, the level), its threshold
    #: applying to that field's Dice (a shared nickname group; a day and month swapped)
    alternative: tuple[str, int] | None = None
    #: weigh an equal value by its frequency (names)
    term_frequency: bool = False

    @property
    def count(self) -> int:
        return len(self.least) + 1


#: Every compared field. The defaults are generic (the weights a partnership gets before
#: its data say otherwise, about those of the fixed weights used before): an equal
#: forename 0.85 / 0.01 (+6.4 bits), an equal date of birth 0.93 / 0.001 (+9.9), a day
#: and month swapped 0.01 / 0.0001 (+6.6), and so on.
COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "forename",
        least=(0.99, 0.9, 0.8, 0.3, 0.7, 0.55, 0.4),
        m0=(0.85, 0.04, 0.03, 0.02, 0.02, 0.01, 0.01, 0.02),
        u0=(0.01, 0.001, 0.002, 0.005, 0.005, 0.01, 0.05, 0.917),
        alternative=("forename_groups", 3),
        term_frequency=True,
    ),
    Comparison(
        "surname",
        least=(0.99, 0.9, 0.8, 0.7, 0.55, 0.4),
        m0=(0.88, 0.04, 0.02, 0.01, 0.01, 0.01, 0.03),
        u0=(0.005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.927),
        term_frequency=True,
    ),
    Comparison(
        "dob",
        least=(0.99, 0.99, 0.55, 0.4),
        m0=(0.93, 0.01, 0.03, 0.01, 0.02),
        u0=(0.001, 0.0001, 0.01, 0.03, 0.9589),
        alternative=("dob_unordered", 1),
    ),
    Comparison("sex", least=(0.99,), m0=(0.96, 0.04), u0=(0.5, 0.5)),
    Comparison(
        "postcode",
        least=(0.99, 0.8, 0.6),
        m0=(0.7, 0.05, 0.05, 0.2),
        u0=(0.01, 0.005, 0.02, 0.965),
    ),
    Comparison("district", least=(0.99,), m0=(0.9, 0.1), u0=(0.3, 0.7)),
)
_BY_NAME = {c.name: c for c in COMPARISONS}
#: Random pairs drawn to estimate u.
U_SAMPLE = 200_000
#: Weight, in pairs, of the default m in the m estimate (a Dirichlet prior).
PRIOR_PAIRS = 20.0
#: Weight, in pairs, of the default u in the u estimate.
_U_PRIOR_PAIRS = 20.0
#: Fewest conditioned random pairs to count u on (else every random pair counts).
_FEWEST_CONDITIONED = 2_000
#: Fewest pairs in an m session (else the defaults stand).
_FEWEST_SESSION = 30
#: A term frequency moves an equal name's weight by at most this many bits.
_TF_BOUND = 6.0


class _Clks(Protocol):
    """What :class:`~joinedup.linkage.encoded_link.EncodedRecords` offers: packed filters."""

    @property
    def clks(self) -> Mapping[str, npt.NDArray[np.uint8]]: ...


@dataclass
class EncodedWeights:
    """m and u per level of each comparison, and each record's name frequencies."""

    m: dict[str, Floats]
    u: dict[str, Floats]
    #: per name field: each left record's name frequency (NaN: no name)
    tf: dict[str, Floats] = field(default_factory=dict)
    #: what the estimate rests on: pairs sampled for u, pairs in each m session
    counts: dict[str, int] = field(default_factory=dict)

    def weight(self, name: str) -> Floats:
        """log2(m / u) per level; a lower Dice level never weighs more than a higher one
        (the nickname level stands apart)."""
        w = np.log2(self.m[name] / self.u[name])
        alt = _BY_NAME[name].alternative
        chain = [k for k in range(len(w)) if alt is None or k != alt[1]]
        for above, below in zip(chain, chain[1:], strict=False):
            w[below] = min(w[below], w[above])
        return w


def default_weights() -> EncodedWeights:
    """The defaults of :data:`COMPARISONS`, with no term frequencies."""
    return EncodedWeights(
        {c.name: np.array(c.m0, dtype=np.float64) for c in COMPARISONS},
        {c.name: np.array(c.u0, dtype=np.float64) for c in COMPARISONS},
    )


def _level(sim: Floats, least: tuple[float, ...]) -> npt.NDArray[np.int64]:
    out = np.full(sim.shape, len(least), dtype=np.int64)
    for k in range(len(least) - 1, -1, -1):
        out[sim >= least[k]] = k
    out[np.isnan(sim)] = -1
    return out


def field_levels(
    left: _Clks, right: _Clks, li: npt.NDArray[np.int64], ri: npt.NDArray[np.int64]
) -> Levels:
    """The level of each comparison for each pair (-1 where either record lacks the field).

    An alternative level applies where the field reaches no higher level and the other
    encoding reaches its threshold: a forename's nickname level where the records share
    a nickname group, a date of birth's "day and month swapped" where the dates are equal
    with day and month in either order."""
    out: Levels = {}
    for c in COMPARISONS:
        sim = dice(left.clks[c.name][li], right.clks[c.name][ri])
        alt = c.alternative
        lv = _level(sim, tuple(2.0 if alt and k == alt[1] else t for k, t in enumerate(c.least)))
        if alt is not None:
            other = dice(left.clks[alt[0]][li], right.clks[alt[0]][ri])
            lv[(other >= c.least[alt[1]]) & (lv > alt[1])] = alt[1]
        out[c.name] = lv
    return out


def _frequencies(sides: list[_Clks], name: str) -> Floats:
    """Each record of the first side: the share of distinct (name, date of birth)
    encodings of every side that hold its name."""
    names = np.concatenate([s.clks[name] for s in sides])
    dobs = np.concatenate([s.clks["dob"] for s in sides])
    held = names.any(axis=1)
    out = np.full(len(names), np.nan)
    first = len(sides[0].clks[name])
    if held.sum() < 2:
        return out[:first]
    both = np.ascontiguousarray(np.concatenate([names, dobs], axis=1)[held])
    combos = np.unique(both.view(np.dtype((np.void, both.shape[1]))).ravel())
    combo_names = np.frombuffer(combos.tobytes(), dtype=np.uint8).reshape(len(combos), -1)
    combo_names = np.ascontiguousarray(combo_names[:, : names.shape[1]])
    void = np.dtype((np.void, names.shape[1]))
    values, counts = np.unique(combo_names.view(void).ravel(), return_counts=True)
    own = np.ascontiguousarray(names[held]).view(void).ravel()
    at = np.searchsorted(values, own)
    out[held] = counts[at] / len(combos)
    return out[:first]


def _random_pairs(
    n_left: int, n_right: int, same: bool, size: int, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_left, size, dtype=np.int64)
    b = rng.integers(0, n_right, size, dtype=np.int64)
    keep = a != b if same else np.ones(size, dtype=bool)
    return a[keep], b[keep]


def _u(levels: Levels, counts: dict[str, int]) -> dict[str, Floats]:
    """u per level: counted on random pairs that disagree on another field (so that two
    records of one person do not count as chance agreement), smoothed towards u0."""
    dob_apart = levels["dob"] == _BY_NAME["dob"].count - 1
    fn, sn = levels["forename"], levels["surname"]
    names_apart = (fn == _BY_NAME["forename"].count - 1) & (
        (sn == -1) | (sn == _BY_NAME["surname"].count - 1)
    )
    out: dict[str, Floats] = {}
    for c in COMPARISONS:
        lv = levels[c.name]
        held = lv >= 0
        cond = held & (names_apart if c.name == "dob" else dob_apart)
        use = cond if cond.sum() >= _FEWEST_CONDITIONED else held
        n = np.bincount(lv[use], minlength=c.count).astype(np.float64)
        counts[f"u_{c.name}"] = int(use.sum())
        out[c.name] = (n + _U_PRIOR_PAIRS * np.array(c.u0)) / (n.sum() + _U_PRIOR_PAIRS)
    return out


def _em(
    levels: Levels,
    rows: npt.NDArray[np.bool_],
    m: dict[str, Floats],
    u: dict[str, Floats],
    *,
    skip: str,
    fixed: Floats,
    iterations: int = 40,
) -> dict[str, Floats]:
    """m for every comparison but ``skip`` by EM over the pairs ``rows``; ``fixed`` is
    each pair's log2 Bayes factor from evidence not estimated (identifiers)."""
    names = [c.name for c in COMPARISONS if c.name != skip]
    lv = {k: levels[k][rows] for k in names}
    base = fixed[rows]
    m = {k: v.copy() for k, v in m.items()}
    lam = 0.5
    for _ in range(iterations):
        bf = base.copy()
        for k in names:
            held = lv[k] >= 0
            bf[held] += np.log2(m[k][lv[k][held]] / u[k][lv[k][held]])
        logit = np.log2(lam / (1 - lam)) + bf
        p = 1.0 / (1.0 + np.exp2(-np.clip(logit, -60, 60)))
        lam = float(np.clip(p.mean(), 1e-6, 1 - 1e-6))
        change = 0.0
        for k in names:
            c = _BY_NAME[k]
            held = lv[k] >= 0
            n = np.bincount(lv[k][held], weights=p[held], minlength=c.count)
            new = (n + PRIOR_PAIRS * np.array(c.m0)) / (n.sum() + PRIOR_PAIRS)
            change = max(change, float(np.abs(new - m[k]).max()))
            m[k] = new
        if change < 1e-5:
            break
    return m


def estimate_weights(
    left: _Clks,
    right: _Clks,
    li: npt.NDArray[np.int64],
    ri: npt.NDArray[np.int64],
    *,
    same: bool,
    fixed: Floats | None = None,
    sample: int = U_SAMPLE,
    seed: int = 0,
) -> EncodedWeights:
    """m, u and name frequencies for comparing ``left`` with ``right`` (the same records
    when ``same``), from random pairs and the candidate pairs ``(li, ri)``. ``fixed``:
    each candidate pair's log2 Bayes factor from its identifiers."""
    n_left = len(next(iter(left.clks.values())))
    n_right = len(next(iter(right.clks.values())))
    weights = default_weights()
    counts = weights.counts
    if n_left * n_right >= 2 * _FEWEST_SESSION:
        size = min(sample, n_left * n_right)
        a, b = _random_pairs(n_left, n_right, same, size, seed)
        weights.u = _u(field_levels(left, right, a, b), counts)
    levels = field_levels(left, right, li, ri)
    base = fixed if fixed is not None else np.zeros(len(li))
    m = weights.m
    # a session's pairs need evidence besides the fields it selects on and estimates: the
    # date of birth is estimated only on pairs that both hold a surname or a postcode
    strong = (levels["surname"] >= 0) | (levels["postcode"] >= 0)
    for session, pick in (("dob", "dob"), ("forename", "forename")):
        rows = levels[pick] == 0
        if session == "forename":
            rows &= strong
        counts[f"m_{session}"] = int(rows.sum())
        if rows.sum() < _FEWEST_SESSION:
            continue
        fitted = _em(levels, rows, m, weights.u, skip=pick, fixed=base)
        if session == "dob":
            m = fitted
        else:
            m["dob"] = fitted["dob"]
    weights.m = m
    sides = [left] if same else [left, right]
    for c in COMPARISONS:
        if c.term_frequency:
            weights.tf[c.name] = _frequencies(sides, c.name)
    return weights


def level_weights(weights: EncodedWeights, levels: Levels, li: npt.NDArray[np.int64]) -> Floats:
    """The sum over the comparisons in ``levels`` of each pair's level weight (0 for a
    field either lacks); an equal name weighs by its frequency where one is known."""
    total = np.zeros(len(li), dtype=np.float64)
    for c in COMPARISONS:
        lv = levels.get(c.name)
        if lv is None:
            continue
        held = lv >= 0
        w = weights.weight(c.name)
        part = np.zeros(len(li), dtype=np.float64)
        part[held] = w[lv[held]]
        tf = weights.tf.get(c.name)
        if tf is not None:
            equal = lv == 0
            f = tf[li[equal]]
            known = ~np.isnan(f)
            adjust = np.clip(
                np.log2(weights.u[c.name][0] / np.maximum(f[known], 1e-9)), -_TF_BOUND, _TF_BOUND
            )
            idx = np.flatnonzero(equal)[known]
            part[idx] += adjust
        total += part
    return total
