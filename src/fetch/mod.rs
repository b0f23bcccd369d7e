//! Download, resume, verify and unpack the real dataset archives (issue 6).
//!
//! For each file of the requested datasets (from the manifest, `fetch/datasets.toml`):
//! 1. nothing to do if `fetch.lock` says it was verified and unpacked and the unpacked files exist;
//! 2. otherwise take the archive already in the data dir (placed by hand, or downloaded by an
//!    earlier run that stopped before unpacking), or download it into `<name>.part` (resuming);
//! 3. verify it (size, sha256/md5, the upstream md5 list, or the sha256 pinned on first use) before
//!    anything else happens; a downloaded file is renamed into place only once verified;
//! 4. record it in `fetch.lock`, unpack into a staging folder, move the result into place;
//! 5. finally check each dataset's structure and report what is missing.
//!
//! Files live at `<data dir>/<dest>/<name>`, and unpack into `<data dir>/<dest>/`.

pub mod data_dir;
pub mod download;
pub mod extract;
pub mod kaggle;
pub mod lockfile;
pub mod manifest;
pub mod progress;
pub mod published;
pub mod structure;
pub mod verify;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use reqwest::blocking::Client;
use reqwest::Url;

use download::HttpOptions;
use kaggle::CredentialLookup;
use lockfile::{LockEntry, LockFile};
use manifest::{FileEntry, Manifest, Unpack};
use structure::StructureReport;
use verify::{Digests, Expected, Source};

/// Everything `fetch` needs besides the manifest and the dataset names.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub data_dir: PathBuf,
    /// Download every file from `<mirror>/<name>` instead of its manifest URL.
    pub mirror: Option<String>,
    /// Never use the network: check what is in the data dir, unpack verified archives that are
    /// not unpacked yet, and run the structural checks.
    pub verify_only: bool,
    pub http: HttpOptions,
    pub kaggle: CredentialLookup,
    /// Progress bars on stderr (indicatif shows them only on a terminal anyway).
    pub show_progress: bool,
    /// The `--manifest` given, repeated in the commands that messages suggest.
    pub manifest_arg: Option<PathBuf>,
}

