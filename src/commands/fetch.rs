//! `elmbench fetch`: download, verify and unpack real datasets (see `crate::fetch`).

use std::path::PathBuf;

use crate::fetch::{self, manifest::Manifest, FetchOptions};

#[derive(clap::Args)]
pub struct FetchArgs {
    /// Datasets to fetch, as named in the manifest: neuronio, shd, lra, cifar10, imdb, or all.
    #[arg(required = true)]
    pub datasets: Vec<String>,
    /// Data root; default: $ELMBENCH_DATA, else ./data.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Download every file from <URL>/<name> instead of its manifest URL (a private mirror
    /// holding the files under their manifest names). Kaggle credentials are not sent to it.
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Use this manifest instead of the built-in fetch/datasets.toml (same schema).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Do not use the network: verify the files already in the data dir (e.g. placed by hand),
    /// unpack verified ones not unpacked yet, and check each dataset's structure.
    #[arg(long)]
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
