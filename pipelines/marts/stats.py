"""The statistics behind the comparisons (vectorised over whole marts).

* ``two_proportion_p``: two-sided two-proportion z-test with the pooled proportion under H0.
* ``newcombe_ci``: 95% confidence interval of a difference of two proportions, Newcombe's hybrid score
  method (method 10 in Newcombe 1998), built from the two Wilson score intervals; it behaves well for
  small counts and proportions near 0, where the Wald interval fails.
* ``benjamini_hochberg``: false-discovery-rate adjusted p-values (q-values) within groups, so that
  testing 15 pain points x 4 brands per week does not flag chance differences as significant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

Z95 = 1.959963984540054


def _as_float(*arrays) -> list[np.ndarray]:
    return [np.asarray(a, dtype=float) for a in arrays]


def wilson(x, n, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of x successes in n trials (nan where n == 0)."""
    x, n = _as_float(x, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def two_proportion_p(x1, n1, x2, n2) -> np.ndarray:
    """Two-sided p-value of H0: p1 == p2 (pooled z-test); nan when a side has no trials."""
    x1, n1, x2, n2 = _as_float(x1, n1, x2, n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (x1 / n1 - x2 / n2) / se
        p = 2 * ndtr(-np.abs(z))
    p = np.where(se == 0, 1.0, p)  # both proportions 0 (or both 1): no evidence of a difference
    return np.where((n1 > 0) & (n2 > 0), np.clip(p, 0, 1), np.nan)


def newcombe_ci(x1, n1, x2, n2) -> tuple[np.ndarray, np.ndarray]:
    """95% CI of p1 - p2 (Newcombe hybrid score); nan when a side has no trials."""
    x1, n1, x2, n2 = _as_float(x1, n1, x2, n2)
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = x1 / n1, x2 / n2
        d = p1 - p2
        low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return low, high


def benjamini_hochberg(p: pd.Series, groups: list[pd.Series] | None = None) -> pd.Series:
    """BH-adjusted p-values within each group (nan p-values stay nan and are not counted)."""
    frame = pd.DataFrame({"p": p.to_numpy(dtype=float)})
    keys = []
    for i, g in enumerate(groups or []):
        frame[f"g{i}"] = g.to_numpy()
        keys.append(f"g{i}")
    valid = frame[frame["p"].notna()].sort_values(keys + ["p"], kind="mergesort")
    if valid.empty:
        return pd.Series(np.nan, index=p.index)
    by = valid.groupby(keys, sort=False) if keys else None
    rank = (by.cumcount() if by is not None else pd.Series(np.arange(len(valid)), index=valid.index)) + 1
    m = by["p"].transform("size") if by is not None else len(valid)
    valid = valid.assign(raw=valid["p"] * m / rank)
    # q_i = min over j >= i of raw_j: a cumulative minimum from the largest p down, per group.
    reverse = valid.iloc[::-1]
    q = reverse.groupby(keys, sort=False)["raw"].cummin() if keys else reverse["raw"].cummin()
    out = np.full(len(frame), np.nan)
    out[q.index.to_numpy()] = np.clip(q.to_numpy(), 0, 1)
    return pd.Series(out, index=p.index)