impl FetchOptions {
    /// Options as the command line uses them by default.
    pub fn new(data_dir: PathBuf) -> FetchOptions {
        FetchOptions {
            data_dir,
            mirror: None,
            verify_only: false,
            http: HttpOptions::default(),
            kaggle: CredentialLookup::from_environment(),
            show_progress: true,
            manifest_arg: None,
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAction {
    /// Verified and unpacked by an earlier fetch (per fetch.lock); nothing was done.
    AlreadyDone,
    /// Downloaded now (`resumed_from`: bytes a `.part` file already held).
    Downloaded { resumed_from: Option<u64>, range_ignored: bool },
    /// The file was already in the data dir and was verified (and unpacked if needed).
    VerifiedInPlace,
    /// `--verify-only` and the file is not in the data dir: only the dataset's structure is checked.
    NotPresent,
}

#[derive(Debug, Clone)]
pub struct FileReport {
    pub dataset: String,
    pub name: String,
    pub action: FileAction,
    /// No checksum was known, so this copy was trusted and its sha256 pinned in fetch.lock.
    pub pinned_on_first_use: bool,
    /// Unpacked during this run.
    pub unpacked: bool,
}

#[derive(Debug, Clone)]
pub struct FetchReport {
    pub files: Vec<FileReport>,
    pub structures: Vec<StructureReport>,
}

/// Fetches the named datasets (`all` = every dataset in the manifest). Progress and results are
/// written to `out`; the returned report says what happened. Fails on the first file that cannot
/// be fetched or verified, or at the end if a dataset's structure is incomplete.
pub fn fetch(
    datasets: &[String],
    manifest: &Manifest,
    options: &FetchOptions,
    out: &mut dyn Write,
) -> Result<FetchReport> {
    let entries = manifest.select(datasets)?;
    if let Some(mirror) = &options.mirror {
        let url = Url::parse(mirror).with_context(|| format!("--mirror {mirror:?} is not a URL"))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            bail!("--mirror {mirror} must be an http or https URL");
        }
    }
    std::fs::create_dir_all(&options.data_dir)
        .with_context(|| format!("cannot create data dir {}", options.data_dir.display()))?;
    let mut run =
        Run { options, lock: LockFile::load(&options.data_dir)?, client: None, md5_lists: HashMap::new(), out };
    writeln!(
        run.out,
        "data dir {}, manifest {}{}",
        options.data_dir.display(),
        manifest.origin,
        if options.verify_only { ", verify only (no network)" } else { "" }
    )?;
    let mut files = Vec::new();
    for entry in &entries {
        files.push(run.fetch_file(entry)?);
    }
    let mut structures = Vec::new();
    let mut dataset_names: Vec<&str> = Vec::new();
    for entry in &entries {
        if !dataset_names.contains(&entry.dataset.as_str()) {
            dataset_names.push(&entry.dataset);
        }
    }
    for dataset in dataset_names {
        let roots = dataset_roots(&options.data_dir, &entries, dataset);
        let report = structure::check(dataset, &roots);
        print_structure(run.out, &report)?;
        structures.push(report);
    }
    let incomplete: Vec<&StructureReport> = structures.iter().filter(|s| !s.is_complete()).collect();
    let missing: Vec<String> = files
        .iter()
        .filter(|f| f.action == FileAction::NotPresent)
        .filter_map(|f| entries.iter().find(|e| e.dataset == f.dataset && e.name == f.name))
        .map(|e| hand_placement(e, options))
        .collect();
    if !incomplete.is_empty() {
        let mut message = String::new();
        for report in incomplete {
            message.push_str(&format!(
                "dataset {} is incomplete:\n  {}\n",
                report.dataset,
                report.problems.join("\n  ")
            ));
        }
        if !missing.is_empty() {
            message.push_str(&format!("files not in the data dir: {}", missing.join("; ")));
        }
        bail!(message.trim_end().to_string());
    }
    Ok(FetchReport { files, structures })
}

/// The folders a dataset's structural check searches: the first folder of each `dest`, so that a
/// dataset split over `neuronio/train` and `neuronio/test` is searched as a whole.
fn dataset_roots(data_dir: &Path, entries: &[&FileEntry], dataset: &str) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    for entry in entries.iter().filter(|e| e.dataset == dataset) {
        let first = entry
            .dest_path()
            .components()
            .find_map(|c| match c {
                std::path::Component::Normal(part) => Some(PathBuf::from(part)),
                _ => None,
            })
            .unwrap_or_default();
        let root = data_dir.join(first);
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    roots
}

fn print_structure(out: &mut dyn Write, report: &StructureReport) -> Result<()> {
    let verdict = if report.is_complete() { "complete" } else { "INCOMPLETE" };
    writeln!(out, "{}: structure check {verdict}", report.dataset)?;
    for line in &report.found {
        writeln!(out, "  ok       {line}")?;
    }
    for line in &report.problems {
        writeln!(out, "  MISSING  {line}")?;
    }
    for line in &report.notes {
        writeln!(out, "  note     {line}")?;
    }
    Ok(())
}

/// The instruction for placing a file by hand, with the command that then checks it.
pub fn hand_placement(entry: &FileEntry, options: &FetchOptions) -> String {
    let path = options.data_dir.join(entry.dest_path()).join(&entry.name);
    let manifest = match &options.manifest_arg {
        Some(m) => format!(" --manifest {}", m.display()),
        None => String::new(),
    };
    format!(
        "place {} (from {}) at {} by hand, then run `elmbench fetch {} --verify-only --data-dir {}{manifest}`",
        entry.name,
        entry.url,
        path.display(),
        entry.dataset,
        options.data_dir.display()
    )
}

struct Run<'a> {
    options: &'a FetchOptions,
    lock: LockFile,
    client: Option<Client>,
    /// Upstream md5 lists already read in this run, by URL (`None`: could not be read).
    md5_lists: HashMap<String, Option<HashMap<String, String>>>,
    out: &'a mut dyn Write,
}

/// Paths of one manifest entry inside the data dir.
struct Places {
    dest_dir: PathBuf,
    archive: PathBuf,
    part: PathBuf,
}

impl Run<'_> {
    fn client(&mut self) -> Result<Client> {
        if self.client.is_none() {
            self.client = Some(download::client(&self.options.http)?);
        }
        Ok(self.client.clone().expect("client was just built"))
    }

