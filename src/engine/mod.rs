//! The numeric core: shaped f32 buffers, a GEMM wrapper, elementwise kernels, a seeded random
//! number generator (plus numpy's, for the official data splits) and named parameter sets.
//! Everything a model needs, nothing model-specific.

pub mod gemm;
pub mod group_matmul;
pub mod input_linear;
pub mod isa;
pub mod kernels;
pub mod numpy_random;
pub mod params;
pub mod pool;
pub mod random;
pub mod scaled_rows;
pub mod sequences;
pub mod tensor;
pub mod workers;

pub use gemm::{gemm, MatMut, MatRef};
pub use params::{ParamSet, Parameter};
pub use pool::BufferPool;
pub use random::Rng;
pub use sequences::{Inputs, SparseSequences};
pub use tensor::Tensor;
