//! `fixtures check`: rejects fixtures that leak secrets, carry signatures that do not follow
//! from their dummy keys, break the schema, belong to no registered provider, or that no test
//! reads.

mod secrets;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::fixture::Fixture;
use crate::provider::SignInput;
use crate::secret_names::SecretNames;
use crate::{Error, Layout, Provider, Registry};

use secrets::Allowed;

/// The allow-list of published example values, in the fixture root.
pub const ALLOWLIST: &str = "allowlist.txt";

/// One finding, naming the file and the field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    file: String,
    field: String,
    message: String,
}

impl Problem {
    /// The file, relative to the repository root.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The JSON path of the field (`$` for the whole file).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.field, self.message)
    }
}

/// The outcome of a check: how many files were read and what is wrong with them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckReport {
    /// Files checked.
    pub files: usize,
    /// Problems found, sorted by file and field.
    pub problems: Vec<Problem>,
}

/// Checks every file under the fixture root.
///
/// # Errors
///
/// [`Error::Io`] when the allowlist ([`ALLOWLIST`]) exists but cannot be read, or a directory
/// under the fixture root cannot be listed. A missing fixture root or allowlist is no error,
/// and a file that cannot be read, is not JSON or breaks a rule is a [`Problem`] of the report.
pub fn check_fixtures(layout: &Layout, registry: &Registry) -> Result<CheckReport, Error> {
    let fixtures = layout.fixtures();
    let list = secrets::read_allowlist(&fixtures.join(ALLOWLIST)).map_err(Error::Io)?;
    let common = SecretNames::new([]);
    let mut problems = Vec::new();
    let mut count = 0;
    for path in walk(fixtures).map_err(Error::Io)? {
        let rel_in = path.strip_prefix(fixtures).unwrap_or(&path);
        let parts: Vec<String> = rel_in
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        if parts.len() == 1 && parts[0] == ALLOWLIST {
            continue;
        }
        count += 1;
        let file = layout.shown(&path);
        let mut report = |field: &str, message: String| {
            problems.push(Problem {
                file: file.clone(),
                field: field.to_owned(),
                message,
            });
        };
        let [dir, kind, name] = parts.as_slice() else {
            report(
                "$",
                "unexpected file: fixtures live in <fixtures>/<provider>/(contract|signing)/*.json"
                    .into(),
            );
            continue;
        };
        if !name.ends_with(".json") {
            report("$", "unexpected file: fixtures are *.json files".into());
            continue;
        }
        let provider = registry.get(dir);
        if provider.is_none() {
            report(
                "$",
                format!(
                    "`{dir}` is not a registered provider (registered: {}): register its \
                     provider or move the file",
                    registry.names().join(", ")
                ),
            );
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                report("$", format!("cannot read: {e}"));
                continue;
            }
        };
        let value: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                report("$", format!("not JSON: {e}"));
                continue;
            }
        };
        let names = provider.map_or_else(
            || common.clone(),
            |p| SecretNames::new(p.secret_fields().iter().copied()),
        );
        let allowed = Allowed {
            list: &list,
            keys: provider.map_or(&[], |p| p.published_keys()),
            names: &names,
        };
        secrets::scan(&value, "", &allowed, &mut report);
        let Some(provider) = provider else { continue };
        match kind.as_str() {
            "contract" => match Fixture::load(&path, dir) {
                Ok(fixture) => check_signatures(provider, &fixture, &mut report),
                Err(e) => report("$", e),
            },
            "signing" => {
                if !value.is_object() {
                    report("$", "a signing vector must be a JSON object".into());
                }
                if let Some(why) = unread_vectors(layout, provider) {
                    report("$", why);
                }
            }
            other => report(
                "$",
                format!("unknown fixture kind `{other}` (contract or signing)"),
            ),
        }
    }
    problems.sort();
    Ok(CheckReport {
        files: count,
        problems,
    })
}

/// Every file below `dir`, sorted; none when it does not exist.
fn walk(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", d.display())),
        };
        for entry in entries {
            let path = entry
                .map_err(|e| format!("cannot read {}: {e}", d.display()))?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Why no test reads `provider`'s signing vectors, if none does: no source file under its
/// [`Provider::vector_readers`] names the vector directory (`fixtures/<provider>/signing`, after
/// the fixture root's own name).
fn unread_vectors(layout: &Layout, provider: &dyn Provider) -> Option<String> {
    let root_name = layout
        .fixtures()
        .file_name()
        .map_or_else(|| "fixtures".into(), |n| n.to_string_lossy());
    let needle = format!("{root_name}/{}/signing", provider.name());
    let read = provider.vector_readers().iter().any(|reader| {
        walk(&layout.root().join(reader))
            .unwrap_or_default()
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .any(|text| text.contains(&needle))
    });
    if read {
        return None;
    }
    Some(match provider.vector_readers() {
        [] => format!(
            "provider `{}` names no source directory whose tests read {needle}",
            provider.name()
        ),
        readers => format!("no test under {} reads {needle}", readers.join(", ")),
    })
}

/// Recomputes every signature header from the fixture's keys.
fn check_signatures(
    provider: &dyn Provider,
    fixture: &Fixture,
    report: &mut dyn FnMut(&str, String),
) {
    for (index, i) in fixture.interactions.iter().enumerate() {
        let field = format!("interactions[{index}] ({})", i.name);
        let Ok(body) = i.request.body_bytes() else {
            continue;
        };
        let request = SignInput::of_interaction(i, &body);
        let signatures: Vec<_> = fixture
            .keys
            .values()
            .filter_map(|key| provider.sign(&request, key))
            .collect();
        let Some(header) = signatures.first().map(|s| s.header().to_owned()) else {
            continue;
        };
        // Nothing to recompute when the request carries no signature at all.
        let Some(presented) = request.header(&header) else {
            continue;
        };
        let valid = signatures.iter().any(|s| s.matches(presented));
        match (valid, &i.tampered) {
            (true, Some(_)) => report(
                &field,
                format!("marked tampered, but its `{header}` header verifies"),
            ),
            (false, None) => report(
                &field,
                format!(
                    "`{header}` does not follow from the fixture's keys (mark deliberate negative \
                     cases with \"tampered\")"
                ),
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
