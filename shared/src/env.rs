//! Plain settings from environment variables, read once at start-up into typed configuration.
//!
//! Settings are read from a [`Vars`] snapshot rather than the process environment directly, so tests can build
//! any configuration without touching global state.

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// Names shared by several functions.
pub const PUBLIC_URL: &str = "SWITCHYARD_PUBLIC_URL";
pub const SECRET_PREFIX: &str = "SWITCHYARD_SECRET_PREFIX";
pub const TABLE: &str = "SWITCHYARD_TABLE";

/// A setting that is present but unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting {name} is invalid: {reason}")]
pub struct ConfigError {
    pub name: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(name: &str, reason: impl Into<String>) -> Self {
        Self { name: name.to_owned(), reason: reason.into() }
    }
}

/// A snapshot of environment variables, which remembers the names asked for (the environment contract test
/// compares them with what the template sets).
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: HashMap<String, String>,
    asked: Arc<Mutex<BTreeSet<String>>>,
}

impl Vars {
    /// The process environment (non-UTF-8 entries are skipped).
    pub fn from_process() -> Self {
        Self::from_map(
            std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect(),
        )
    }

    /// Exactly these variables.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::from_map(pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }

    fn from_map(values: HashMap<String, String>) -> Self {
        Self { values, asked: Arc::default() }
    }

    /// Sets one variable (builder style, for tests and the local runner).
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.values.insert(name.to_owned(), value.to_owned());
        self
    }

    /// The value of `name` as set, empty included.
    pub fn get_raw(&self, name: &str) -> Option<&str> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_owned());
        self.values.get(name).map(String::as_str)
    }

    /// The value of `name`, treating an empty value as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_raw(name).filter(|v| !v.trim().is_empty())
    }

    /// Every name asked for so far, by this snapshot and its clones.
    pub fn names_asked(&self) -> BTreeSet<String> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every name set.
    pub fn names_set(&self) -> BTreeSet<String> {
        self.values.keys().cloned().collect()
    }

    /// The value of `name`, or `default`.
    pub fn get_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.get(name).unwrap_or(default)
    }

    /// A required value.
    pub fn require(&self, name: &str) -> Result<&str, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError { name: name.to_owned(), reason: "it is not set".to_owned() })
    }

    /// A switch: `on` or `off` (also `true`/`false`), or `default` when unset or empty.
    pub fn switch_or(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("on") || v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("off") || v.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(ConfigError { name: name.to_owned(), reason: "must be on or off".to_owned() }),
        }
    }

    /// A parsed value, or `default` when unset.
    pub fn parse_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => {
                raw.trim().parse().map_err(|e: T::Err| ConfigError { name: name.to_owned(), reason: e.to_string() })
            }
        }
    }

    /// A comma-separated list (entries trimmed, empty entries dropped), or `default` when unset.
    pub fn list_or(&self, name: &str, default: &str) -> Vec<String> {
        self.get_or(name, default).split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    /// The configured public base URL of the API, without a trailing slash; `None` when unset (then each request's
    /// own API Gateway domain is used, see [`crate::edge::handler::public_base`]).
    pub fn public_url(&self) -> Result<Option<String>, ConfigError> {
        let Some(raw) = self.get(PUBLIC_URL) else {
            return Ok(None);
        };
        let parsed =
            url::Url::parse(raw).map_err(|e| ConfigError { name: PUBLIC_URL.to_owned(), reason: e.to_string() })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(ConfigError { name: PUBLIC_URL.to_owned(), reason: "it must be an http(s) URL".to_owned() });
        }
        Ok(Some(raw.trim().trim_end_matches('/').to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_lists_and_parse_errors() {
        let vars = Vars::from_pairs([("A", " a, b,,c "), ("N", "12"), ("BAD", "x"), ("EMPTY", " ")]);
        assert_eq!(vars.list_or("A", "z"), ["a", "b", "c"]);
        assert_eq!(vars.list_or("MISSING", "y,z"), ["y", "z"]);
        assert_eq!(vars.parse_or("N", 1u32).unwrap(), 12);
        assert_eq!(vars.parse_or("MISSING", 1u32).unwrap(), 1);
        assert_eq!(vars.parse_or("BAD", 1u32).unwrap_err().name, "BAD");
        assert_eq!(vars.get("EMPTY"), None);
        assert_eq!(vars.get_raw("EMPTY"), Some(" "), "set and empty is not unset where that matters");
        assert!(vars.require("EMPTY").is_err());
        let asked = vars.clone().names_asked();
        assert!(["A", "MISSING", "N", "BAD", "EMPTY"].iter().all(|n| asked.contains(*n)), "{asked:?}");
        assert!(!asked.contains("UNASKED"));
    }

    #[test]
    fn public_url_is_validated_and_trimmed() {
        let ok = Vars::from_pairs([(PUBLIC_URL, "https://api.example.com/prod/")]);
        assert_eq!(ok.public_url().unwrap().as_deref(), Some("https://api.example.com/prod"));
        assert!(Vars::from_pairs([(PUBLIC_URL, "ftp://x")]).public_url().is_err());
        assert!(Vars::from_pairs([(PUBLIC_URL, "not a url")]).public_url().is_err());
        assert_eq!(Vars::default().public_url().unwrap(), None);
    }
}
