//! End-to-end fetches against the local test server: download, resume, retries, verification,
//! trust on first use, published md5 lists, Kaggle credentials, offline behaviour.

use std::time::{Duration, Instant};

use elmbench::fetch::kaggle::CredentialLookup;
use elmbench::fetch::lockfile::LOCK_FILE_NAME;
use elmbench::fetch::FileAction;

use super::server::{closed_port_url, Behaviour, Route, TestServer};
use super::support::*;

/// A tar.gz big enough to be cut in the middle (about 200 kB; gzip of varied bytes).
fn sample_tar_gz() -> (Vec<u8>, Vec<u8>) {
    // xorshift64: bytes gzip cannot shrink, so the archive is about as large as the payload.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let payload: Vec<u8> = (0..200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let archive = tar_gz(&[
        TarItem::Dir("toyset/"),
        TarItem::File("toyset/payload.bin", &payload),
        TarItem::File("toyset/readme.txt", b"hello\n"),
    ]);
    (archive, payload)
}

fn toy_manifest(url: &str, archive: &[u8]) -> elmbench::fetch::manifest::Manifest {
    parse_manifest(&entry_toml(
        "toy",
        url,
        "toy.tar.gz",
        "tar.gz",
        "toy",
        &format!("sha256 = \"{}\"\nsize = {}", sha256_hex(archive), archive.len()),
    ))
}

fn assert_unpacked(data: &std::path::Path, payload: &[u8]) {
    let got = std::fs::read(data.join("toy/toyset/payload.bin")).expect("payload unpacked");
    assert_eq!(got, payload);
    assert_eq!(std::fs::read(data.join("toy/toyset/readme.txt")).unwrap(), b"hello\n");
    // Only the archive and its unpacked folder remain: no .part, no staging folder.
    assert_eq!(listing(&data.join("toy")), vec!["toy.tar.gz", "toyset"]);
}

#[test]
fn good_archive_downloads_verifies_unpacks_and_second_run_is_a_no_op() {
    let (archive, payload) = sample_tar_gz();
    let server = TestServer::start(vec![Route::new("/toy.tar.gz", &archive, Behaviour::Normal)]);
    let tmp = TempDir::new("good");
    let data = tmp.data_dir();
    let manifest = toy_manifest(&server.url("/toy.tar.gz"), &archive);
    let options = quick_options(&data);

    let (result, out) = run_fetch(&["toy"], &manifest, &options);
    let report = result.unwrap_or_else(|e| panic!("first fetch failed: {e:#}\n{out}"));
    assert!(matches!(report.files[0].action, FileAction::Downloaded { resumed_from: None, .. }));
    assert!(report.files[0].unpacked);
    assert!(out.contains(&sha256_hex(&archive)), "{out}");
    assert_unpacked(&data, &payload);
    let lock = std::fs::read_to_string(data.join(LOCK_FILE_NAME)).unwrap();
    assert!(lock.contains(&sha256_hex(&archive)), "{lock}");

    let (result, out) = run_fetch(&["toy"], &manifest, &options);
    let report = result.unwrap_or_else(|e| panic!("second fetch failed: {e:#}\n{out}"));
    assert_eq!(report.files[0].action, FileAction::AlreadyDone);
    assert!(out.contains("nothing to do"), "{out}");
    assert_eq!(server.requests_for("/toy.tar.gz").len(), 1, "the second run must not download");
    assert_unpacked(&data, &payload);
}

#[test]
fn dropped_connection_resumes_with_a_range_request_and_ends_verified() {
    let (archive, payload) = sample_tar_gz();
    let half = archive.len() / 2;
    let server = TestServer::start(vec![Route::new("/toy.tar.gz", &archive, Behaviour::DropOnce { after: half })]);
    let tmp = TempDir::new("drop");
    let data = tmp.data_dir();
    let manifest = toy_manifest(&server.url("/toy.tar.gz"), &archive);

    let (result, out) = run_fetch(&["toy"], &manifest, &quick_options(&data));
    result.unwrap_or_else(|e| panic!("fetch failed: {e:#}\n{out}"));
    let requests = server.requests_for("/toy.tar.gz");
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].range, None);
    assert_eq!(
        requests[1].range.as_deref(),
        Some(format!("bytes={half}-").as_str()),
        "the retry must resume exactly after the bytes received"
    );
    assert!(out.contains("retrying"), "{out}");
    assert_unpacked(&data, &payload);
}

