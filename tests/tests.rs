//! All integration tests compile into this one binary (a link costs minutes on a 2-core machine).

mod support;

mod neuronio_pickle;
mod pickle_corruption;
mod pickle_vm;
mod torch_pt;
