//! The closed set of globals the reader gives meaning to. A pickle names classes and
//! functions by `module.name`; Python would import and call them. We only recognise these
//! constructors and build their results ourselves; every other global stays an opaque name.

use super::torch::STORAGE_CLASSES;
use super::value::GlobalName;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Known {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    RebuildParameterWithState,
    /// `torch.<X>Storage`, as an index into `STORAGE_CLASSES` (keeps `Known` one byte wide).
    TorchStorage(u8),
    NumpyReconstruct,
    NumpyNdarray,
    NumpyDtype,
    NumpyScalar,
    NumpyFromBuffer,
    /// `_codecs.encode`: how Python 3 writes `bytes` at protocols below 3.
    CodecsEncode,
    Bytes,
    Bytearray,
    Set,
    FrozenSet,
}

/// Recognises a global, accepting the Python 2 and Python 3 spellings of builtins and both
/// `numpy.core` (numpy 1) and `numpy._core` (numpy 2) module paths.
pub(crate) fn resolve(module: &str, name: &str) -> Option<Known> {
    let numpy_multiarray = matches!(module, "numpy.core.multiarray" | "numpy._core.multiarray");
    let numpy_numeric = matches!(module, "numpy.core.numeric" | "numpy._core.numeric");
    let builtins = matches!(module, "builtins" | "__builtin__");
    Some(match (module, name) {
        ("collections", "OrderedDict") => Known::OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2") => Known::RebuildTensorV2,
        ("torch._utils", "_rebuild_parameter") => Known::RebuildParameter,
        ("torch._utils", "_rebuild_parameter_with_state") => Known::RebuildParameterWithState,
        ("torch", _) => {
            let index = STORAGE_CLASSES.iter().position(|(n, _)| *n == name)?;
            Known::TorchStorage(index as u8)
        }
        (_, "_reconstruct") if numpy_multiarray => Known::NumpyReconstruct,
        (_, "scalar") if numpy_multiarray => Known::NumpyScalar,
        (_, "_frombuffer") if numpy_numeric => Known::NumpyFromBuffer,
        ("numpy", "ndarray") => Known::NumpyNdarray,
        ("numpy", "dtype") => Known::NumpyDtype,
        ("_codecs", "encode") => Known::CodecsEncode,
        (_, "bytes") if builtins => Known::Bytes,
        (_, "bytearray") if builtins => Known::Bytearray,
        (_, "set") if builtins => Known::Set,
        (_, "frozenset") if builtins => Known::FrozenSet,
        _ => return None,
    })
}

impl Known {
    /// Canonical name, for known globals that end up as values (e.g. in an opaque object).
    pub(crate) fn global_name(self) -> GlobalName {
        let (module, name) = match self {
            Known::OrderedDict => ("collections", "OrderedDict"),
            Known::RebuildTensorV2 => ("torch._utils", "_rebuild_tensor_v2"),
            Known::RebuildParameter => ("torch._utils", "_rebuild_parameter"),
            Known::RebuildParameterWithState => ("torch._utils", "_rebuild_parameter_with_state"),
            Known::TorchStorage(i) => ("torch", STORAGE_CLASSES.get(i as usize).map_or("Storage", |(n, _)| *n)),
            Known::NumpyReconstruct => ("numpy.core.multiarray", "_reconstruct"),
            Known::NumpyNdarray => ("numpy", "ndarray"),
            Known::NumpyDtype => ("numpy", "dtype"),
            Known::NumpyScalar => ("numpy.core.multiarray", "scalar"),
            Known::NumpyFromBuffer => ("numpy.core.numeric", "_frombuffer"),
            Known::CodecsEncode => ("_codecs", "encode"),
            Known::Bytes => ("builtins", "bytes"),
            Known::Bytearray => ("builtins", "bytearray"),
            Known::Set => ("builtins", "set"),
            Known::FrozenSet => ("builtins", "frozenset"),
        };
        GlobalName { module: module.to_string(), name: name.to_string() }
    }
}
