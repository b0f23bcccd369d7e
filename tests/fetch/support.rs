//! Helpers for the fetch tests: scratch folders, quick network options, archives built in memory,
//! and checksums computed with the hash crates directly (never by the code under test).

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use elmbench::fetch::download::HttpOptions;
use elmbench::fetch::kaggle::CredentialLookup;
use elmbench::fetch::manifest::Manifest;
use elmbench::fetch::{fetch, FetchOptions, FetchReport};
use flate2::write::GzEncoder;
use md5::Md5;
use sha2::{Digest, Sha256};

/// A scratch folder removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("elmbench-fetch-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The data dir of a test: a folder inside the scratch folder, so that anything written
    /// outside the data dir is still inside the scratch folder where the test can look for it.
    pub fn data_dir(&self) -> PathBuf {
        self.0.join("data")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Options with short timeouts and backoff, no Kaggle credentials, no progress bars.
pub fn quick_options(data_dir: &Path) -> FetchOptions {
    FetchOptions {
        data_dir: data_dir.to_path_buf(),
        mirror: None,
        verify_only: false,
        http: HttpOptions {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            retries: 3,
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(100),
        },
        kaggle: CredentialLookup::default(),
        show_progress: false,
        manifest_arg: None,
    }
}

/// Runs a fetch and returns its result with everything it printed.
pub fn run_fetch(
    datasets: &[&str],
    manifest: &Manifest,
    options: &FetchOptions,
) -> (anyhow::Result<FetchReport>, String) {
    let names: Vec<String> = datasets.iter().map(|d| d.to_string()).collect();
    let mut out = Vec::new();
    let result = fetch(&names, manifest, options, &mut out);
    (result, String::from_utf8_lossy(&out).into_owned())
}

/// One `[[file]]` table; `extra` holds further `key = value` lines (checksums, size).
pub fn entry_toml(dataset: &str, url: &str, name: &str, unpack: &str, dest: &str, extra: &str) -> String {
    format!(
        "[[file]]\ndataset = \"{dataset}\"\nurl = \"{url}\"\nname = \"{name}\"\nunpack = \"{unpack}\"\ndest = \"{dest}\"\n{extra}\n"
    )
}

pub fn parse_manifest(text: &str) -> Manifest {
    Manifest::parse(text, "test manifest").expect("test manifest parses")
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A tar entry for `tar_gz`: a file, a folder, or raw header fields for entries the tar crate's
/// safe setters would refuse to write (`..`, absolute paths, escaping links).
pub enum TarItem<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    /// Written byte for byte into the header's name field.
    RawFile(&'a str, &'a [u8]),
    RawSymlink(&'a str, &'a str),
    RawHardLink(&'a str, &'a str),
}

fn raw_header(name: &str, kind: tar::EntryType, size: u64, link: &str) -> tar::Header {
    let mut header = tar::Header::new_old();
    {
        let old = header.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    header
}

pub fn tar_gz(items: &[TarItem]) -> Vec<u8> {
    let encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for item in items {
        match item {
            TarItem::File(path, data) => {
                let mut header = tar::Header::new_gnu();
                header.set_size(data.len() as u64);
                header.set_mode(0o644);
                header.set_entry_type(tar::EntryType::Regular);
                builder.append_data(&mut header, path, *data).unwrap();
            }
            TarItem::Dir(path) => {
                let mut header = tar::Header::new_gnu();
                header.set_size(0);
                header.set_mode(0o755);
                header.set_entry_type(tar::EntryType::Directory);
                builder.append_data(&mut header, path, &[][..]).unwrap();
            }
            TarItem::RawFile(name, data) => {
                let header = raw_header(name, tar::EntryType::Regular, data.len() as u64, "");
                builder.append(&header, *data).unwrap();
            }
            TarItem::RawSymlink(name, target) => {
                let header = raw_header(name, tar::EntryType::Symlink, 0, target);
                builder.append(&header, &[][..]).unwrap();
            }
            TarItem::RawHardLink(name, target) => {
                let header = raw_header(name, tar::EntryType::Link, 0, target);
                builder.append(&header, &[][..]).unwrap();
            }
        }
    }
    builder.into_inner().unwrap().finish().unwrap()
}

pub enum ZipItem<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
}

pub fn zip_bytes(items: &[ZipItem]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for item in items {
        match item {
            ZipItem::File(name, data) => {
                writer.start_file(*name, options).unwrap();
                writer.write_all(data).unwrap();
            }
            ZipItem::Dir(name) => writer.add_directory(*name, options).unwrap(),
            ZipItem::Symlink(name, target) => writer.add_symlink(*name, *target, options).unwrap(),
        }
    }
    writer.finish().unwrap().into_inner()
}

/// Every file or link below `dir` whose name is `name`.
pub fn find_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(items) = std::fs::read_dir(dir) else {
        return found;
    };
    for item in items.flatten() {
        let path = item.path();
        if item.file_name() == name {
            found.push(path.clone());
        }
        let is_real_dir = std::fs::symlink_metadata(&path).map(|m| m.is_dir()).unwrap_or(false);
        if is_real_dir {
            found.extend(find_named(&path, name));
        }
    }
    found
}

/// Names in a folder (hidden ones included), sorted; empty if the folder does not exist.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|items| items.flatten().map(|i| i.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}
