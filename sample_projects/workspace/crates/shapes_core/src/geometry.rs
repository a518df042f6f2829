//! Numeric helpers that call into Python's `math` and `statistics` modules.

use pyo3::prelude::*;

/// The cached `math` module.
pub fn math_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    let math = crate::MATH.get_or_try_init(py, || -> PyResult<_> {
        Ok(py.import("math")?.unbind())
    })?;
    Ok(math.bind(py))
}

/// The cached `statistics` module.
pub fn statistics_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    let statistics = crate::STATISTICS
        .get_or_try_init(py, || py.import("statistics").map(Bound::unbind))?;
    Ok(statistics.bind(py))
}

/// `math.hypot(dx, dy)`.
pub fn hypot(py: Python<'_>, dx: f64, dy: f64) -> PyResult<f64> {
    math_module(py)?.getattr("hypot")?.call1((dx, dy))?.extract()
}

/// `statistics.fmean(values)`; raises `StatisticsError` for an empty slice.
pub fn fmean(py: Python<'_>, values: &[f64]) -> PyResult<f64> {
    statistics_module(py)?
        .getattr("fmean")?
        .call1((values.to_vec(),))?
        .extract()
}
