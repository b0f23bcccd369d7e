//! PyTorch values inside a `torch.save` pickle: storage references (persistent ids that name
//! a raw file in the archive) and tensors rebuilt from them by `_rebuild_tensor_v2`.

use crate::io::tensor_data::DType;
use std::sync::Arc;

/// A storage referenced by a persistent id `('storage', torch.<Type>Storage, key, location,
/// numel)`; its bytes are the archive member `<prefix>/data/<key>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageRef {
    /// The storage class name, e.g. `FloatStorage`.
    pub type_name: String,
    /// Element type, or `None` for storage classes we do not read (complex, quantized ...).
    pub dtype: Option<DType>,
    pub key: String,
    /// Device the tensor lived on when saved (e.g. `cuda:0`); irrelevant for reading.
    pub location: String,
    /// Number of elements in the storage.
    pub numel: u64,
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it: a strided view of a storage,
/// all quantities in elements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TorchTensor {
    pub storage: Arc<StorageRef>,
    pub storage_offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
    pub requires_grad: bool,
    /// Wrapped in `torch.nn.Parameter` (`_rebuild_parameter`).
    pub is_parameter: bool,
}

/// The `torch.<name>` storage classes we can read, with their element types. Untyped
/// storages count bytes.
pub(crate) const STORAGE_CLASSES: [(&str, DType); 11] = [
    ("DoubleStorage", DType::F64),
    ("FloatStorage", DType::F32),
    ("HalfStorage", DType::F16),
    ("BFloat16Storage", DType::BF16),
    ("LongStorage", DType::I64),
    ("IntStorage", DType::I32),
    ("ShortStorage", DType::I16),
    ("CharStorage", DType::I8),
    ("ByteStorage", DType::U8),
    ("BoolStorage", DType::Bool),
    ("UntypedStorage", DType::U8),
];
