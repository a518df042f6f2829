//! The shape of a hand-written extraction of a 1-D unicode array: metadata read straight from
//! numpy's `PyArrayObject` and `PyArray_Descr` through raw pointers.

use numpy::npyffi;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

/// (length, item size) of a contiguous 1-D array of fixed-width strings.
pub fn shape_of(ob: &Bound<'_, PyAny>) -> PyResult<(usize, usize)> {
    if unsafe { npyffi::PyArray_Check(ob.py(), ob.as_ptr()) } == 0 {
        return Err(PyTypeError::new_err("expected an ndarray"));
    }
    let arr = ob.as_ptr() as *mut npyffi::PyArrayObject;
    let (type_num, elsize, nd, flags) = unsafe {
        let desc = (*arr).descr;
        ((*desc).type_num, npyffi::PyDataType_ELSIZE(ob.py(), desc) as usize, (*arr).nd, (*arr).flags)
    };
    if nd != 1 || type_num != npyffi::types::NPY_TYPES::NPY_UNICODE as i32 {
        return Err(PyTypeError::new_err("expected a 1-D array of str"));
    }
    if flags & npyffi::NPY_ARRAY_C_CONTIGUOUS == 0 {
        return Err(PyTypeError::new_err("expected a contiguous array"));
    }
    let len = unsafe { *(*arr).dimensions } as usize;
    Ok((len, elsize))
}

/// The raw data pointer of an array (a parameter typed as numpy's struct).
///
/// # Safety
/// `arr` must point to a live numpy array.
pub unsafe fn data_of(arr: *const npyffi::PyArrayObject) -> *mut std::ffi::c_char {
    (*arr).data
}