    fn fetch_file(&mut self, entry: &FileEntry) -> Result<FileReport> {
        let dest_dir = self.options.data_dir.join(entry.dest_path());
        let places = Places {
            archive: dest_dir.join(&entry.name),
            part: dest_dir.join(format!("{}.part", entry.name)),
            dest_dir,
        };
        let label = format!("{}/{}", entry.dataset, entry.name);
        let locked = self.lock.get(&entry.dest, &entry.name).cloned();
        let mut report = FileReport {
            dataset: entry.dataset.clone(),
            name: entry.name.clone(),
            action: FileAction::AlreadyDone,
            pinned_on_first_use: false,
            unpacked: false,
        };

        if let Some(done) = locked.as_ref().filter(|l| is_done(l, entry, &places.dest_dir)) {
            if !self.options.verify_only {
                writeln!(
                    self.out,
                    "{label}: already verified and unpacked ({}); nothing to do",
                    self.lock.path().display()
                )?;
                return Ok(report);
            }
            if !places.archive.exists() {
                writeln!(
                    self.out,
                    "{label}: verified when it was unpacked ({}); the file itself is no longer kept, so only the unpacked files are checked",
                    self.lock.path().display()
                )?;
                return Ok(report);
            }
            let expected = self.expected(entry, Some(done), None)?;
            let digests = verify::hash_file(&places.archive, self.options.show_progress)?;
            let matched = verify::check(&places.archive.display().to_string(), &expected, &digests)
                .context("the file was left untouched")?;
            writeln!(self.out, "{label}: verified again: {}", matched.join(", "))?;
            report.action = FileAction::VerifiedInPlace;
            return Ok(report);
        }

        // Get a complete copy: the one already in place, or a download.
        let source = if places.archive.exists() {
            writeln!(self.out, "{label}: found {}; checking it", places.archive.display())?;
            report.action = FileAction::VerifiedInPlace;
            let digests = verify::hash_file(&places.archive, self.options.show_progress)?;
            let expected = self.expected(entry, locked.as_ref(), None)?;
            let verdict = verify::check(&places.archive.display().to_string(), &expected, &digests)
                .context("the file was left untouched: replace or delete it, then fetch again");
            self.announce_verdict(&label, entry, &expected, &digests, verdict?, &mut report)?;
            let md5_list = md5_list_used(&expected);
            self.record(entry, &digests, &expected, "placed in the data dir", md5_list, &[], false)?;
            "placed in the data dir".to_string()
        } else if self.options.verify_only {
            writeln!(
                self.out,
                "{label}: not in the data dir (looked for {}); checking the unpacked files only",
                places.archive.display()
            )?;
            report.action = FileAction::NotPresent;
            return Ok(report);
        } else {
            let url = entry.effective_url(self.options.mirror.as_deref());
            let (digests, expected) =
                self.download(entry, &label, &url, locked.as_ref(), &places, &mut report).with_context(|| {
                    format!(
                        "cannot fetch {label}; to continue without the network, {}",
                        hand_placement(entry, self.options)
                    )
                })?;
            let md5_list = md5_list_used(&expected);
            self.record(entry, &digests, &expected, &url, md5_list, &[], false)?;
            url
        };

        // Unpack the verified file.
        let previous_outputs = locked.map(|l| l.outputs).unwrap_or_default();
        self.unpack(entry, &label, &places, &source, &previous_outputs)?;
        report.unpacked = entry.unpack != Unpack::None;
        Ok(report)
    }

