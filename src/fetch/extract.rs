//! Unpacking verified archives without ever leaving a half-unpacked state or writing outside the
//! destination.
//!
//! Everything is first unpacked into a hidden staging folder beside the destination
//! (`<dest>/.<archive>.unpacking`), streaming entry by entry. Entries that would escape (absolute
//! paths, `..`, links whose target is absolute or climbs with `..`) abort the whole unpack and the
//! staging folder is removed. Only a complete unpack is moved into place, one rename per top-level
//! item.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use flate2::read::MultiGzDecoder;

use super::manifest::Unpack;
use super::progress;

/// A complete unpack waiting in its staging folder.
#[derive(Debug)]
pub struct Staged {
    pub dir: PathBuf,
    /// Names of the top-level files and folders, sorted.
    pub outputs: Vec<String>,
}

/// The staging folder used for `archive_name` inside `dest_dir`.
pub fn staging_dir(dest_dir: &Path, archive_name: &str) -> PathBuf {
    dest_dir.join(format!(".{archive_name}.unpacking"))
}

/// The single file a gunzip entry produces: `x.gz` becomes `x`.
pub fn gunzip_output_name(archive_name: &str) -> &str {
    archive_name.strip_suffix(".gz").unwrap_or(archive_name)
}

/// Unpacks `archive` into a fresh staging folder in `dest_dir`. On any error the staging folder is
/// removed, so nothing unpacked remains.
pub fn unpack_to_staging(
    kind: Unpack,
    archive: &Path,
    dest_dir: &Path,
    archive_name: &str,
    show_progress: bool,
) -> Result<Staged> {
    let dir = staging_dir(dest_dir, archive_name);
    remove_if_present(&dir)?; // a leftover of an interrupted earlier unpack
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = match kind {
        Unpack::None => Ok(()),
        Unpack::Gunzip => gunzip(archive, &dir.join(gunzip_output_name(archive_name)), show_progress),
        Unpack::Zip => unzip(archive, &dir, show_progress),
        Unpack::TarGz => untar_gz(archive, &dir, show_progress),
    };
    let outputs = result.and_then(|()| top_level_names(&dir));
    match outputs {
        Ok(outputs) => Ok(Staged { dir, outputs }),
        Err(error) => {
            let cleanup = remove_if_present(&dir);
            match cleanup {
                Ok(()) => {
                    Err(error.context(format!("cannot unpack {}; nothing of it was unpacked", archive.display())))
                }
                Err(cleanup_error) => Err(error.context(format!(
                    "cannot unpack {}, and removing the partial unpack {} failed too: {cleanup_error:#}",
                    archive.display(),
                    dir.display()
                ))),
            }
        }
    }
}

impl Staged {
    /// Moves every top-level output into `dest_dir`. An existing item is replaced only when it is
    /// listed in `replaceable` (an earlier unpack of the same archive, per the lock file); anything
    /// else in the way stops the move before anything is moved.
    pub fn move_into_place(self, dest_dir: &Path, replaceable: &[String]) -> Result<Vec<String>> {
        let in_the_way: Vec<&String> = self
            .outputs
            .iter()
            .filter(|o| fs::symlink_metadata(dest_dir.join(o)).is_ok() && !replaceable.contains(o))
            .collect();
        if !in_the_way.is_empty() {
            let names: Vec<String> = in_the_way.iter().map(|o| dest_dir.join(o).display().to_string()).collect();
            let _ = remove_if_present(&self.dir);
            bail!(
                "refusing to overwrite {}: not unpacked by elmbench from this archive (per fetch.lock); move it away and fetch again",
                names.join(", ")
            );
        }
        let replaced = self.dir.with_extension("replaced");
        for output in &self.outputs {
            let target = dest_dir.join(output);
            if fs::symlink_metadata(&target).is_ok() {
                fs::create_dir_all(&replaced).with_context(|| format!("cannot create {}", replaced.display()))?;
                fs::rename(&target, replaced.join(output))
                    .with_context(|| format!("cannot move the old {} aside", target.display()))?;
            }
            fs::rename(self.dir.join(output), &target)
                .with_context(|| format!("cannot move the unpacked {} into place", target.display()))?;
        }
        remove_if_present(&replaced)?;
        remove_if_present(&self.dir)?;
        Ok(self.outputs)
    }
}

/// Removes a file or folder tree if it exists.
pub fn remove_if_present(path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", path.display())),
    };
    let result = if meta.is_dir() { fs::remove_dir_all(path) } else { fs::remove_file(path) };
    result.with_context(|| format!("cannot remove {}", path.display()))
}

