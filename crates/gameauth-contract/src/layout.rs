//! Where a repository keeps its fixtures.

use std::path::{Path, PathBuf};

/// The repository root and its fixture root.
///
/// Fixtures live in `<fixtures>/<provider>/contract/*.json` (recorded exchanges) and
/// `<fixtures>/<provider>/signing/*.json` (known-answer signing vectors), with an optional
/// `<fixtures>/allowlist.txt` of published example values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
    fixtures: PathBuf,
}

impl Layout {
    /// A repository at `root` with its fixtures in `root/fixtures`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let fixtures = root.join("fixtures");
        Self { root, fixtures }
    }

    /// The same repository with its fixtures in `dir` (relative paths are taken from the
    /// repository root).
    pub fn with_fixtures(mut self, dir: impl AsRef<Path>) -> Self {
        self.fixtures = self.root.join(dir);
        self
    }

    /// The repository root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The fixture root.
    pub fn fixtures(&self) -> &Path {
        &self.fixtures
    }

    /// `<fixtures>/<provider>/contract`.
    pub fn contract_dir(&self, provider: &str) -> PathBuf {
        self.fixtures.join(provider).join("contract")
    }

    /// `<fixtures>/<provider>/signing`.
    pub fn signing_dir(&self, provider: &str) -> PathBuf {
        self.fixtures.join(provider).join("signing")
    }

    /// `path` relative to the repository root when it is inside it, for messages.
    pub(crate) fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// The provider directories of the fixture root, sorted; none when it does not exist.
    pub(crate) fn provider_dirs(&self) -> Result<Vec<String>, String> {
        let entries = match std::fs::read_dir(&self.fixtures) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("cannot read {}: {e}", self.fixtures.display())),
        };
        let mut dirs = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| format!("cannot read {}: {e}", self.fixtures.display()))?;
            if entry.path().is_dir() {
                dirs.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        dirs.sort();
        Ok(dirs)
    }
}
