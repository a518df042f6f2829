"""Labelled points in the plane, implemented in Rust (`shapes._shapes`)."""

from shapes._shapes import Point, centroid, distance, farthest, loaded_modules, math_module

__all__ = [
    "Point",
    "centroid",
    "distance",
    "farthest",
    "loaded_modules",
    "math_module",
    "perimeter",
]


def perimeter(points):
    """Length of the closed polygon through `points`, in order."""
    points = list(points)
    if len(points) < 2:
        return 0.0
    return sum(distance(a, b) for a, b in zip(points, points[1:] + points[:1]))