fn top_level_names(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for item in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let item = item.with_context(|| format!("cannot list {}", dir.display()))?;
        names.push(item.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// An archive entry's path made relative to the unpack root, or why it is refused.
pub fn safe_entry_path(raw: &Path) -> std::result::Result<PathBuf, &'static str> {
    let mut clean = PathBuf::new();
    for component in raw.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("climbs out with `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("is an absolute path"),
        }
    }
    Ok(clean)
}

/// A link target is accepted only when it stays below the link's own folder: relative, without
/// `..`. Links that could resolve inside through `..` are refused too, because a chain of such
/// links can climb out, and none of the real dataset archives needs them.
pub fn safe_link_target(target: &Path) -> std::result::Result<(), &'static str> {
    for component in target.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err("is a link whose target climbs out with `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("is a link to an absolute path"),
        }
    }
    if target.as_os_str().is_empty() {
        return Err("is a link with an empty target");
    }
    Ok(())
}

/// Writes entries below `root`, remembering whether links exist, in which case nothing may be
/// written through one.
struct Writer<'a> {
    root: &'a Path,
    archive: &'a Path,
    links_made: bool,
}

impl Writer<'_> {
    fn refuse(&self, raw: &Path, why: &str) -> anyhow::Error {
        anyhow!("refusing archive {}: entry `{}` {why}", self.archive.display(), raw.display())
    }

    /// The first link among the folders leading to `rel`, and whether `rel` itself is a link.
    fn links_on_the_way(&self, rel: &Path) -> (bool, bool) {
        if !self.links_made {
            return (false, false);
        }
        let mut prefix = PathBuf::new();
        let mut through = false;
        let mut last = false;
        for part in rel.iter() {
            prefix.push(part);
            let is_link = fs::symlink_metadata(self.root.join(&prefix)).is_ok_and(|m| m.file_type().is_symlink());
            if prefix == rel {
                last = is_link;
            } else {
                through |= is_link;
            }
        }
        (through, last)
    }

    /// The absolute target of an entry, after the path checks. Links only ever point downwards,
    /// but an entry is still never written through one; a link standing where the entry goes is
    /// replaced by the entry.
    fn target(&self, raw: &Path) -> Result<(PathBuf, PathBuf)> {
        let rel = safe_entry_path(raw).map_err(|why| self.refuse(raw, why))?;
        let (through, last) = self.links_on_the_way(&rel);
        if through {
            return Err(self.refuse(raw, "would be written through a link"));
        }
        let target = self.root.join(&rel);
        if last {
            fs::remove_file(&target).with_context(|| format!("cannot replace link {}", target.display()))?;
        }
        Ok((target, rel))
    }

    fn dir(&self, raw: &Path) -> Result<()> {
        let (target, _) = self.target(raw)?;
        fs::create_dir_all(&target).with_context(|| format!("cannot create {}", target.display()))
    }

    fn file(&self, raw: &Path, content: &mut dyn Read) -> Result<()> {
        let (target, rel) = self.target(raw)?;
        if rel.as_os_str().is_empty() {
            return Err(self.refuse(raw, "is a file without a name"));
        }
        create_parent(&target)?;
        let mut out = File::create(&target).with_context(|| format!("cannot create {}", target.display()))?;
        io::copy(content, &mut out)
            .with_context(|| format!("cannot unpack `{}` from {}", raw.display(), self.archive.display()))?;
        Ok(())
    }

    fn symlink(&mut self, raw: &Path, link_target: &Path) -> Result<()> {
        safe_link_target(link_target)
            .map_err(|why| self.refuse(raw, &format!("{why} (target `{}`)", link_target.display())))?;
        let (target, _) = self.target(raw)?;
        create_parent(&target)?;
        if fs::symlink_metadata(&target).is_ok() {
            remove_if_present(&target)?;
        }
        make_symlink(link_target, &target)?;
        self.links_made = true;
        Ok(())
    }

    /// A tar hard link names an earlier entry by its archive path; it becomes a copy.
    fn hard_link(&self, raw: &Path, earlier: &Path) -> Result<()> {
        let source_rel = safe_entry_path(earlier)
            .map_err(|why| self.refuse(raw, &format!("is a hard link to `{}`, which {why}", earlier.display())))?;
        let (through, last) = self.links_on_the_way(&source_rel);
        if through || last {
            return Err(self.refuse(raw, "is a hard link that would be read through a link"));
        }
        let source = self.root.join(&source_rel);
        let (target, _) = self.target(raw)?;
        create_parent(&target)?;
        fs::copy(&source, &target).with_context(|| {
            format!(
                "cannot unpack hard link `{}` to `{}` from {}",
                raw.display(),
                earlier.display(),
                self.archive.display()
            )
        })?;
        Ok(())
    }
}

