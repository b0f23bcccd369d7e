//! Archives with entries that would escape the destination are refused, nothing is written
//! outside, and nothing half-unpacked stays behind. The archives are placed by hand and checked
//! with `--verify-only`, so these tests need no server.

use std::path::Path;

use elmbench::fetch::extract::{safe_entry_path, safe_link_target};

use super::support::*;

/// Places `archive` as `evil.<ext>` in `<data>/toy`, runs `fetch toy --verify-only` and returns the
/// error message.
fn refused(tmp: &TempDir, archive: &[u8], unpack: &str, ext: &str) -> String {
    let data = tmp.data_dir();
    let name = format!("evil.{ext}");
    std::fs::create_dir_all(data.join("toy")).unwrap();
    std::fs::write(data.join("toy").join(&name), archive).unwrap();
    let manifest = parse_manifest(&entry_toml(
        "toy",
        "http://127.0.0.1:9/unused",
        &name,
        unpack,
        "toy",
        &format!("sha256 = \"{}\"", sha256_hex(archive)),
    ));
    let mut options = quick_options(&data);
    options.verify_only = true;
    let (result, out) = run_fetch(&["toy"], &manifest, &options);
    let message = format!("{:#}", result.expect_err(&format!("the archive must be refused\n{out}")));
    // Only the (verified, untouched) archive remains in the destination: no staging folder, no
    // partial unpack, and nothing named like the escaping entries anywhere in the scratch folder.
    assert_eq!(listing(&data.join("toy")), vec![name.clone()]);
    message
}

fn assert_nothing_named(root: &Path, names: &[&str]) {
    for name in names {
        let found = find_named(root, name);
        assert!(found.is_empty(), "{name} was written: {found:?}");
    }
}

#[test]
fn zip_entry_climbing_out_with_dotdot_is_refused() {
    let tmp = TempDir::new("zipdotdot");
    let zip = zip_bytes(&[ZipItem::File("good/ok.txt", b"fine"), ZipItem::File("../../escaped.txt", b"evil")]);
    let message = refused(&tmp, &zip, "zip", "zip");
    assert!(message.contains("../../escaped.txt"), "{message}");
    assert!(message.contains("evil.zip"), "{message}");
    assert_nothing_named(tmp.path(), &["escaped.txt", "ok.txt"]);
}

#[test]
fn zip_entry_with_an_absolute_path_is_refused() {
    let tmp = TempDir::new("zipabs");
    let target = tmp.path().join("absolute-escape.txt");
    let zip = zip_bytes(&[ZipItem::File(target.to_str().unwrap(), b"evil")]);
    let message = refused(&tmp, &zip, "zip", "zip");
    assert!(message.contains("absolute"), "{message}");
    assert!(!target.exists());
    assert_nothing_named(tmp.path(), &["absolute-escape.txt"]);
}

#[test]
fn zip_link_pointing_outside_is_refused() {
    let tmp = TempDir::new("ziplink");
    let zip = zip_bytes(&[
        ZipItem::Dir("inner/"),
        ZipItem::Symlink("inner/out", "../../.."),
        ZipItem::File("inner/out/escaped.txt", b"evil"),
    ]);
    let message = refused(&tmp, &zip, "zip", "zip");
    assert!(message.contains("inner/out"), "{message}");
    assert!(message.contains(".."), "{message}");
    assert_nothing_named(tmp.path(), &["escaped.txt", "out"]);
}

#[test]
fn tar_entry_climbing_out_with_dotdot_is_refused() {
    let tmp = TempDir::new("tardotdot");
    let tar = tar_gz(&[TarItem::File("good/ok.txt", b"fine"), TarItem::RawFile("good/../../../escaped.txt", b"evil")]);
    let message = refused(&tmp, &tar, "tar.gz", "tar.gz");
    assert!(message.contains("good/../../../escaped.txt"), "{message}");
    assert!(message.contains("`..`"), "{message}");
    assert_nothing_named(tmp.path(), &["escaped.txt", "ok.txt"]);
}

#[test]
fn tar_entry_with_an_absolute_path_is_refused() {
    let tmp = TempDir::new("tarabs");
    let target = tmp.path().join("absolute-escape.txt");
    let tar = tar_gz(&[TarItem::RawFile(target.to_str().unwrap(), b"evil")]);
    let message = refused(&tmp, &tar, "tar.gz", "tar.gz");
    assert!(message.contains("absolute"), "{message}");
    assert!(!target.exists());
}

