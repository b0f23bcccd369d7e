//! Weights in and out: our checkpoint format (safetensors + JSON config) and the official
//! PyTorch state dicts (`.pt`). The tensor types they share with other readers live in `crate::io`.

pub mod checkpoint;
pub mod load;
pub mod torch_pt;

pub use checkpoint::{read_checkpoint, write_checkpoint};
pub use torch_pt::{read_state_dict, read_state_dict_from, StateDict};