#[test]
fn partial_file_left_by_an_interrupted_run_is_resumed() {
    let (archive, payload) = sample_tar_gz();
    let server = TestServer::start(vec![Route::new("/toy.tar.gz", &archive, Behaviour::Normal)]);
    let tmp = TempDir::new("part");
    let data = tmp.data_dir();
    std::fs::create_dir_all(data.join("toy")).unwrap();
    let third = archive.len() / 3;
    std::fs::write(data.join("toy/toy.tar.gz.part"), &archive[..third]).unwrap();
    let manifest = toy_manifest(&server.url("/toy.tar.gz"), &archive);

    let (result, out) = run_fetch(&["toy"], &manifest, &quick_options(&data));
    let report = result.unwrap_or_else(|e| panic!("fetch failed: {e:#}\n{out}"));
    assert_eq!(
        report.files[0].action,
        FileAction::Downloaded { resumed_from: Some(third as u64), range_ignored: false }
    );
    let requests = server.requests_for("/toy.tar.gz");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].range.as_deref(), Some(format!("bytes={third}-").as_str()));
    assert_unpacked(&data, &payload);
}

#[test]
fn server_ignoring_range_gets_a_full_download_that_verifies() {
    let (archive, payload) = sample_tar_gz();
    let server = TestServer::start(vec![Route::new("/toy.tar.gz", &archive, Behaviour::IgnoreRange)]);
    let tmp = TempDir::new("norange");
    let data = tmp.data_dir();
    std::fs::create_dir_all(data.join("toy")).unwrap();
    std::fs::write(data.join("toy/toy.tar.gz.part"), &archive[..archive.len() / 2]).unwrap();
    let manifest = toy_manifest(&server.url("/toy.tar.gz"), &archive);

    let (result, out) = run_fetch(&["toy"], &manifest, &quick_options(&data));
    let report = result.unwrap_or_else(|e| panic!("fetch failed: {e:#}\n{out}"));
    assert!(
        matches!(report.files[0].action, FileAction::Downloaded { range_ignored: true, .. }),
        "{:?}",
        report.files[0].action
    );
    assert!(out.contains("ignored the Range request"), "{out}");
    assert!(server.requests_for("/toy.tar.gz")[0].range.is_some());
    assert_unpacked(&data, &payload);
}

#[test]
fn corrupted_archive_is_rejected_naming_file_and_both_checksums() {
    let (archive, _) = sample_tar_gz();
    let mut corrupted = archive.clone();
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0xff;
    let server = TestServer::start(vec![Route::new("/toy.tar.gz", &corrupted, Behaviour::Normal)]);
    let tmp = TempDir::new("corrupt");
    let data = tmp.data_dir();
    let manifest = toy_manifest(&server.url("/toy.tar.gz"), &archive);

    let (result, out) = run_fetch(&["toy"], &manifest, &quick_options(&data));
    let message = format!("{:#}", result.expect_err("a corrupted archive must be rejected"));
    assert!(message.contains("toy.tar.gz"), "{message}");
    assert!(message.contains(&sha256_hex(&archive)), "expected sha256 missing: {message}");
    assert!(message.contains(&sha256_hex(&corrupted)), "actual sha256 missing: {message}");
    assert!(!out.contains("unpacking"), "{out}");
    // Nothing unpacked, no final archive, no half file, no staging folder.
    assert_eq!(listing(&data.join("toy")), Vec::<String>::new());
}

#[test]
fn not_found_fails_at_once_naming_the_url() {
    let server = TestServer::start(vec![]);
    let tmp = TempDir::new("404");
    let url = server.url("/missing.tar.gz");
    let manifest = parse_manifest(&entry_toml("toy", &url, "missing.tar.gz", "tar.gz", "toy", ""));
    let (result, _) = run_fetch(&["toy"], &manifest, &quick_options(&tmp.data_dir()));
    let message = format!("{:#}", result.expect_err("404 must fail"));
    assert!(message.contains("404"), "{message}");
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("by hand"), "{message}");
    assert_eq!(server.requests().len(), 1, "a 404 is not worth retrying");
}

#[test]
fn transient_server_errors_are_retried_with_backoff() {
    let (archive, payload) = sample_tar_gz();
    let server =
        TestServer::start(vec![Route::new("/toy.tar.gz", &archive, Behaviour::StatusFirst { status: 503, times: 2 })]);
    let tmp = TempDir::new("503");
    let data = tmp.data_dir();
    let manifest = toy_manifest(&server.url("/toy.tar.gz"), &archive);
    let (result, out) = run_fetch(&["toy"], &manifest, &quick_options(&data));
    result.unwrap_or_else(|e| panic!("fetch failed: {e:#}\n{out}"));
    assert_eq!(server.requests_for("/toy.tar.gz").len(), 3);
    assert_eq!(out.matches("retrying in").count(), 2, "{out}");
    assert_unpacked(&data, &payload);
}