#[cfg(unix)]
fn make_symlink(link_target: &Path, at: &Path) -> Result<()> {
    std::os::unix::fs::symlink(link_target, at).with_context(|| format!("cannot create link {}", at.display()))
}

#[cfg(not(unix))]
fn make_symlink(_link_target: &Path, at: &Path) -> Result<()> {
    bail!("cannot create link {}: links in archives are supported on Unix only", at.display())
}

fn create_parent(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    Ok(())
}

/// Counts compressed bytes read, for the progress bar.
struct ProgressReader<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

fn open_with_progress(archive: &Path, show_progress: bool) -> Result<BufReader<ProgressReader<File>>> {
    let file = File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    let len = file.metadata().map(|m| m.len()).ok();
    let name = archive.file_name().unwrap_or_default().to_string_lossy();
    let bar = progress::bytes_bar(show_progress, len, &format!("unpacking {name}"));
    Ok(BufReader::with_capacity(1 << 20, ProgressReader { inner: file, bar }))
}

fn gunzip(archive: &Path, output: &Path, show_progress: bool) -> Result<()> {
    let reader = open_with_progress(archive, show_progress)?;
    let mut decoder = MultiGzDecoder::new(reader);
    let mut out = File::create(output).with_context(|| format!("cannot create {}", output.display()))?;
    io::copy(&mut decoder, &mut out).with_context(|| format!("{} is not a valid gzip file", archive.display()))?;
    out.sync_all().with_context(|| format!("cannot write {}", output.display()))?;
    decoder.get_ref().get_ref().bar.finish_and_clear();
    Ok(())
}

fn untar_gz(archive: &Path, root: &Path, show_progress: bool) -> Result<()> {
    let reader = open_with_progress(archive, show_progress)?;
    let mut tar = tar::Archive::new(MultiGzDecoder::new(reader));
    let mut writer = Writer { root, archive, links_made: false };
    let not_tar = || format!("{} is not a valid gzipped tar", archive.display());
    for entry in tar.entries().with_context(not_tar)? {
        let mut entry = entry.with_context(not_tar)?;
        let raw = entry.path().with_context(not_tar)?.into_owned();
        let kind = entry.header().entry_type();
        use tar::EntryType;
        match kind {
            // Metadata records the tar crate already applied to the entries they describe.
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName | EntryType::GNULongLink => {}
            EntryType::Directory => writer.dir(&raw)?,
            EntryType::Regular | EntryType::Continuous => writer.file(&raw, &mut entry)?,
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .with_context(not_tar)?
                    .ok_or_else(|| writer.refuse(&raw, "is a link without a target"))?
                    .into_owned();
                writer.symlink(&raw, &target)?;
            }
            EntryType::Link => {
                let earlier = entry
                    .link_name()
                    .with_context(not_tar)?
                    .ok_or_else(|| writer.refuse(&raw, "is a hard link without a target"))?
                    .into_owned();
                writer.hard_link(&raw, &earlier)?;
            }
            other => return Err(writer.refuse(&raw, &format!("has a type elmbench does not unpack ({other:?})"))),
        }
    }
    Ok(())
}

fn unzip(archive: &Path, root: &Path, show_progress: bool) -> Result<()> {
    let file = File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .with_context(|| format!("{} is not a valid zip archive", archive.display()))?;
    let bar = progress::bytes_bar(show_progress, None, "unpacking entries");
    let mut writer = Writer { root, archive, links_made: false };
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).with_context(|| {
            format!("cannot read entry {index} of {} (unsupported compression?)", archive.display())
        })?;
        // Some zip writers use Windows separators; treat them as folders, then check the path.
        let name = String::from_utf8_lossy(entry.name_raw()).replace('\\', "/");
        let raw = PathBuf::from(&name);
        if entry.is_dir() {
            writer.dir(&raw)?;
        } else if entry.is_symlink() {
            let mut target = String::new();
            entry
                .read_to_string(&mut target)
                .with_context(|| format!("cannot read link `{name}` in {}", archive.display()))?;
            writer.symlink(&raw, Path::new(&target))?;
        } else {
            writer.file(&raw, &mut entry)?;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}
