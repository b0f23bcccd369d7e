//! torch's pickled constructors: storages as persistent ids and tensors rebuilt from them
//! (`_rebuild_tensor_v2`, optionally wrapped by `_rebuild_parameter`).

use super::globals::Known;
use super::heap::{Heap, Item, Node};
use super::torch::{StorageRef, TorchTensor, STORAGE_CLASSES};
use super::value::Value;
use std::sync::Arc;

impl Heap {
    /// `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
    /// backward_hooks[, metadata])`.
    pub(super) fn rebuild_tensor(&mut self, args: Item) -> Result<Item, String> {
        let items = self.tuple_slice(&args).unwrap_or(&[]);
        if !(6..=7).contains(&items.len()) {
            return Err(format!("_rebuild_tensor_v2 takes 6 or 7 arguments, the pickle gives {}", items.len()));
        }
        let storage = match self.done(&items[0]) {
            Some(Value::TorchStorage(s)) => s.clone(),
            _ => {
                return Err(format!(
                    "_rebuild_tensor_v2 storage argument is a {}, not a torch storage",
                    self.kind(&items[0])
                ))
            }
        };
        let storage_offset = self
            .as_usize(&items[1])
            .ok_or_else(|| format!("_rebuild_tensor_v2 storage offset is a {}", self.kind(&items[1])))?;
        let shape = self.usize_tuple(&items[2], "_rebuild_tensor_v2 size")?;
        let stride = self.usize_tuple(&items[3], "_rebuild_tensor_v2 stride")?;
        if shape.len() != stride.len() {
            return Err(format!("_rebuild_tensor_v2 size {shape:?} and stride {stride:?} differ in length"));
        }
        let requires_grad = self
            .as_flag(&items[4])
            .ok_or_else(|| format!("_rebuild_tensor_v2 requires_grad is a {}", self.kind(&items[4])))?;
        self.leaf(Value::TorchTensor(Arc::new(TorchTensor {
            storage,
            storage_offset,
            shape,
            stride,
            requires_grad,
            is_parameter: false,
        })))
    }

    /// `_rebuild_parameter(data, requires_grad, backward_hooks)` and the `_with_state`
    /// variant (whose extra Python attributes on the parameter we do not need).
    pub(super) fn rebuild_parameter(&mut self, args: Item, known: Known) -> Result<Item, String> {
        let items = self.tuple_slice(&args).unwrap_or(&[]);
        let expected = if known == Known::RebuildParameter { 3 } else { 4 };
        if items.len() != expected {
            return Err(format!(
                "{} takes {expected} arguments, the pickle gives {}",
                known.global_name(),
                items.len()
            ));
        }
        let Some(Value::TorchTensor(data)) = self.done(&items[0]) else {
            return Err(format!("{} data is a {}, not a tensor", known.global_name(), self.kind(&items[0])));
        };
        let requires_grad =
            self.as_flag(&items[1]).ok_or_else(|| format!("parameter requires_grad is a {}", self.kind(&items[1])))?;
        let tensor = TorchTensor { requires_grad, is_parameter: true, ..(**data).clone() };
        self.leaf(Value::TorchTensor(Arc::new(tensor)))
    }

    /// BINPERSID / PERSID: torch's storage ids become `TorchStorage`; others stay opaque.
    pub(crate) fn persistent_id(&mut self, pid: Item) -> Result<Item, String> {
        if let Some(storage) = self.torch_storage(&pid) {
            return self.leaf(Value::TorchStorage(Arc::new(storage?)));
        }
        self.alloc(Node::PersistentId(pid))
    }

    /// `('storage', storage_class, key, location, numel)`; `None` if `pid` is not shaped
    /// like a torch storage id at all.
    fn torch_storage(&self, pid: &Item) -> Option<Result<StorageRef, String>> {
        let items = self.tuple_slice(pid)?;
        if items.len() != 5 || self.as_text(&items[0]).as_deref() != Some("storage") {
            return None;
        }
        let (type_name, dtype) = match items[1] {
            Item::Known(Known::TorchStorage(i)) => {
                let (name, dtype) = STORAGE_CLASSES.get(i as usize)?;
                (name.to_string(), Some(*dtype))
            }
            other => match self.done(&other) {
                Some(Value::Global(g)) if g.module == "torch" => (g.name.clone(), None),
                _ => return None,
            },
        };
        let fields = || -> Result<StorageRef, String> {
            let key = self.as_text(&items[2]).ok_or_else(|| format!("storage key is a {}", self.kind(&items[2])))?;
            let location =
                self.as_text(&items[3]).ok_or_else(|| format!("storage location is a {}", self.kind(&items[3])))?;
            let numel = match items[4] {
                Item::Int(n) if n >= 0 => n as u64,
                other => return Err(format!("storage size is a {}", self.kind(&other))),
            };
            Ok(StorageRef {
                type_name: type_name.clone(),
                dtype,
                key: key.into_owned(),
                location: location.into_owned(),
                numel,
            })
        };
        Some(fields())
    }
}