#[test]
fn stall_past_the_read_timeout_is_retried_and_resumes() {
    let (archive, payload) = sample_tar_gz();
    let after = archive.len() / 2;
    let server = TestServer::start(vec![Route::new(
        "/toy.tar.gz",
        &archive,
        Behaviour::StallOnce { after, stall: Duration::from_secs(3) },
    )]);
    let tmp = TempDir::new("stall");
    let data = tmp.data_dir();
    let manifest = toy_manifest(&server.url("/toy.tar.gz"), &archive);
    let mut options = quick_options(&data);
    options.http.read_timeout = Duration::from_millis(600);
    let started = Instant::now();
    let (result, out) = run_fetch(&["toy"], &manifest, &options);
    result.unwrap_or_else(|e| panic!("fetch failed: {e:#}\n{out}"));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the stall must be cut by the read timeout, took {:?}",
        started.elapsed()
    );
    assert!(out.contains("read timeout"), "{out}");
    let requests = server.requests_for("/toy.tar.gz");
    assert_eq!(requests.last().unwrap().range.as_deref(), Some(format!("bytes={after}-").as_str()));
    assert_unpacked(&data, &payload);
}

#[test]
fn server_that_keeps_stalling_ends_in_a_clear_error_and_keeps_the_partial_file() {
    let (archive, _) = sample_tar_gz();
    let server = TestServer::start(vec![Route::new(
        "/toy.tar.gz",
        &archive,
        Behaviour::StallAlways { after: 1000, stall: Duration::from_secs(2) },
    )]);
    let tmp = TempDir::new("stallalways");
    let data = tmp.data_dir();
    let manifest = toy_manifest(&server.url("/toy.tar.gz"), &archive);
    let mut options = quick_options(&data);
    options.http.read_timeout = Duration::from_millis(400);
    options.http.retries = 1;
    let started = Instant::now();
    let (result, _) = run_fetch(&["toy"], &manifest, &options);
    let message = format!("{:#}", result.expect_err("a server that always stalls must fail"));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(message.contains("giving up"), "{message}");
    assert!(message.contains("read timeout"), "{message}");
    // What arrived is kept for the next run to resume from.
    let part = std::fs::metadata(data.join("toy/toy.tar.gz.part")).unwrap();
    assert_eq!(part.len(), 1000);
    let requests = server.requests_for("/toy.tar.gz");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].range.as_deref(), Some("bytes=1000-"));
    assert!(!data.join("toy/toy.tar.gz").exists());
    assert!(!data.join("toy/toyset").exists());
}

#[test]
fn unreachable_host_fails_fast_with_hand_placement_instructions() {
    let tmp = TempDir::new("offline");
    let data = tmp.data_dir();
    let url = closed_port_url("/toy.tar.gz");
    let manifest = parse_manifest(&entry_toml("toy", &url, "toy.tar.gz", "tar.gz", "toy", ""));
    let started = Instant::now();
    let (result, _) = run_fetch(&["toy"], &manifest, &quick_options(&data));
    let message = format!("{:#}", result.expect_err("no server must fail"));
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(message.contains(&url), "{message}");
    let placed = data.join("toy").join("toy.tar.gz");
    assert!(message.contains(&format!("place toy.tar.gz (from {url}) at {}", placed.display())), "{message}");
    assert!(message.contains("elmbench fetch toy --verify-only"), "{message}");
    assert!(!message.contains("retrying"), "{message}");
}

#[test]
fn mirror_replaces_the_base_url_of_every_entry() {
    let (archive, payload) = sample_tar_gz();
    let server = TestServer::start(vec![Route::new("/mirror/files/toy.tar.gz", &archive, Behaviour::Normal)]);
    let tmp = TempDir::new("mirror");
    let data = tmp.data_dir();
    // The manifest URL points nowhere; only the mirror may be asked.
    let manifest = toy_manifest(&closed_port_url("/upstream/toy.tar.gz"), &archive);
    let mut options = quick_options(&data);
    options.mirror = Some(server.url("/mirror/files/"));
    let (result, out) = run_fetch(&["toy"], &manifest, &options);
    result.unwrap_or_else(|e| panic!("fetch failed: {e:#}\n{out}"));
    assert_eq!(server.requests_for("/mirror/files/toy.tar.gz").len(), 1);
    assert_unpacked(&data, &payload);
}

