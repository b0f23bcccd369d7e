//! Readers and writers of outside file formats (DESIGN.md section 2).

pub mod hdf5_writer;
