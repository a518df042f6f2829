//! Lazily built lookup tables, cached under an aliased cell name.

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell as LazyPy;
use pyo3::types::{PyDict, PyFrozenSet};

/// Unit prefixes and their powers of ten, built once as a Python dict.
static PREFIXES: LazyPy<Py<PyDict>> = LazyPy::new();

/// Names reserved by the registry wrapper in `protected/__init__.py`.
pub(crate) static RESERVED: LazyPy<Py<PyFrozenSet>> = LazyPy::new();

fn prefixes(py: Python<'_>) -> PyResult<&Bound<'_, PyDict>> {
    let table = PREFIXES.get_or_try_init(py, || -> PyResult<_> {
        let table = PyDict::new(py);
        for (name, power) in [("kilo", 3), ("mega", 6), ("giga", 9), ("milli", -3), ("micro", -6)] {
            table.set_item(name, power)?;
        }
        Ok(table.unbind())
    })?;
    Ok(table.bind(py))
}

/// The shared prefix table (the same dict object on every call; do not mutate).
#[pyfunction]
fn unit_prefixes(py: Python<'_>) -> PyResult<Py<PyDict>> {
    Ok(prefixes(py)?.clone().unbind())
}

/// `value * 10**power` for a known prefix name.
#[pyfunction]
fn scale(py: Python<'_>, value: f64, prefix: &str) -> PyResult<f64> {
    let power: i32 = prefixes(py)?
        .get_item(prefix)?
        .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(prefix.to_owned()))?
        .extract()?;
    Ok(value * 10f64.powi(power))
}

/// The frozenset of reserved registry names.
#[pyfunction]
fn reserved_names(py: Python<'_>) -> PyResult<PyObject> {
    let names = RESERVED.get_or_try_init(py, || {
        PyFrozenSet::new(py, ["__all__", "__builtins__", "registry"]).map(Bound::unbind)
    })?;
    Ok(names.clone_ref(py).into_any())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(unit_prefixes, m)?)?;
    m.add_function(wrap_pyfunction!(scale, m)?)?;
    m.add_function(wrap_pyfunction!(reserved_names, m)?)?;
    Ok(())
}
