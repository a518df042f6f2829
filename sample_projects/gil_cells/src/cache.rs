//! A write-once Python value holder exposed as `gil_cells.Cache`.

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;

/// Holds at most one Python object; the first write wins.
#[pyclass(module = "gil_cells")]
pub struct Cache {
    value: GILOnceCell<Py<PyAny>>,
}

impl Clone for Cache {
    fn clone(&self) -> Self {
        Python::with_gil(|py| {
            let cell = GILOnceCell::new();
            if let Some(v) = self.value.get(py) {
                let _ = cell.set(py, v.clone_ref(py));
            }
            Cache { value: cell }
        })
    }
}

#[pymethods]
impl Cache {
    #[new]
    #[pyo3(signature = (value=None))]
    fn new(py: Python<'_>, value: Option<Py<PyAny>>) -> Self {
        let cell = GILOnceCell::new();
        if let Some(v) = value {
            let _ = cell.set(py, v);
        }
        Cache { value: cell }
    }

    /// Store `value` unless a value is already held; True if this call stored it.
    fn fill(&self, py: Python<'_>, value: Py<PyAny>) -> bool {
        self.value.set(py, value).is_ok()
    }

    /// The held value, or None when empty.
    fn get(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.value.get(py).map(|v| v.clone_ref(py))
    }

    /// The held value; calls `factory()` to produce it when empty.
    fn get_or_compute(&self, py: Python<'_>, factory: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let v = self
            .value
            .get_or_try_init(py, || factory.call0().map(Bound::unbind))?;
        Ok(v.clone_ref(py))
    }

    /// The held value; raises ValueError when empty.
    fn require(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.value
            .get(py)
            .map(|v| v.clone_ref(py))
            .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("cache is empty"))
    }

    #[getter]
    fn filled(&self, py: Python<'_>) -> bool {
        self.value.get(py).is_some()
    }

    /// A new `Cache` holding the same object (not a copy of it).
    fn copy(&self) -> Self {
        self.clone()
    }

    fn __copy__(&self) -> Self {
        self.clone()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        match self.value.get(py) {
            Some(v) => Ok(format!("Cache({})", v.bind(py).repr()?)),
            None => Ok("Cache()".to_owned()),
        }
    }
}
