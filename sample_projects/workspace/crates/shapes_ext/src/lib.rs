//! `shapes._shapes`: labelled points, using the module caches of `shapes_core`.
//!
//! `Point` derives `Clone` although it holds a `Py<PyAny>`: that needs PyO3's
//! `py-clone` feature, enabled in this crate's Cargo.toml.

use pyo3::prelude::*;
use shapes_core::{MATH, STATISTICS};

/// A point in the plane with an arbitrary Python object as its label.
#[pyclass(module = "shapes._shapes", get_all)]
#[derive(Clone)]
struct Point {
    label: Py<PyAny>,
    x: f64,
    y: f64,
}

#[pymethods]
impl Point {
    #[new]
    #[pyo3(signature = (x, y, label=None))]
    fn new(py: Python<'_>, x: f64, y: f64, label: Option<Py<PyAny>>) -> Self {
        Point {
            label: label.unwrap_or_else(|| py.None()),
            x,
            y,
        }
    }

    /// Euclidean distance to `other` (via the shared `math` module).
    fn distance_to(&self, py: Python<'_>, other: PyRef<'_, Point>) -> PyResult<f64> {
        shapes_core::hypot(py, other.x - self.x, other.y - self.y)
    }

    /// A copy moved by (dx, dy); the label object is shared with `self`.
    fn translated(&self, dx: f64, dy: f64) -> Point {
        Point {
            x: self.x + dx,
            y: self.y + dy,
            ..self.clone()
        }
    }

    fn __copy__(&self) -> Point {
        self.clone()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Point({}, {}, label={})",
            self.x,
            self.y,
            self.label.bind(py).repr()?
        ))
    }
}

/// Distance between two points (both arguments are extracted by value).
#[pyfunction]
fn distance(py: Python<'_>, a: Point, b: Point) -> PyResult<f64> {
    shapes_core::hypot(py, b.x - a.x, b.y - a.y)
}

/// The mean point of `points`; labelled `label`, or like the first point.
#[pyfunction]
#[pyo3(signature = (points, label=None))]
fn centroid(py: Python<'_>, points: Vec<PyRef<'_, Point>>, label: Option<Py<PyAny>>) -> PyResult<Point> {
    let first = points
        .first()
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("centroid of no points"))?;
    let label = match label {
        Some(label) => label,
        None => first.label.clone(),
    };
    let xs: Vec<f64> = points.iter().map(|p| p.x).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.y).collect();
    Ok(Point {
        label,
        x: shapes_core::fmean(py, &xs)?,
        y: shapes_core::fmean(py, &ys)?,
    })
}

/// The point farthest from the origin (a clone of it; ties keep the first).
#[pyfunction]
fn farthest(py: Python<'_>, points: Vec<PyRef<'_, Point>>) -> PyResult<Option<Point>> {
    let mut best: Option<(f64, &Point)> = None;
    for point in &points {
        let d = shapes_core::hypot(py, point.x, point.y)?;
        if best.map_or(true, |(best_d, _)| d > best_d) {
            best = Some((d, &**point));
        }
    }
    Ok(best.map(|(_, point)| point.clone()))
}

/// The shared `math` module object, straight from `shapes_core::MATH`.
#[pyfunction]
fn math_module(py: Python<'_>) -> PyResult<Py<PyModule>> {
    let math = MATH.get_or_try_init(py, || py.import("math").map(Bound::unbind))?;
    Ok(math.clone_ref(py))
}

/// Names of the shared module caches that are already filled.
#[pyfunction]
fn loaded_modules(py: Python<'_>) -> Vec<&'static str> {
    let mut loaded = Vec::new();
    if MATH.get(py).is_some() {
        loaded.push("math");
    }
    if STATISTICS.get(py).is_some() {
        loaded.push("statistics");
    }
    loaded
}

#[pyo3::pymodule]
#[pyo3(name = "_shapes")]
fn shapes_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Point>()?;
    m.add_function(wrap_pyfunction!(distance, m)?)?;
    m.add_function(wrap_pyfunction!(centroid, m)?)?;
    m.add_function(wrap_pyfunction!(farthest, m)?)?;
    m.add_function(wrap_pyfunction!(math_module, m)?)?;
    m.add_function(wrap_pyfunction!(loaded_modules, m)?)?;
    Ok(())
}
