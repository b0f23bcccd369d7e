//! `elmbench fetch`: download, verify and unpack real datasets (see `crate::fetch`).

use std::path::PathBuf;

use crate::fetch::{self, manifest::Manifest, FetchOptions};

/// The command line's choices, as parsed by `main.rs`.
pub struct FetchArgs {
    pub datasets: Vec<String>,
    pub data_dir: Option<PathBuf>,
    pub mirror: Option<String>,
    pub manifest: Option<PathBuf>,
    pub verify_only: bool,
}

pub fn run(args: FetchArgs) -> anyhow::Result<()> {
    let manifest = match &args.manifest {
        Some(path) => Manifest::load(path)?,
        None => Manifest::builtin()?,
    };
    let mut options = FetchOptions::new(fetch::data_dir::resolve(args.data_dir.as_deref()));
    options.mirror = args.mirror;
    options.verify_only = args.verify_only;
    options.manifest_arg = args.manifest;
    let mut stdout = std::io::stdout().lock();
    fetch::fetch(&args.datasets, &manifest, &options, &mut stdout)?;
    Ok(())
}
