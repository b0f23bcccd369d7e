//! Kaggle API downloads (NeuronIO): recognising them and finding the user's credentials.
//!
//! Kaggle serves a dataset as one zip at `/api/v1/datasets/download/<owner>/<slug>` and wants HTTP
//! basic auth with the username and API key of the user's kaggle.json (DATASETS.md section 0).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use reqwest::Url;
use serde::Deserialize;

/// The path prefix of Kaggle's dataset download API.
pub const API_DOWNLOAD_PREFIX: &str = "/api/v1/datasets/download/";

#[derive(Clone, PartialEq, Eq)]
pub struct KaggleCredentials {
    pub username: String,
    pub key: String,
    /// Where they were found, for messages (never the key itself).
    pub origin: String,
}

impl std::fmt::Debug for KaggleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KaggleCredentials")
            .field("username", &self.username)
            .field("key", &"<hidden>")
            .field("origin", &self.origin)
            .finish()
    }
}

/// Where to look for credentials. `from_environment` is what the command line uses; tests build
/// their own so that they never depend on (or race over) the process environment.
#[derive(Debug, Clone, Default)]
pub struct CredentialLookup {
    pub env_username: Option<String>,
    pub env_key: Option<String>,
    /// The kaggle.json to read when the environment variables are not both set.
    pub kaggle_json: Option<PathBuf>,
}

impl CredentialLookup {
    /// `KAGGLE_USERNAME`/`KAGGLE_KEY`, else `$KAGGLE_CONFIG_DIR/kaggle.json`, else
    /// `~/.kaggle/kaggle.json` (the same order as the official kaggle client).
    pub fn from_environment() -> CredentialLookup {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let kaggle_json = var("KAGGLE_CONFIG_DIR")
            .map(|dir| PathBuf::from(dir).join("kaggle.json"))
            .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".kaggle/kaggle.json")));
        CredentialLookup { env_username: var("KAGGLE_USERNAME"), env_key: var("KAGGLE_KEY"), kaggle_json }
    }

    /// The credentials, or an error that says how to provide them.
    pub fn find(&self) -> Result<KaggleCredentials> {
        if let (Some(username), Some(key)) = (&self.env_username, &self.env_key) {
            return Ok(KaggleCredentials {
                username: username.clone(),
                key: key.clone(),
                origin: "KAGGLE_USERNAME/KAGGLE_KEY".to_string(),
            });
        }
        let Some(path) = &self.kaggle_json else {
            bail!("no Kaggle credentials: KAGGLE_USERNAME/KAGGLE_KEY are not set and there is no home folder to hold .kaggle/kaggle.json");
        };
        if !path.exists() {
            bail!(
                "no Kaggle credentials: KAGGLE_USERNAME/KAGGLE_KEY are not set and {} does not exist",
                path.display()
            );
        }
        read_kaggle_json(path)
    }
}

#[derive(Deserialize)]
struct KaggleJson {
    username: String,
    key: String,
}

/// Reads a kaggle.json (`{"username": "...", "key": "..."}`).
pub fn read_kaggle_json(path: &Path) -> Result<KaggleCredentials> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let parsed: KaggleJson = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a kaggle.json with `username` and `key`", path.display()))?;
    if parsed.username.is_empty() || parsed.key.is_empty() {
        bail!("{} has an empty `username` or `key`", path.display());
    }
    Ok(KaggleCredentials { username: parsed.username, key: parsed.key, origin: path.display().to_string() })
}

/// Whether a URL is a Kaggle API dataset download (recognised by its path, so that a
/// Kaggle-compatible proxy works too). A `--mirror` URL never is: it ends in the file name.
pub fn is_api_download(url: &Url) -> bool {
    url.path().starts_with(API_DOWNLOAD_PREFIX)
}

/// Credentials travel only over https, or to this machine (the tests' server).
pub fn may_send_credentials(url: &Url) -> bool {
    if url.scheme() == "https" {
        return true;
    }
    let host = url.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// How to get credentials, for error messages.
pub const HOW_TO_PROVIDE: &str =
    "Kaggle downloads need your API credentials: set KAGGLE_USERNAME and KAGGLE_KEY, or save \
the kaggle.json from kaggle.com > Settings > API > Create New Token as ~/.kaggle/kaggle.json (or in \
$KAGGLE_CONFIG_DIR); also accept the dataset's terms on its Kaggle page once";