#[test]
fn trust_on_first_use_pins_sha256_and_later_fetches_must_match() {
    let (archive, payload) = sample_tar_gz();
    let server = TestServer::start(vec![Route::new("/toy.tar.gz", &archive, Behaviour::Normal)]);
    let tmp = TempDir::new("tofu");
    let data = tmp.data_dir();
    // No checksum at all: trust on first use.
    let manifest = parse_manifest(&entry_toml("toy", &server.url("/toy.tar.gz"), "toy.tar.gz", "tar.gz", "toy", ""));
    let (result, out) = run_fetch(&["toy"], &manifest, &quick_options(&data));
    let report = result.unwrap_or_else(|e| panic!("fetch failed: {e:#}\n{out}"));
    assert!(report.files[0].pinned_on_first_use);
    assert!(out.contains("TRUST ON FIRST USE"), "{out}");
    assert!(out.contains(&sha256_hex(&archive)), "{out}");
    let lock = std::fs::read_to_string(data.join(LOCK_FILE_NAME)).unwrap();
    assert!(lock.contains(&sha256_hex(&archive)), "{lock}");
    assert!(lock.contains("trust_on_first_use = true"), "{lock}");
    assert_unpacked(&data, &payload);

    // Upstream now serves different bytes; the data dir lost its copy. The pin must reject them.
    let (other, _) = {
        let different = tar_gz(&[TarItem::File("toyset/payload.bin", b"changed")]);
        (different, ())
    };
    drop(server);
    let server = TestServer::start(vec![Route::new("/toy.tar.gz", &other, Behaviour::Normal)]);
    let manifest = parse_manifest(&entry_toml("toy", &server.url("/toy.tar.gz"), "toy.tar.gz", "tar.gz", "toy", ""));
    std::fs::remove_dir_all(data.join("toy")).unwrap();
    let (result, out) = run_fetch(&["toy"], &manifest, &quick_options(&data));
    let message = format!("{:#}", result.expect_err("a changed file must not match the pin"));
    assert!(message.contains(&sha256_hex(&archive)), "{message}");
    assert!(message.contains(&sha256_hex(&other)), "{message}");
    assert!(message.contains("fetch.lock"), "{message}");
    assert!(!out.contains("TRUST ON FIRST USE"), "{out}");
    assert_eq!(listing(&data.join("toy")), Vec::<String>::new());
}

/// A real SHD file for each split (the structural check reads them): the 24-sample fixture, in its
/// contiguous layout for "train" and its chunked one for "test", so that the two differ.
fn fake_h5(tag: &str) -> Vec<u8> {
    let name = if tag == "train" { "shd_fixture.h5" } else { "shd_fixture_chunked_gzip.h5" };
    std::fs::read(crate::support::fixture(&format!("shd/{name}"))).unwrap()
}

fn shd_manifest(base: &str, train_md5: &str, test_md5: &str) -> elmbench::fetch::manifest::Manifest {
    let mut text = entry_toml(
        "shd",
        &format!("{base}/shd_train.h5.gz"),
        "shd_train.h5.gz",
        "gunzip",
        "shd",
        &format!("md5 = \"{train_md5}\""),
    );
    text.push_str(&entry_toml(
        "shd",
        &format!("{base}/shd_test.h5.gz"),
        "shd_test.h5.gz",
        "gunzip",
        "shd",
        &format!("md5 = \"{test_md5}\""),
    ));
    parse_manifest(&text)
}

