//! `protected._native`: a GIL-protected object registry plus cached imports.
//!
//! Fixture for pyo3-migrate. The registry is only safe because every access
//! holds the GIL; the `fractions.Fraction` and `math` caches are GILOnceCells.

use std::cell::RefCell;
use std::collections::HashMap;

use pyo3::{
    prelude::*,
    sync::{GILOnceCell, GILProtected},
    types::PyType,
};

mod lazy;

/// `fractions.Fraction`, imported on first use.
static FRACTION_CLS: GILOnceCell<Py<PyType>> = GILOnceCell::new();

/// The `math` module, imported on first use.
static MATH_MODULE: pyo3::sync::GILOnceCell<Py<PyModule>> = pyo3::sync::GILOnceCell::new();

/// Named Python objects registered from Python. `None` until the first write,
/// because `HashMap::new` cannot be called in a `static` initialiser.
static REGISTRY: GILProtected<RefCell<Option<HashMap<String, Py<PyAny>>>>> =
    GILProtected::new(RefCell::new(None));

fn fraction_class(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    FRACTION_CLS.import(py, "fractions", "Fraction")
}

fn math_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    MATH_MODULE
        .get_or_try_init(py, || py.import("math").map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// The cached `fractions.Fraction` class.
#[pyfunction]
#[pyo3(name = "fraction_class")]
fn py_fraction_class(py: Python<'_>) -> PyResult<PyObject> {
    Ok(fraction_class(py)?.clone().into_any().unbind())
}

/// `Fraction(numerator, denominator)`.
#[pyfunction]
fn make_fraction(py: Python<'_>, numerator: i64, denominator: i64) -> PyResult<PyObject> {
    Ok(fraction_class(py)?
        .call1((numerator, denominator))?
        .unbind())
}

/// `math.gcd(a, b)` through the cached module.
#[pyfunction]
fn gcd(py: Python<'_>, a: i64, b: i64) -> PyResult<i64> {
    math_module(py)?.getattr("gcd")?.call1((a, b))?.extract()
}

/// The cached `math` module object.
#[pyfunction]
#[pyo3(name = "math_module")]
fn py_math_module(py: Python<'_>) -> PyResult<Py<PyModule>> {
    Ok(math_module(py)?.clone().unbind())
}

/// Register `obj` under `name`; returns the object it replaced, if any.
#[pyfunction]
fn register(py: Python<'_>, name: String, obj: PyObject) -> Option<PyObject> {
    let mut registry = REGISTRY.get(py).borrow_mut();
    registry.get_or_insert_with(HashMap::new).insert(name, obj)
}

/// The object registered under `name`, or None.
#[pyfunction]
fn lookup(py: Python<'_>, name: &str) -> Option<PyObject> {
    let registry = REGISTRY.get(py).borrow();
    registry
        .as_ref()
        .and_then(|entries| entries.get(name))
        .map(|obj| obj.clone_ref(py))
}

/// Remove and return the object registered under `name`.
#[pyfunction]
fn unregister(py: Python<'_>, name: &str) -> Option<PyObject> {
    REGISTRY
        .get(py)
        .borrow_mut()
        .as_mut()
        .and_then(|entries| entries.remove(name))
}

/// Sorted names of all registered objects.
#[pyfunction]
fn registered_names(py: Python<'_>) -> Vec<String> {
    let registry = REGISTRY.get(py).borrow();
    let mut names: Vec<String> = registry
        .as_ref()
        .map(|entries| entries.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// How many objects are registered; past `limit`, the registry is emptied (one borrow after the other,
/// through a local bound to the cell).
#[pyfunction]
fn trim(py: Python<'_>, limit: usize) -> usize {
    let registry = REGISTRY.get(py);
    let count = registry.borrow().as_ref().map_or(0, |entries| entries.len());
    if count > limit {
        registry.borrow_mut().take();
    }
    count
}

/// Sum of `values`, computed without holding the GIL.
#[pyfunction]
fn sum_values(py: Python<'_>, values: Vec<i64>) -> i64 {
    py.allow_threads(|| values.iter().sum())
}

/// Number of primes below `limit` (a sieve), computed without holding the GIL.
#[pyfunction]
fn count_primes(py: Python<'_>, limit: usize) -> usize {
    py.allow_threads(move || {
        if limit < 3 {
            return 0;
        }
        let mut composite = vec![false; limit];
        let mut count = 0;
        for n in 2..limit {
            if composite[n] {
                continue;
            }
            count += 1;
            let mut multiple = n * n;
            while multiple < limit {
                composite[multiple] = true;
                multiple += n;
            }
        }
        count
    })
}

#[pymodule]
#[pyo3(name = "_native")]
fn protected_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(py_fraction_class, m)?)?;
    m.add_function(wrap_pyfunction!(make_fraction, m)?)?;
    m.add_function(wrap_pyfunction!(gcd, m)?)?;
    m.add_function(wrap_pyfunction!(py_math_module, m)?)?;
    m.add_function(wrap_pyfunction!(register, m)?)?;
    m.add_function(wrap_pyfunction!(lookup, m)?)?;
    m.add_function(wrap_pyfunction!(unregister, m)?)?;
    m.add_function(wrap_pyfunction!(registered_names, m)?)?;
    m.add_function(wrap_pyfunction!(trim, m)?)?;
    m.add_function(wrap_pyfunction!(sum_values, m)?)?;
    m.add_function(wrap_pyfunction!(count_primes, m)?)?;
    lazy::register(m)?;
    Ok(())
}
