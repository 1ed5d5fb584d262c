"""k-means over standardised features, with personas to read.

Features are z-scored (so no unit dominates); centres start from k-means++
(Arthur & Vassilvitskii 2007) with an explicit random generator; Lloyd
iterations assign points in parallel. Lookalikes use the same standardised
space: a lead's similarity to the centre of the workspace's best customers. Each cluster is described by its size,
its centre in the original units, and the features that set it apart most
(largest |centre z-score|).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import prange

from scoring.config import jit_parallel


@dataclass(frozen=True)
class ClusterProfile:
    size: int
    share: float
    centre: dict[str, float]  # original units
    distinguishing: list[tuple[str, float]]  # (feature, z-score of the centre), most distinct first


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray  # int32 per row
    centres: np.ndarray  # standardised units
    mean: np.ndarray  # the standardisation, to place new rows later
    std: np.ndarray
    inertia: float
    iterations: int
    profiles: list[ClusterProfile]

    def assign(self, features: np.ndarray) -> np.ndarray:
        """Nearest centre for new rows in original units."""
        z = np.ascontiguousarray((np.asarray(features, dtype=np.float64) - self.mean) / self.std)
        return _assign(z, self.centres)[0]


@jit_parallel()
def _assign(z, centres):
    n = z.shape[0]
    labels = np.empty(n, dtype=np.int32)
    distance = np.empty(n)
    for i in prange(n):
        best = np.inf
        label = 0
        for c in range(centres.shape[0]):
            d = 0.0
            for j in range(z.shape[1]):
                diff = z[i, j] - centres[c, j]
                d += diff * diff
            if d < best:
                best = d
                label = c
        labels[i] = label
        distance[i] = best
    return labels, distance


def _plus_plus(z: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = [z[rng.integers(z.shape[0])]]
    nearest = ((z - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = nearest.sum()
        pick = rng.integers(z.shape[0]) if total == 0 else rng.choice(z.shape[0], p=nearest / total)
        centres.append(z[pick])
        nearest = np.minimum(nearest, ((z - z[pick]) ** 2).sum(axis=1))
    return np.array(centres)


def kmeans(features: np.ndarray, names: list[str], k: int, rng: np.random.Generator, max_iterations: int = 50,
           sample: int = 100_000, initial: np.ndarray | None = None) -> Clustering:
    """Cluster rows of `features` (n x d, original units). Seeding and Lloyd's
    iterations run on a random sample of at most `sample` rows (the centres of
    100,000 rows are those of a million to well within the noise), then every
    row is assigned to its nearest centre.

    `initial` (k x d, original units), the centres of an earlier clustering,
    replaces k-means++: the clusters then keep their numbers from one refit
    to the next. Seeded afresh, a refit after a few hundred new purchases
    renumbered them, and 377,000 of a million customers changed cluster
    segment."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(names):
        raise ValueError("features must be n x len(names)")
    if not 1 <= k <= x.shape[0]:
        raise ValueError("k must be between 1 and the number of rows")
    z, mean, std = standardise(x)
    z = np.ascontiguousarray(z)
    fit_rows = z if z.shape[0] <= sample else z[rng.choice(z.shape[0], sample, replace=False)]
    if initial is not None and np.shape(initial) == (k, x.shape[1]):
        centres = (np.asarray(initial, dtype=np.float64) - mean) / std
    else:
        centres = _plus_plus(fit_rows, k, rng)
    labels = np.full(fit_rows.shape[0], -1, dtype=np.int32)
    iteration = 0
    for iteration in range(1, max_iterations + 1):
        new_labels, _ = _assign(fit_rows, centres)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        counts = np.bincount(labels, minlength=k)
        sums = np.zeros((k, z.shape[1]))
        np.add.at(sums, labels, fit_rows)
        centres = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centres)
    labels, distance = _assign(z, centres)
    profiles = []
    counts = np.bincount(labels, minlength=k)
    totals = np.zeros((k, x.shape[1]))
    np.add.at(totals, labels, x)
    for c in range(k):
        size = int(counts[c])
        centre = totals[c] / size if size else np.full(len(names), np.nan)
        order = np.argsort(-np.abs(centres[c]))
        profiles.append(ClusterProfile(size, size / x.shape[0], dict(zip(names, centre.tolist())),
                                       [(names[j], float(centres[c, j])) for j in order[:3]]))
    return Clustering(labels, centres, mean, std, float(distance.sum()), iteration, profiles)


def standardise(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z-scores, mean, std); constant columns get std 1."""
    x = np.asarray(features, dtype=np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    return (x - mean) / std, mean, std


def similarity(z: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Cosine similarity of each standardised row to `centre`, rescaled to 0..1."""
    norms = np.linalg.norm(z, axis=1) * np.linalg.norm(centre)
    cosine = np.divide(z @ centre, norms, out=np.zeros(z.shape[0]), where=norms > 0)
    return (1.0 + cosine) / 2.0
