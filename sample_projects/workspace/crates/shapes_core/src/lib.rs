//! Shared Python module caches for the `shapes` workspace.
//!
//! The statics are `pub` so that the extension crate (`shapes_ext`) can reach
//! them directly; the helpers in `geometry.rs` reach them through `crate::`.

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;

mod geometry;

pub use geometry::{fmean, hypot, math_module, statistics_module};

/// The `math` module, imported on first use.
pub static MATH: GILOnceCell<Py<PyModule>> = GILOnceCell::new();

/// The `statistics` module, imported on first use.
pub static STATISTICS: GILOnceCell<Py<PyModule>> = GILOnceCell::new();
