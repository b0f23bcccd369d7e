//! Weights in and out: our checkpoint format (safetensors + JSON config), the official
//! PyTorch state dicts (`.pt`), and the tensor types shared by readers.

pub mod checkpoint;
pub mod load;
pub mod strided;
pub mod tensor_data;
pub mod torch_pt;

pub use checkpoint::{read_checkpoint, write_checkpoint};
pub use tensor_data::{DType, TensorData};
pub use torch_pt::{read_state_dict, read_state_dict_from, StateDict};
