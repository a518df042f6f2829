//! `gil_cells`: lazily imported Python objects cached in `GILOnceCell`s.
//!
//! Fixture for pyo3-migrate. Every cache here relies on the GIL to serialise
//! access, which is exactly what the migration has to replace.

use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyString, PyTuple};

mod cache;

use cache::Cache;

/// `decimal.Decimal`, imported on first use.
static DECIMAL_CLS: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// `json.dumps`, imported on first use (filled with a turbofish `Ok`).
static JSON_DUMPS: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// A process-wide greeting string, shared with other crates that link this one.
pub static GREETING: GILOnceCell<Py<PyString>> = GILOnceCell::new();

/// Sentinel object, filled eagerly while the module initialises.
static MISSING: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// Default keyword arguments for `json.dumps`, built on first use.
static DUMPS_KWARGS: GILOnceCell<Py<PyDict>> = GILOnceCell::new();

/// `sys.implementation`, in a std `OnceLock` whose initialiser attaches on its own: a thread
/// waiting on this lock does not detach (the `interpreter-aware-cells` codemod's shape).
static IMPLEMENTATION: OnceLock<Py<PyAny>> = OnceLock::new();

fn decimal_class(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    let cls = DECIMAL_CLS.get_or_try_init(py, || -> PyResult<_> {
        let module = py.import_bound("decimal")?;
        Ok(module.getattr("Decimal")?.unbind())
    })?;
    Ok(cls.bind(py))
}

fn json_dumps(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    let dumps = JSON_DUMPS.get_or_try_init(py, || {
        let json = py.import_bound("json")?;
        Ok::<_, PyErr>(json.getattr("dumps")?.unbind())
    })?;
    Ok(dumps.bind(py))
}

fn dumps_kwargs(py: Python<'_>) -> PyResult<&Bound<'_, PyDict>> {
    let kwargs = DUMPS_KWARGS.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let kwargs = PyDict::new_bound(py);
        kwargs.set_item("sort_keys", true)?;
        kwargs.set_item("separators", (",", ":"))?;
        Ok(kwargs.unbind())
    })?;
    Ok(kwargs.bind(py))
}

/// Return the cached `decimal.Decimal` class (always the same object).
#[pyfunction]
#[pyo3(name = "decimal_class")]
fn py_decimal_class(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Ok(decimal_class(py)?.clone().unbind())
}

/// Build a `decimal.Decimal` from its string form.
#[pyfunction]
fn make_decimal<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    decimal_class(py)?.call1((text,))
}

/// Add decimals given as strings, exactly, and return the `Decimal` sum.
#[pyfunction]
fn add_decimals<'py>(py: Python<'py>, values: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
    let cls = decimal_class(py)?;
    let mut total = cls.call1(("0",))?;
    for text in &values {
        total = total.add(cls.call1((text.as_str(),))?)?;
    }
    Ok(total)
}

/// Serialise `obj` as compact JSON with sorted keys.
#[pyfunction]
fn to_json(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    json_dumps(py)?
        .call((obj,), Some(dumps_kwargs(py)?))?
        .extract()
}

/// The shared greeting string (always the same object).
#[pyfunction]
fn greeting(py: Python<'_>) -> Py<PyString> {
    GREETING
        .get_or_init(py, || PyString::new_bound(py, "hello from gil_cells").unbind())
        .clone_ref(py)
}

/// Names of the channels this module knows about (always the same tuple).
#[pyfunction]
fn channel_names(py: Python<'_>) -> PyResult<Py<PyTuple>> {
    static NAMES: GILOnceCell<Py<PyTuple>> = GILOnceCell::new();

    if let Some(names) = NAMES.get(py) {
        return Ok(names.clone_ref(py));
    }
    // Build outside of any closure so that the `?` of newer PyO3 releases has a place to go.
    let names = PyTuple::new_bound(py, ["red", "green", "blue", "alpha"]).unbind();
    let _ = NAMES.set(py, names);
    Ok(NAMES.get(py).expect("NAMES was just set").clone_ref(py))
}

/// `sys.implementation` (always the same object).
#[pyfunction]
fn implementation(py: Python<'_>) -> Py<PyAny> {
    IMPLEMENTATION
        .get_or_init(|| {
            Python::with_gil(|py| {
                let sys = py.import_bound("sys").expect("sys is always importable");
                sys.getattr("implementation").expect("sys.implementation exists").unbind()
            })
        })
        .clone_ref(py)
}

/// The module's sentinel object (also exported as `gil_cells.MISSING`).
#[pyfunction]
fn missing(py: Python<'_>) -> Py<PyAny> {
    MISSING
        .get(py)
        .expect("MISSING is filled when the module initialises")
        .clone_ref(py)
}

/// True when `obj` is the module's sentinel.
#[pyfunction]
fn is_missing(py: Python<'_>, obj: &Bound<'_, PyAny>) -> bool {
    let sentinel = MISSING.get(py).unwrap();
    obj.is(sentinel)
}

#[pymodule]
fn gil_cells(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();

    // Fill the sentinel eagerly; a second initialisation keeps the first value.
    let sentinel = py.import_bound("builtins")?.getattr("object")?.call0()?;
    let _ = MISSING.set(py, sentinel.unbind());
    m.add("MISSING", MISSING.get(py).unwrap().clone_ref(py))?;

    m.add_function(wrap_pyfunction!(py_decimal_class, m)?)?;
    m.add_function(wrap_pyfunction!(make_decimal, m)?)?;
    m.add_function(wrap_pyfunction!(add_decimals, m)?)?;
    m.add_function(wrap_pyfunction!(to_json, m)?)?;
    m.add_function(wrap_pyfunction!(greeting, m)?)?;
    m.add_function(wrap_pyfunction!(channel_names, m)?)?;
    m.add_function(wrap_pyfunction!(missing, m)?)?;
    m.add_function(wrap_pyfunction!(implementation, m)?)?;
    m.add_function(wrap_pyfunction!(is_missing, m)?)?;
    m.add_class::<Cache>()?;
    Ok(())
}
