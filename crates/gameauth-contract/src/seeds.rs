//! Fuzz seeds from the fixtures: each provider turns its recorded exchanges and signing vectors
//! into seed inputs for its fuzz targets ([`crate::Provider::fuzz_seeds`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::Layout;
use crate::fixture::{Fixture, fixture_files};

/// What a provider's seeds are made from: its fixtures and its signing vectors.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SeedInput {
    /// The contract fixtures, by file stem, sorted.
    pub fixtures: Vec<(String, Fixture)>,
    /// The signing vectors (any JSON), by file stem, sorted.
    pub vectors: Vec<(String, Value)>,
}

impl SeedInput {
    /// Reads `provider`'s fixtures and signing vectors.
    ///
    /// # Errors
    ///
    /// A message naming the file or directory when the contract or signing directory exists
    /// but cannot be read, a fixture fails [`Fixture::load`], or a signing vector cannot be
    /// read or is not valid JSON. Missing directories give no fixtures or vectors.
    pub fn load(layout: &Layout, provider: &str) -> Result<Self, String> {
        let fixtures = fixture_files(&layout.contract_dir(provider))?
            .into_iter()
            .map(|path| Fixture::load(&path, provider).map(|f| (stem(&path), f)))
            .collect::<Result<_, _>>()?;
        let vectors = fixture_files(&layout.signing_dir(provider))?
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let value: Value = serde_json::from_str(&text)
                    .map_err(|e| format!("invalid JSON in {}: {e}", path.display()))?;
                Ok((stem(&path), value))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { fixtures, vectors })
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned()
}

/// Seed files by fuzz target and file name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seeds(BTreeMap<String, BTreeMap<String, Vec<u8>>>);

impl Seeds {
    /// No seeds yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the seed `name` of `target`.
    pub fn add(&mut self, target: &str, name: impl Into<String>, bytes: Vec<u8>) {
        self.0
            .entry(target.to_owned())
            .or_default()
            .insert(name.into(), bytes);
    }

    /// The seeds of `target`, by file name.
    pub fn target(&self, target: &str) -> Option<&BTreeMap<String, Vec<u8>>> {
        self.0.get(target)
    }

    /// Every target with its seeds.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &BTreeMap<String, Vec<u8>>)> {
        self.0.iter().map(|(t, s)| (t.as_str(), s))
    }

    /// Writes `dir/<target>/<name>` for every seed, replacing each target's directory; returns
    /// the number of seeds per target.
    ///
    /// # Errors
    ///
    /// A message naming the path when a target's existing directory cannot be removed, a
    /// directory cannot be created or a seed file cannot be written; targets written before
    /// the failure stay written.
    pub fn write(&self, dir: &Path) -> Result<BTreeMap<String, usize>, String> {
        let mut counts = BTreeMap::new();
        for (target, files) in &self.0 {
            let target_dir = dir.join(target);
            if target_dir.is_dir() {
                std::fs::remove_dir_all(&target_dir)
                    .map_err(|e| format!("cannot clear {}: {e}", target_dir.display()))?;
            }
            std::fs::create_dir_all(&target_dir)
                .map_err(|e| format!("cannot create {}: {e}", target_dir.display()))?;
            for (name, bytes) in files {
                let path = target_dir.join(name);
                std::fs::write(&path, bytes)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            counts.insert(target.clone(), files.len());
        }
        Ok(counts)
    }
}
