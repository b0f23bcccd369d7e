//! Dataset files: SHD (HDF5), Pathfinder images (PNG) and metadata, CIFAR-10 records, the LRA
//! TSV files (ListOps, AAN retrieval) and IMDB reviews.

use super::{files, fixture, put, read, Target};
use crate::mutate;
use elmbench::tasks::lra::pathfinder::{self, PathfinderIndex, Resolution};
use elmbench::tasks::lra::report::ReadReport;
use std::path::Path;

pub fn targets() -> Vec<Target> {
    vec![
        Target { name: "shd-hdf5", seeds: shd_seeds, aware: Some(mutate::hdf5::mutate), run: shd },
        Target { name: "png", seeds: png_seeds, aware: Some(mutate::png::mutate), run: png },
        Target {
            name: "pathfinder-metadata",
            seeds: metadata_seeds,
            aware: Some(mutate::text::mutate),
            run: pathfinder_metadata,
        },
        Target { name: "cifar", seeds: cifar_seeds, aware: None, run: cifar },
        Target { name: "listops-tsv", seeds: listops_seeds, aware: Some(mutate::text::mutate), run: listops },
        Target { name: "retrieval-tsv", seeds: retrieval_seeds, aware: Some(mutate::text::mutate), run: retrieval },
        Target { name: "imdb-review", seeds: review_seeds, aware: Some(mutate::text::mutate), run: review },
    ]
}

fn shd_seeds() -> Vec<Vec<u8>> {
    let mut seeds = files(fixture("shd/cases"), ".h5");
    seeds.push(read(fixture("shd/shd_fixture_chunked_gzip.h5")));
    seeds
}

fn shd(bytes: &[u8], _: &Path) -> anyhow::Result<()> {
    elmbench::tasks::shd::file::ShdFile::from_bytes(Path::new("case.h5"), bytes.to_vec())?;
    Ok(())
}

fn png_seeds() -> Vec<Vec<u8>> {
    let mut seeds = files(fixture("lra/lra_release/lra_release/pathfinder32"), ".png");
    seeds.extend(files(fixture("lra/lra_release/lra_release/pathfinder128"), ".png").into_iter().take(1));
    seeds.extend(files(fixture("lra/cases"), ".png"));
    seeds
}

/// Both Pathfinder sides (the expected side comes from the task, not the file): Ok when either
/// decodes.
fn png(bytes: &[u8], _: &Path) -> anyhow::Result<()> {
    let path = Path::new("case.png");
    let mut small = vec![0u8; 32 * 32];
    let a = elmbench::tasks::lra::png_grey::decode_grey_png_into(path, bytes, 32, &mut small);
    let mut large = vec![0u8; 128 * 128];
    let b = elmbench::tasks::lra::png_grey::decode_grey_png_into(path, bytes, 128, &mut large);
    a.or(b)
}

fn metadata_seeds() -> Vec<Vec<u8>> {
    files(fixture("lra/lra_release/lra_release/pathfinder32"), ".npy")
}

/// A pathfinder32 tree whose one metadata file is the case.
fn pathfinder_metadata(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    let root = format!("lra/lra_release/lra_release/pathfinder32/{}", pathfinder::DIFFICULTY);
    put(dir, &format!("{root}/metadata/0.npy"), bytes)?;
    std::fs::create_dir_all(dir.join(&root).join("imgs/0"))?;
    PathfinderIndex::load(dir, Resolution::Px32)?;
    Ok(())
}

fn cifar_seeds() -> Vec<Vec<u8>> {
    files(fixture("lra/cifar-10-batches-bin"), ".bin")
}

fn cifar(bytes: &[u8], _: &Path) -> anyhow::Result<()> {
    elmbench::tasks::lra::image::CifarBatch::from_bytes(Path::new("data_batch_1.bin"), bytes)?;
    Ok(())
}

fn listops_seeds() -> Vec<Vec<u8>> {
    files(fixture("lra/lra_release/lra_release/listops-1000"), ".tsv")
}

fn listops(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    let mut report = ReadReport::default();
    elmbench::tasks::lra::listops::read_split(&put(dir, "basic_train.tsv", bytes)?, &mut report)?;
    Ok(())
}

fn retrieval_seeds() -> Vec<Vec<u8>> {
    files(fixture("lra/lra_release/lra_release/tsv_data"), ".tsv")
}

fn retrieval(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    let mut report = ReadReport::default();
    let path = put(dir, "new_aan_pairs.train.tsv", bytes)?;
    // Bytes as tokens: what the vocabulary does with them is not the parser's business.
    elmbench::tasks::lra::retrieval::read_pairs(&path, &mut report, |text, out| {
        out.extend(text.bytes().take(4000));
        0
    })?;
    Ok(())
}

fn review_seeds() -> Vec<Vec<u8>> {
    files(fixture("lra/aclImdb"), ".txt")
}

fn review(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    elmbench::tasks::lra::text::read_review(&put(dir, "0_7.txt", bytes)?)?;
    Ok(())
}