#[test]
fn shd_md5_comes_from_the_published_list_before_the_pinned_value() {
    let train = gzip(&fake_h5("train"));
    let test = gzip(&fake_h5("test"));
    let list = format!("{}  shd_train.h5.gz\n{}  shd_test.h5.gz\n", md5_hex(&train), md5_hex(&test));
    let server = TestServer::start(vec![
        Route::new("/datasets/shd_train.h5.gz", &train, Behaviour::Normal),
        Route::new("/datasets/shd_test.h5.gz", &test, Behaviour::Normal),
        Route::new("/datasets/md5sums.txt", list.as_bytes(), Behaviour::Normal),
    ]);
    let tmp = TempDir::new("shdlist");
    let data = tmp.data_dir();
    // The pinned train md5 is stale; the published list has the right one.
    let stale = "0123456789abcdef0123456789abcdef";
    let manifest = shd_manifest(&server.url("/datasets"), stale, &md5_hex(&test));
    let (result, out) = run_fetch(&["shd"], &manifest, &quick_options(&data));
    let report = result.unwrap_or_else(|e| panic!("fetch failed: {e:#}\n{out}"));
    assert!(out.contains("the published list wins"), "{out}");
    assert!(out.contains(&format!("md5 {} (published list", md5_hex(&train))), "{out}");
    assert_eq!(std::fs::read(data.join("shd/shd_train.h5")).unwrap(), fake_h5("train"));
    assert_eq!(std::fs::read(data.join("shd/shd_test.h5")).unwrap(), fake_h5("test"));
    assert!(report.structures[0].is_complete(), "{out}");
    assert_eq!(server.requests_for("/datasets/md5sums.txt").len(), 1, "read once per run");

    // Offline re-verification uses the md5 the list gave, as recorded in the lock file.
    let mut offline = quick_options(&data);
    offline.verify_only = true;
    let (result, out) = run_fetch(&["shd"], &manifest, &offline);
    result.unwrap_or_else(|e| panic!("verify-only failed: {e:#}\n{out}"));
    assert!(out.contains("verified again"), "{out}");
}

#[test]
fn shd_md5_falls_back_to_the_pinned_value_when_the_list_is_missing() {
    let train = gzip(&fake_h5("train"));
    let test = gzip(&fake_h5("test"));
    let server = TestServer::start(vec![
        Route::new("/datasets/shd_train.h5.gz", &train, Behaviour::Normal),
        Route::new("/datasets/shd_test.h5.gz", &test, Behaviour::Normal),
    ]);
    let tmp = TempDir::new("shdpinned");
    let data = tmp.data_dir();
    let manifest = shd_manifest(&server.url("/datasets"), &md5_hex(&train), &md5_hex(&test));
    let (result, out) = run_fetch(&["shd"], &manifest, &quick_options(&data));
    result.unwrap_or_else(|e| panic!("fetch failed: {e:#}\n{out}"));
    assert!(out.contains("cannot read the published md5 list"), "{out}");
    assert!(out.contains(&format!("md5 {} (manifest)", md5_hex(&train))), "{out}");

    // And a pinned value that is wrong while no list exists is a rejection.
    let tmp = TempDir::new("shdpinnedbad");
    let wrong = "0123456789abcdef0123456789abcdef";
    let manifest = shd_manifest(&server.url("/datasets"), wrong, &md5_hex(&test));
    let (result, _) = run_fetch(&["shd"], &manifest, &quick_options(&tmp.data_dir()));
    let message = format!("{:#}", result.expect_err("wrong md5 must fail"));
    assert!(message.contains(wrong) && message.contains(&md5_hex(&train)), "{message}");
}