    /// Downloads into `.part`, verifies, and renames into place.
    fn download(
        &mut self,
        entry: &FileEntry,
        label: &str,
        url: &str,
        locked: Option<&LockEntry>,
        places: &Places,
        report: &mut FileReport,
    ) -> Result<(Digests, Expected)> {
        let url = Url::parse(url).with_context(|| format!("invalid URL {url}"))?;
        let credentials = if kaggle::is_api_download(&url) {
            let credentials = self.options.kaggle.find().map_err(|e| anyhow!("{e:#}. {}", kaggle::HOW_TO_PROVIDE))?;
            if !kaggle::may_send_credentials(&url) {
                bail!("refusing to send Kaggle credentials over plain http to {url}");
            }
            Some(credentials)
        } else {
            None
        };
        let client = self.client()?;
        let expected = self.expected(entry, locked, Some((&client, &url)))?;
        std::fs::create_dir_all(&places.dest_dir)
            .with_context(|| format!("cannot create {}", places.dest_dir.display()))?;
        writeln!(self.out, "{label}: downloading {url}")?;
        if let Some(licence) = &entry.licence {
            writeln!(self.out, "  licence: {licence}")?;
        }
        let job = download::DownloadJob {
            url: &url,
            credentials: credentials.as_ref(),
            part: &places.part,
            expected_size: entry.known_size(),
            label,
        };
        let downloaded = download::download(&client, &job, &self.options.http, self.options.show_progress, self.out)?;
        report.action =
            FileAction::Downloaded { resumed_from: downloaded.resumed_from, range_ignored: downloaded.range_ignored };
        let digests = downloaded.digests;
        let verdict = verify::check(&places.part.display().to_string(), &expected, &digests);
        let matched = match verdict {
            Ok(matched) => matched,
            Err(error) => {
                // A corrupt .part must not be resumed by the next run.
                let removed = std::fs::remove_file(&places.part);
                let what = match removed {
                    Ok(()) => "the download was deleted; fetch again to download it afresh",
                    Err(_) => "deleting the rejected download failed: delete it by hand",
                };
                return Err(error.context(format!("{label}: rejected, nothing was unpacked; {what}")));
            }
        };
        self.announce_verdict(label, entry, &expected, &digests, matched, report)?;
        std::fs::rename(&places.part, &places.archive)
            .with_context(|| format!("cannot rename {} to {}", places.part.display(), places.archive.display()))?;
        Ok((digests, expected))
    }

    /// What a file must match: the manifest's checksums (the md5 possibly replaced by the
    /// upstream list when online), or the sha256 pinned in fetch.lock on first use.
    fn expected(
        &mut self,
        entry: &FileEntry,
        locked: Option<&LockEntry>,
        online: Option<(&Client, &Url)>,
    ) -> Result<Expected> {
        let mut expected = Expected { size: entry.known_size(), ..Expected::default() };
        if let Some(sha256) = &entry.sha256 {
            expected.sha256 = Some((sha256.clone(), Source::Manifest));
        }
        if let Some(pinned) = &entry.md5 {
            expected.md5 = Some((pinned.clone(), Source::Manifest));
            match online {
                Some((client, url)) => {
                    if let Some(list_url) = published::md5_list_url(entry, url) {
                        if let Some(listed) = self.listed_md5(client, &list_url, &entry.name)? {
                            if &listed != pinned {
                                writeln!(
                                    self.out,
                                    "  note: the published list {list_url} gives md5 {listed} for {}, the manifest pins {pinned}; the published list wins",
                                    entry.name
                                )?;
                            }
                            expected.md5 = Some((listed, Source::PublishedList(list_url.to_string())));
                        }
                    }
                }
                None => {
                    // Offline: check against the list value a verified download matched.
                    if let Some(l) = locked {
                        if let Some(list) = &l.md5_list {
                            expected.md5 = Some((
                                l.md5.clone(),
                                Source::PublishedList(format!("{list}, as recorded in fetch.lock")),
                            ));
                        }
                    }
                }
            }
        }
        if entry.is_trust_on_first_use() {
            if let Some(l) = locked {
                expected.sha256 = Some((l.sha256.clone(), Source::LockFile));
            }
        }
        Ok(expected)
    }

    /// The md5 of `name` in the upstream list at `list_url`, read once per run.
    fn listed_md5(&mut self, client: &Client, list_url: &Url, name: &str) -> Result<Option<String>> {
        let key = list_url.to_string();
        if !self.md5_lists.contains_key(&key) {
            let list = match published::fetch_md5_list(client, list_url) {
                Ok(list) => Some(list),
                Err(error) => {
                    writeln!(
                        self.out,
                        "  note: cannot read the published md5 list ({error:#}); using the md5 pinned in the manifest"
                    )?;
                    None
                }
            };
            self.md5_lists.insert(key.clone(), list);
        }
        let listed = self.md5_lists[&key].as_ref().and_then(|list| list.get(name).cloned());
        if listed.is_none() && self.md5_lists[&key].is_some() {
            writeln!(self.out, "  note: {list_url} does not list {name}; using the md5 pinned in the manifest")?;
        }
        Ok(listed)
    }

