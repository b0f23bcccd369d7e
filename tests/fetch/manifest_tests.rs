//! The manifest schema: the built-in manifest covers every real archive with the published values,
//! and mistakes in a user's manifest are errors that name the key and the file.

use elmbench::fetch::manifest::{Manifest, Unpack};

use super::support::*;

#[test]
fn builtin_manifest_lists_every_real_archive_with_published_checksums() {
    let manifest = Manifest::builtin().expect("built-in manifest parses");
    assert_eq!(manifest.dataset_names(), vec!["neuronio", "shd", "lra", "cifar10", "imdb"]);
    let by_name =
        |name: &str| manifest.files.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("{name} missing"));
    // Values copied from shared/DATASETS.md sections 0 and 2.1.
    let shd_train = by_name("shd_train.h5.gz");
    assert_eq!(shd_train.url, "https://zenkelab.org/datasets/shd_train.h5.gz");
    assert_eq!(shd_train.md5.as_deref(), Some("d47c9825dee33347913e8ce0f2be08b0"));
    assert_eq!(shd_train.unpack, Unpack::Gunzip);
    assert_eq!(by_name("shd_test.h5.gz").md5.as_deref(), Some("3062a80ec0c5719404d5b02e166543b1"));
    let cifar = by_name("cifar-10-binary.tar.gz");
    assert_eq!(cifar.md5.as_deref(), Some("c32a1d4ab5d03f1284b67883e8d87530"));
    assert_eq!(cifar.size, Some(170_052_171));
    assert_eq!(cifar.unpack, Unpack::TarGz);
    let imdb = by_name("aclImdb_v1.tar.gz");
    assert_eq!(imdb.md5.as_deref(), Some("7c2ac02c03563afcf9b574c7e56c153a"));
    let lra = by_name("lra_release.gz");
    assert_eq!(lra.url, "https://storage.googleapis.com/long-range-arena/lra_release.gz");
    assert_eq!(lra.unpack, Unpack::TarGz, "lra_release.gz is a gzipped tar");
    assert!(lra.is_trust_on_first_use());
    let neuronio: Vec<_> = manifest.files.iter().filter(|f| f.dataset == "neuronio").collect();
    assert_eq!(neuronio.len(), 2);
    for file in neuronio {
        assert!(file.url.starts_with("https://www.kaggle.com/api/v1/datasets/download/selfishgene/"));
        assert_eq!(file.unpack, Unpack::Zip);
        assert!(file.is_trust_on_first_use());
    }
    assert!(manifest.files.iter().all(|f| f.licence.is_some()));
}

#[test]
fn unknown_manifest_key_is_an_error_naming_the_key_and_the_file() {
    let tmp = TempDir::new("badkey");
    let path = tmp.path().join("mine.toml");
    let text = entry_toml("toy", "https://example.org/a.gz", "a.gz", "gunzip", "toy", "sise = 12");
    std::fs::write(&path, text).unwrap();
    let message = format!("{:#}", Manifest::load(&path).expect_err("unknown key"));
    assert!(message.contains("sise"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn manifest_values_that_could_escape_or_mislead_are_errors() {
    for (extra_dest, name, unpack, extra, needle) in [
        ("../outside", "a.gz", "gunzip", "", "`dest`"),
        ("/abs", "a.gz", "gunzip", "", "`dest`"),
        ("toy", "sub/a.gz", "gunzip", "", "`name`"),
        ("toy", "a.zip", "gunzip", "", ".gz"),
        ("toy", "a.gz", "gunzip", "sha256 = \"abc\"", "`sha256`"),
        ("toy", "a.gz", "rar", "", "unknown variant"),
    ] {
        let text = entry_toml("toy", "https://example.org/a", name, unpack, extra_dest, extra);
        let error = Manifest::parse(&text, "mine.toml").expect_err(&text);
        let message = format!("{error:#}");
        assert!(message.contains(needle), "{needle}: {message}");
        assert!(message.contains("mine.toml"), "{message}");
    }
}

#[test]
fn unknown_dataset_names_the_known_ones() {
    let manifest = Manifest::builtin().unwrap();
    let message = format!("{:#}", manifest.select(&["mnist".to_string()]).unwrap_err());
    assert!(message.contains("mnist") && message.contains("neuronio, shd, lra"), "{message}");
    assert_eq!(manifest.select(&["all".to_string()]).unwrap().len(), manifest.files.len());
}
