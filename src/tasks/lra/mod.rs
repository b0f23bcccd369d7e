//! The six Long Range Arena tasks (Tay et al. 2021; DATASETS.md 3) read from their real on-disk
//! formats into compact integer sequences: one `u8` token index per step, never f32. The model's
//! one-hot input is made per batch (`batch`), so a split costs one byte a step in memory.
//!
//! | task | files | tokens | vocabulary | paper input size | T |
//! |---|---|---|---|---|---|
//! | ListOps | `listops-1000/basic_{train,val,test}.tsv` | LRA's tokens | 15 fixed symbols | 25 | 2,000 |
//! | Text | `aclImdb/{train,test}/{pos,neg}/*.txt` | characters | training characters seen 15+ times, + `<unk>` | 169 | 4,096 |
//! | Retrieval | `tsv_data/new_aan_pairs.{train,eval,test}.tsv` | characters, 2 documents | training characters, + `<unk>` | 105 | 4,000 a document |
//! | Image | `cifar-10-batches-bin/*.bin` | PIL grey, `v >> 4` | 16 levels | 16 | 1,024 |
//! | Pathfinder | `pathfinder32/curv_contour_length_14/` | PNG grey, `v >> 4` | 16 levels | 16 | 1,024 |
//! | Path-X | `pathfinder128/curv_contour_length_14/` | PNG grey, `v >> 5` | 8 levels | 8 | 16,384 |
//!
//! A vocabulary smaller than the paper's input size fills the first columns of the one-hot
//! input; the other columns stay zero, so parameter counts match the paper's (its sizes 25, 169
//! and 105 look like Mega's fairseq dictionaries, padded to multiples of 8 plus one; DATASETS.md
//! 3.7).
//!
//! Model input (`batch`): sequences shorter than T are LEFT-padded with all-zero rows, so the
//! last step of every sequence is its last real token and the paper's readout, which classifies
//! from the last output, sees the whole sequence.
//!
//! - `sequences`: ragged token sequences with labels (`LraSplit`), and pairs (`PairSplit`).
//! - `batch`: token sequences to a one-hot `SparseSequences` batch with left padding.
//! - `report`: what reading skipped, truncated or mapped to `<unk>`, for the caller to print.
//! - `locate`: where `elmbench fetch lra cifar10 imdb` puts the files.
//! - `vocab`: character vocabularies built from training text (Text, Retrieval).
//! - `listops`, `text`, `retrieval`, `image`, `pathfinder` (+ `png_grey`): the readers.
//! - `synthetic`: `elmbench synth lra`, every task written in the real files and folders.

pub mod batch;
pub mod data;
pub mod export;
pub mod image;
mod lines;
pub mod listops;
pub mod locate;
pub mod pathfinder;
pub mod png_grey;
pub mod presets;
pub mod report;
pub mod retrieval;
pub mod sequences;
pub mod settings;
pub mod stream;
pub mod synthetic;
pub mod task;
pub mod text;
pub mod vocab;

pub use batch::one_hot_batch;
pub use image::ImageData;
pub use listops::ListOps;
pub use pathfinder::{PathfinderIndex, PathfinderSplits, Resolution};
pub use presets::model_preset;
pub use report::{ReadReport, Skipped};
pub use retrieval::Retrieval;
pub use sequences::{LraSplit, PairSplit, Sequences};
pub use settings::LraSettings;
pub use task::Lra;
pub use text::ImdbText;
pub use vocab::CharVocab;

/// One of the six LRA tasks, with the sizes the ELM paper uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LraTask {
    ListOps,
    Text,
    Retrieval,
    Image,
    Pathfinder,
    PathX,
}

impl LraTask {
    pub const ALL: [LraTask; 6] =
        [LraTask::ListOps, LraTask::Text, LraTask::Retrieval, LraTask::Image, LraTask::Pathfinder, LraTask::PathX];

    pub fn name(self) -> &'static str {
        match self {
            LraTask::ListOps => "listops",
            LraTask::Text => "text",
            LraTask::Retrieval => "retrieval",
            LraTask::Image => "image",
            LraTask::Pathfinder => "pathfinder",
            LraTask::PathX => "path-x",
        }
    }

    /// The width of the one-hot input (paper Table S2). Every vocabulary here fits it.
    pub fn input_size(self) -> usize {
        match self {
            LraTask::ListOps => 25,
            LraTask::Text => 169,
            LraTask::Retrieval => 105,
            LraTask::Image => 16,
            LraTask::Pathfinder => 16,
            LraTask::PathX => 8,
        }
    }

    /// Steps of the model input, T (per document for Retrieval). The paper states none; these are
    /// LRA's (ListOps 2,000, Retrieval 4,000), S4's (Text 4,096) and the image sizes.
    pub fn seq_len(self) -> usize {
        match self {
            LraTask::ListOps => 2000,
            LraTask::Text => 4096,
            LraTask::Retrieval => 4000,
            LraTask::Image => 1024,
            LraTask::Pathfinder => 1024,
            LraTask::PathX => 16_384,
        }
    }

    /// The folder under the data root that `elmbench fetch` fills with this task's files.
    pub fn folder(self) -> &'static str {
        match self {
            LraTask::Image => "cifar10",
            LraTask::Text => "imdb",
            _ => "lra",
        }
    }

    pub fn classes(self) -> usize {
        match self {
            LraTask::ListOps | LraTask::Image => 10,
            LraTask::Text | LraTask::Retrieval | LraTask::Pathfinder | LraTask::PathX => 2,
        }
    }
}
