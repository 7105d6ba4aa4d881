"""Distances on the sphere: haversine for single pairs, unit vectors for the registry.

For many distances from one point, precomputed 3-D unit vectors turn the work into
one matrix-vector product (a dot product per enterprise) instead of five
trigonometric calls each. Float64 on purpose: in float32 the cosine of angles
under ~20 km rounds badly (performance.md).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def haversine_km_many(lat: float, lon: float, lats: ArrayLike, lons: ArrayLike
                      ) -> NDArray[np.float64]:
    """:func:`haversine_km` from one point to many (the same formula, vectorised)."""
    p1, p2 = math.radians(lat), np.radians(np.asarray(lats, dtype=np.float64))
    dp = p2 - p1
    dl = np.radians(np.asarray(lons, dtype=np.float64) - lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out: NDArray[np.float64] = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return out


def unit_vectors(lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
    """(n, 3) float64 unit vectors of points given in degrees."""
    la = np.radians(np.asarray(lat, dtype=np.float64))
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    c = np.cos(la)
    return np.stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)], axis=-1)


def cos_of_km(km: ArrayLike) -> NDArray[np.float64]:
    """Cosine of the central angle of a great-circle distance: d <= r <=> dot >= cos_of_km(r).
    Radii beyond half the earth clip to -1 (everything is within reach)."""
    ang = np.minimum(np.asarray(km, dtype=np.float64) / EARTH_RADIUS_KM, math.pi)
    return np.cos(ang)


def km_of_dot(dot: ArrayLike) -> NDArray[np.float64]:
    """Great-circle distance from the dot product of two unit vectors."""
    d = np.clip(np.asarray(dot, dtype=np.float64), -1.0, 1.0)
    return EARTH_RADIUS_KM * np.arccos(d)


def distance_score(distance_km: ArrayLike, radius_km: ArrayLike) -> NDArray[np.float64]:
    """1 at the doorstep, falling linearly to 0 at the edge of the service radius.
    Outside the radius is a hard constraint (constraints.py), not a low score."""
    d = np.asarray(distance_km, dtype=np.float64)
    r = np.maximum(np.asarray(radius_km, dtype=np.float64), 1e-9)
    return np.clip(1.0 - d / r, 0.0, 1.0)