#[test]
fn kaggle_download_sends_basic_auth_from_kaggle_json() {
    let zip = zip_bytes(&[ZipItem::File("Data_test/sim__1.p", b"pickle")]);
    let path = "/api/v1/datasets/download/owner/slug";
    let server = TestServer::start(vec![Route::new(path, &zip, Behaviour::Normal)]);
    let tmp = TempDir::new("kaggle");
    let json = tmp.path().join("kaggle.json");
    std::fs::write(&json, r#"{"username": "alice", "key": "s3cret"}"#).unwrap();
    let manifest = parse_manifest(&entry_toml(
        "toy",
        &server.url(path),
        "slug.zip",
        "zip",
        "toy",
        &format!("sha256 = \"{}\"", sha256_hex(&zip)),
    ));
    let mut options = quick_options(&tmp.data_dir());
    options.kaggle = CredentialLookup { env_username: None, env_key: None, kaggle_json: Some(json) };
    let (result, out) = run_fetch(&["toy"], &manifest, &options);
    result.unwrap_or_else(|e| panic!("fetch failed: {e:#}\n{out}"));
    // "alice:s3cret" in base64, worked out by hand from RFC 4648.
    assert_eq!(server.requests()[0].authorization.as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
    assert_eq!(std::fs::read(tmp.data_dir().join("toy/Data_test/sim__1.p")).unwrap(), b"pickle");
}

#[test]
fn kaggle_download_without_credentials_says_how_to_provide_them() {
    let server = TestServer::start(vec![]);
    let tmp = TempDir::new("nokaggle");
    let manifest = parse_manifest(&entry_toml(
        "toy",
        &server.url("/api/v1/datasets/download/owner/slug"),
        "slug.zip",
        "zip",
        "toy",
        "",
    ));
    let mut options = quick_options(&tmp.data_dir());
    options.kaggle = CredentialLookup {
        env_username: None,
        env_key: None,
        kaggle_json: Some(tmp.path().join("absent/kaggle.json")),
    };
    let (result, _) = run_fetch(&["toy"], &manifest, &options);
    let message = format!("{:#}", result.expect_err("no credentials must fail"));
    for needle in ["KAGGLE_USERNAME", "KAGGLE_KEY", "kaggle.json", "by hand", "--verify-only"] {
        assert!(message.contains(needle), "missing {needle:?}: {message}");
    }
    assert!(server.requests().is_empty(), "nothing may be requested without credentials");
}

#[test]
fn verify_only_checks_a_hand_placed_file_without_the_network() {
    let (archive, payload) = sample_tar_gz();
    let tmp = TempDir::new("handplaced");
    let data = tmp.data_dir();
    std::fs::create_dir_all(data.join("toy")).unwrap();
    std::fs::write(data.join("toy/toy.tar.gz"), &archive).unwrap();
    let manifest = toy_manifest(&closed_port_url("/toy.tar.gz"), &archive);
    let mut options = quick_options(&data);
    options.verify_only = true;
    let (result, out) = run_fetch(&["toy"], &manifest, &options);
    let report = result.unwrap_or_else(|e| panic!("verify-only failed: {e:#}\n{out}"));
    assert_eq!(report.files[0].action, FileAction::VerifiedInPlace);
    assert!(out.contains(&format!("sha256 {}", sha256_hex(&archive))), "{out}");
    assert_unpacked(&data, &payload);
}

#[test]
fn verify_only_with_nothing_in_place_explains_what_to_place_where() {
    let (archive, _) = sample_tar_gz();
    let tmp = TempDir::new("nothingplaced");
    let data = tmp.data_dir();
    let manifest = parse_manifest(&entry_toml(
        "imdb",
        &closed_port_url("/aclImdb_v1.tar.gz"),
        "aclImdb_v1.tar.gz",
        "tar.gz",
        "imdb",
        &format!("sha256 = \"{}\"", sha256_hex(&archive)),
    ));
    let mut options = quick_options(&data);
    options.verify_only = true;
    let (result, out) = run_fetch(&["imdb"], &manifest, &options);
    let message = format!("{:#}", result.expect_err("nothing placed must fail"));
    assert!(out.contains("not in the data dir"), "{out}");
    assert!(message.contains("aclImdb not found"), "{message}");
    assert!(message.contains(&format!("at {} by hand", data.join("imdb/aclImdb_v1.tar.gz").display())), "{message}");
}

#[test]
fn announced_size_that_differs_from_the_manifest_stops_before_downloading() {
    let (archive, _) = sample_tar_gz();
    let server = TestServer::start(vec![Route::new("/toy.tar.gz", &archive, Behaviour::Normal)]);
    let tmp = TempDir::new("size");
    let data = tmp.data_dir();
    let manifest = parse_manifest(&entry_toml(
        "toy",
        &server.url("/toy.tar.gz"),
        "toy.tar.gz",
        "tar.gz",
        "toy",
        &format!("size = {}", archive.len() + 1),
    ));
    let (result, _) = run_fetch(&["toy"], &manifest, &quick_options(&data));
    let message = format!("{:#}", result.expect_err("size mismatch must fail"));
    assert!(message.contains(&format!("offers {} bytes", archive.len())), "{message}");
    assert_eq!(listing(&data.join("toy")), Vec::<String>::new());
}

#[test]
fn complete_partial_file_is_finished_by_a_416_answer_without_downloading_again() {
    let (archive, payload) = sample_tar_gz();
    let server = TestServer::start(vec![Route::new("/toy.tar.gz", &archive, Behaviour::Normal)]);
    let tmp = TempDir::new("complete-part");
    let data = tmp.data_dir();
    std::fs::create_dir_all(data.join("toy")).unwrap();
    // A run that was stopped after the last byte arrived but before the rename.
    std::fs::write(data.join("toy/toy.tar.gz.part"), &archive).unwrap();
    let manifest = toy_manifest(&server.url("/toy.tar.gz"), &archive);
    let (result, out) = run_fetch(&["toy"], &manifest, &quick_options(&data));
    result.unwrap_or_else(|e| panic!("fetch failed: {e:#}\n{out}"));
    let requests = server.requests_for("/toy.tar.gz");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].range.as_deref(), Some(format!("bytes={}-", archive.len()).as_str()));
    assert_unpacked(&data, &payload);
}
