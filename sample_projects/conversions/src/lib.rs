//! Conversions in the PyO3 0.23 style: a hand-written `FromPyObject` (`extract_bound`), `downcast`
//! and `DowncastError`, a pyclass extracted by value, a `?` on a UTF-8 error, a `from_py_with`
//! function named by a string, a hand-written `ToPyObject` with its calls, a doc example (a
//! doctest) on the GIL-era API, and `pyo3-log`, a dependency that depends on pyo3.

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use pyo3::DowncastError;

/// A point in the plane.
#[pyclass(frozen)]
#[derive(Clone)]
pub struct Point {
    #[pyo3(get)]
    x: f64,
    #[pyo3(get)]
    y: f64,
}

#[pymethods]
impl Point {
    #[new]
    fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }
}

/// A coordinate pair, read from a `Point`, a `{"x": .., "y": ..}` dict or an `(x, y)` tuple.
///
/// ```
/// use conversions::Coords;
/// # use pyo3::prelude::*;
/// # use pyo3::types::PyDict;
/// # pyo3::prepare_freethreaded_python();
/// Python::with_gil(|py| {
///     let dict = PyDict::new(py);
///     dict.set_item("x", 3.0).unwrap();
///     dict.set_item("y", 4.0).unwrap();
///     let any = dict.into_any();
///     assert!(any.downcast::<PyDict>().is_ok());
///     let coords: Coords = any.extract().unwrap();
///     assert_eq!(coords.norm(), 5.0);
/// });
/// ```
pub struct Coords(f64, f64);

impl Coords {
    pub fn norm(&self) -> f64 {
        (self.0 * self.0 + self.1 * self.1).sqrt()
    }
}

fn coordinate(dict: &Bound<'_, PyDict>, key: &str) -> PyResult<f64> {
    dict.get_item(key)?.ok_or_else(|| PyKeyError::new_err(key.to_string()))?.extract()
}

impl<'py> FromPyObject<'py> for Coords {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(point) = ob.downcast::<Point>() {
            let point = point.get();
            return Ok(Coords(point.x, point.y));
        }
        if let Ok(dict) = ob.downcast::<PyDict>() {
            return Ok(Coords(coordinate(dict, "x")?, coordinate(dict, "y")?));
        }
        let (x, y): (f64, f64) = ob.extract()?;
        Ok(Coords(x, y))
    }
}

fn as_list<'a, 'py>(ob: &'a Bound<'py, PyAny>) -> Result<&'a Bound<'py, PyList>, DowncastError<'a, 'py>> {
    ob.downcast::<PyList>()
}

#[pyfunction]
fn norm(coords: Coords) -> f64 {
    coords.norm()
}

/// The summed norms of a list of anything `Coords` reads.
#[pyfunction]
fn total(items: &Bound<'_, PyAny>) -> PyResult<f64> {
    let list = as_list(items)?;
    let all = list.iter().map(|item| Coords::extract_bound(&item)).collect::<PyResult<Vec<_>>>()?;
    Ok(all.iter().map(Coords::norm).sum())
}

/// Copies of the `Point`s in a list (a frozen `Clone` pyclass is extracted by value).
#[pyfunction]
fn points(items: &Bound<'_, PyList>) -> PyResult<Vec<Point>> {
    items.iter().map(|item| item.extract::<Point>()).collect()
}

#[pyfunction]
fn shout(data: &[u8]) -> PyResult<String> {
    Ok(std::str::from_utf8(data)?.to_uppercase())
}

fn as_label(ob: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(format!("<{}>", ob.str()?))
}

#[pyfunction]
fn label(#[pyo3(from_py_with = "as_label")] text: String) -> String {
    text
}

/// How a point reads in Python: `"(x, y)"`.
pub struct Label(String);

impl ToPyObject for Label {
    fn to_object(&self, py: Python) -> PyObject {
        self.0.to_object(py)
    }
}

#[pyfunction]
fn describe(py: Python<'_>, point: &Bound<'_, Point>) -> PyObject {
    let point = point.get();
    Label(format!("({}, {})", point.x, point.y)).to_object(py)
}

#[pyfunction]
fn describe_all(py: Python<'_>, items: &Bound<'_, PyList>) -> PyResult<Vec<PyObject>> {
    items
        .iter()
        .map(|item| {
            let point = item.downcast::<Point>()?.get().clone();
            Ok(Label(format!("({}, {})", point.x, point.y)).to_object(py))
        })
        .collect()
}

/// The interpreter's version, read with `Python::with_gil` among a macro's tokens (`vec!`).
#[pyfunction]
fn interpreter_versions() -> PyResult<Vec<String>> {
    Ok(vec![Python::with_gil(|py| -> PyResult<String> {
        py.import("sys")?.getattr("version")?.extract()
    })?])
}

#[pymodule]
fn conversions(m: &Bound<'_, PyModule>) -> PyResult<()> {
    pyo3_log::init();
    m.add_class::<Point>()?;
    m.add_function(wrap_pyfunction!(norm, m)?)?;
    m.add_function(wrap_pyfunction!(total, m)?)?;
    m.add_function(wrap_pyfunction!(points, m)?)?;
    m.add_function(wrap_pyfunction!(shout, m)?)?;
    m.add_function(wrap_pyfunction!(label, m)?)?;
    m.add_function(wrap_pyfunction!(describe, m)?)?;
    m.add_function(wrap_pyfunction!(describe_all, m)?)?;
    m.add_function(wrap_pyfunction!(interpreter_versions, m)?)?;
    Ok(())
}
