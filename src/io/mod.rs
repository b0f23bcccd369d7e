//! File and byte-level helpers used by every layer, depending on nothing else in the crate:
//! atomic writes and temporary names, file locks, half-precision floats, typed tensor bytes and strided
//! gathers (shared by the pickle, `.pt`, HDF5 and safetensors readers).

pub mod atomic;
pub mod csv_table;
pub mod file_lock;
pub mod float16;
pub mod strided;
pub mod tensor_data;

pub use atomic::{temporary_sibling, write_atomically};
pub use file_lock::FileLock;
pub use tensor_data::{DType, TensorData};
