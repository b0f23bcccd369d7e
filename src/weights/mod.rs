//! Reading model weights: PyTorch `.pt` state dicts and the tensor types shared by readers.

pub mod strided;
pub mod tensor_data;
pub mod torch_pt;

pub use tensor_data::{DType, TensorData};
pub use torch_pt::{read_state_dict, read_state_dict_from, StateDict};
