//! The Long Range Arena tasks (ListOps, Text, Retrieval, Image, Pathfinder-32, Path-X).
pub mod synthetic;