    fn announce_verdict(
        &mut self,
        label: &str,
        entry: &FileEntry,
        expected: &Expected,
        digests: &Digests,
        matched: Vec<String>,
        report: &mut FileReport,
    ) -> Result<()> {
        let has_checksum = expected.has_checksum();
        if has_checksum {
            writeln!(self.out, "{label}: verified: {}", matched.join(", "))?;
        } else {
            report.pinned_on_first_use = true;
            writeln!(
                self.out,
                "{label}: TRUST ON FIRST USE: upstream publishes no checksum for {}; this copy ({} bytes) is trusted and its sha256 {} is pinned in {}; later fetches must match it",
                entry.name,
                digests.size,
                digests.sha256,
                self.lock.path().display()
            )?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        entry: &FileEntry,
        digests: &Digests,
        expected: &Expected,
        source: &str,
        md5_list: Option<String>,
        outputs: &[String],
        unpacked: bool,
    ) -> Result<()> {
        let mut against: Vec<String> = Vec::new();
        if let Some((_, s)) = &expected.sha256 {
            against.push(format!("sha256 ({s})"));
        }
        if let Some((_, s)) = &expected.md5 {
            against.push(format!("md5 ({s})"));
        }
        let trust_on_first_use = entry.is_trust_on_first_use();
        if against.is_empty() {
            against.push("trust on first use".to_string());
        }
        self.lock.put(LockEntry {
            dataset: entry.dataset.clone(),
            name: entry.name.clone(),
            dest: entry.dest.clone(),
            source: source.to_string(),
            size: digests.size,
            sha256: digests.sha256.clone(),
            md5: digests.md5.clone(),
            md5_list,
            verified_against: against.join(", "),
            trust_on_first_use,
            outputs: outputs.to_vec(),
            unpacked,
        })
    }

    /// Unpacks a verified file and records its outputs in the lock file.
    fn unpack(
        &mut self,
        entry: &FileEntry,
        label: &str,
        places: &Places,
        source: &str,
        previous_outputs: &[String],
    ) -> Result<()> {
        let locked = self
            .lock
            .get(&entry.dest, &entry.name)
            .cloned()
            .ok_or_else(|| anyhow!("{label}: missing from the lock file after verification"))?;
        let finish = |lock: &mut LockFile, outputs: Vec<String>| {
            lock.put(LockEntry { outputs, unpacked: true, source: source.to_string(), ..locked.clone() })
        };
        if entry.unpack == Unpack::None {
            finish(&mut self.lock, vec![entry.name.clone()])?;
            writeln!(self.out, "{label}: in place at {} (no unpacking)", places.archive.display())?;
            return Ok(());
        }
        writeln!(self.out, "{label}: unpacking ({}) into {}", entry.unpack.as_str(), places.dest_dir.display())?;
        let staged = extract::unpack_to_staging(
            entry.unpack,
            &places.archive,
            &places.dest_dir,
            &entry.name,
            self.options.show_progress,
        )?;
        // Before moving anything, list every item that may be ours, so that an interrupted move
        // can be redone by the next fetch.
        let mut may_be_ours: Vec<String> = previous_outputs.to_vec();
        for output in &staged.outputs {
            if !may_be_ours.contains(output) {
                may_be_ours.push(output.clone());
            }
        }
        let replaceable = previous_outputs.to_vec();
        self.lock.put(LockEntry { outputs: may_be_ours, unpacked: false, ..locked.clone() })?;
        let outputs = staged.move_into_place(&places.dest_dir, &replaceable)?;
        writeln!(self.out, "{label}: unpacked {}", outputs.join(", "))?;
        finish(&mut self.lock, outputs)?;
        Ok(())
    }
}

/// The upstream list a verification used for its md5, if any.
fn md5_list_used(expected: &Expected) -> Option<String> {
    match &expected.md5 {
        Some((_, Source::PublishedList(url))) => Some(url.clone()),
        _ => None,
    }
}

/// A lock entry says the file was verified and unpacked, its outputs are all there, and the
/// manifest's checksums still describe the recorded file.
fn is_done(locked: &LockEntry, entry: &FileEntry, dest_dir: &Path) -> bool {
    let outputs_there = locked.unpacked
        && !locked.outputs.is_empty()
        && locked.outputs.iter().all(|o| std::fs::symlink_metadata(dest_dir.join(o)).is_ok());
    let sha_same = entry.sha256.as_ref().is_none_or(|s| *s == locked.sha256);
    let md5_same = entry.md5.as_ref().is_none_or(|m| *m == locked.md5 || locked.md5_list.is_some());
    outputs_there && sha_same && md5_same
}