#[test]
fn tar_link_pointing_outside_is_refused_before_anything_goes_through_it() {
    let tmp = TempDir::new("tarlink");
    let outside = tmp.path().join("outside-target");
    std::fs::create_dir_all(&outside).unwrap();
    let tar = tar_gz(&[
        TarItem::RawSymlink("link", outside.to_str().unwrap()),
        TarItem::RawFile("link/escaped.txt", b"evil"),
    ]);
    let message = refused(&tmp, &tar, "tar.gz", "tar.gz");
    assert!(message.contains("link to an absolute path"), "{message}");
    assert!(listing(&outside).is_empty());

    let tmp = TempDir::new("tarlinkrel");
    let tar = tar_gz(&[
        TarItem::Dir("a/"),
        TarItem::RawSymlink("a/up", "../../.."),
        TarItem::RawFile("a/up/escaped.txt", b"evil"),
    ]);
    let message = refused(&tmp, &tar, "tar.gz", "tar.gz");
    assert!(message.contains("climbs out"), "{message}");
    assert_nothing_named(tmp.path(), &["escaped.txt", "up"]);
}

#[test]
fn tar_hard_link_to_a_file_outside_is_refused() {
    let tmp = TempDir::new("tarhard");
    let secret = tmp.path().join("secret.txt");
    std::fs::write(&secret, b"secret").unwrap();
    // Unpacking happens in <scratch>/data/toy/.evil.tar.gz.unpacking, so this names <scratch>/secret.txt.
    let tar = tar_gz(&[TarItem::RawHardLink("copy.txt", "../../../secret.txt")]);
    let message = refused(&tmp, &tar, "tar.gz", "tar.gz");
    assert!(message.contains("hard link to `../../../secret.txt`, which climbs out"), "{message}");
    assert_nothing_named(tmp.path(), &["copy.txt"]);
}

#[test]
fn archive_that_is_not_gzip_is_refused_with_nothing_left() {
    let tmp = TempDir::new("notgzip");
    let message = refused(&tmp, b"this is not a gzip stream", "tar.gz", "tar.gz");
    assert!(message.contains("not a valid gzipped tar"), "{message}");
}

#[test]
fn safe_links_and_nested_folders_unpack() {
    let tmp = TempDir::new("goodtar");
    let data = tmp.data_dir();
    let archive = tar_gz(&[
        TarItem::Dir("set/"),
        TarItem::File("set/sub/deep/file.txt", b"deep"),
        TarItem::RawSymlink("set/shortcut", "sub/deep"),
        TarItem::RawHardLink("set/copy.txt", "set/sub/deep/file.txt"),
    ]);
    std::fs::create_dir_all(data.join("toy")).unwrap();
    std::fs::write(data.join("toy/good.tar.gz"), &archive).unwrap();
    let manifest = parse_manifest(&entry_toml(
        "toy",
        "http://127.0.0.1:9/unused",
        "good.tar.gz",
        "tar.gz",
        "toy",
        &format!("sha256 = \"{}\"", sha256_hex(&archive)),
    ));
    let mut options = quick_options(&data);
    options.verify_only = true;
    let (result, out) = run_fetch(&["toy"], &manifest, &options);
    result.unwrap_or_else(|e| panic!("good archive failed: {e:#}\n{out}"));
    assert_eq!(std::fs::read(data.join("toy/set/shortcut/file.txt")).unwrap(), b"deep");
    assert_eq!(std::fs::read(data.join("toy/set/copy.txt")).unwrap(), b"deep");
    assert_eq!(listing(&data.join("toy")), vec!["good.tar.gz", "set"]);
}

#[test]
fn existing_files_not_unpacked_by_elmbench_are_never_overwritten() {
    let tmp = TempDir::new("conflict");
    let data = tmp.data_dir();
    let archive = tar_gz(&[TarItem::File("set/file.txt", b"from the archive")]);
    std::fs::create_dir_all(data.join("toy/set")).unwrap();
    std::fs::write(data.join("toy/set/file.txt"), b"the user's own").unwrap();
    std::fs::write(data.join("toy/good.tar.gz"), &archive).unwrap();
    let manifest = parse_manifest(&entry_toml(
        "toy",
        "http://127.0.0.1:9/unused",
        "good.tar.gz",
        "tar.gz",
        "toy",
        &format!("sha256 = \"{}\"", sha256_hex(&archive)),
    ));
    let mut options = quick_options(&data);
    options.verify_only = true;
    let (result, _) = run_fetch(&["toy"], &manifest, &options);
    let message = format!("{:#}", result.expect_err("a conflict must stop the unpack"));
    assert!(message.contains("refusing to overwrite"), "{message}");
    assert_eq!(std::fs::read(data.join("toy/set/file.txt")).unwrap(), b"the user's own");
    assert_eq!(listing(&data.join("toy")), vec!["good.tar.gz", "set"]);
}

#[test]
fn path_rules_accept_plain_relative_paths_only() {
    assert_eq!(safe_entry_path(Path::new("./a/b/c.txt")).unwrap(), Path::new("a/b/c.txt"));
    assert!(safe_entry_path(Path::new("a/../../b")).is_err());
    assert!(safe_entry_path(Path::new("/etc/passwd")).is_err());
    assert!(safe_link_target(Path::new("sub/dir")).is_ok());
    assert!(safe_link_target(Path::new("../sibling")).is_err());
    assert!(safe_link_target(Path::new("/abs")).is_err());
    assert!(safe_link_target(Path::new("")).is_err());
}
