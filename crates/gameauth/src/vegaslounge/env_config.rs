//! Configuration settings from the environment: `GAMEAUTH_VL__<SECTION>__<KEY>=<value>`.
//!
//! The name is the setting's path in the TOML file in upper case, each step after the prefix
//! `GAMEAUTH_VL__` and separated by a double underscore: `listen` is `GAMEAUTH_VL__LISTEN`,
//! `[store] kind` is `GAMEAUTH_VL__STORE__KIND`, `[store.tls] ca_file` is
//! `GAMEAUTH_VL__STORE__TLS__CA_FILE`, and an entry of an array of tables is picked by its index
//! from 0: `GAMEAUTH_VL__CLIENTS__0__CLIENT_SECRET` (one index past the end adds an entry).
//!
//! The value is read as a TOML value when it is one (`30`, `true`, `["10.0.0.0/8"]`,
//! `"quoted"`), otherwise as plain text (`127.0.0.1:8080`, `redis://redis:6379/0`). A value that
//! reads as a number or a boolean where the setting takes text is taken as the text it was
//! written as. An unknown setting, a bad value or a non-UTF-8 value is an error that names the
//! variable; a value is never quoted in an error, since it may be a secret.
//!
//! Precedence: a command-line flag, then the environment, then the file, then the default.

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::error::CliError;

/// The prefix of every override.
pub(crate) const PREFIX: &str = "GAMEAUTH_VL__";

/// One step of a setting's path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// One override: where it goes, the variable it came from, and its value.
#[derive(Debug, Clone)]
struct Override {
    var: String,
    path: Vec<Step>,
    raw: String,
    value: Value,
}

impl Override {
    /// The path as `serde_path_to_error` prints it: `store.tls.ca_file`, `clients[0].client_id`.
    fn display_path(&self) -> String {
        display(&self.path)
    }
}

fn display(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The overrides among `vars` (every variable of the environment), sorted by name.
fn parse(vars: &[(String, String)]) -> Result<Vec<Override>, CliError> {
    let mut overrides = Vec::new();
    for (var, raw) in vars {
        let Some(rest) = var.strip_prefix(PREFIX) else {
            continue;
        };
        let mut path = Vec::new();
        for step in rest.split("__") {
            if step.is_empty() || !step.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(CliError::Config(format!(
                    "{var}: not a setting name (GAMEAUTH_VL__SECTION__KEY, letters, digits and \
                     single underscores between the double ones)"
                )));
            }
            path.push(match step.parse::<usize>() {
                Ok(i) => Step::Index(i),
                Err(_) => Step::Key(step.to_ascii_lowercase()),
            });
        }
        if matches!(path.first(), Some(Step::Index(_))) {
            return Err(CliError::Config(format!(
                "{var}: a setting name starts with a key, not an index"
            )));
        }
        let value = toml_value(raw).unwrap_or_else(|| Value::String(raw.clone()));
        overrides.push(Override {
            var: var.clone(),
            path,
            raw: raw.clone(),
            value,
        });
    }
    overrides.sort_by(|a, b| a.var.cmp(&b.var));
    Ok(overrides)
}

/// `raw` as a TOML value, when it is one.
fn toml_value(raw: &str) -> Option<Value> {
    let table: Table = format!("v = {raw}").parse().ok()?;
    table.get("v").cloned()
}

/// Sets `value` at `path` in `table`, creating tables on the way.
fn set(table: &mut Table, o: &Override, value: Value) -> Result<(), CliError> {
    let mismatch = |at: &[Step], what: &str| {
        CliError::Config(format!(
            "{}: `{}` is not {what} in the configuration",
            o.var,
            display(at)
        ))
    };
    let mut slot: &mut Value = {
        let Some(Step::Key(first)) = o.path.first() else {
            return Err(mismatch(&o.path, "a setting"));
        };
        if o.path.len() == 1 {
            table.insert(first.clone(), value);
            return Ok(());
        }
        table
            .entry(first.clone())
            .or_insert_with(|| empty_for(&o.path[1]))
    };
    for (i, step) in o.path.iter().enumerate().skip(1) {
        let last = i + 1 == o.path.len();
        let next = || {
            if last {
                Value::Boolean(false)
            } else {
                empty_for(&o.path[i + 1])
            }
        };
        slot = match (step, slot) {
            (Step::Key(k), Value::Table(t)) => t.entry(k.clone()).or_insert_with(next),
            (Step::Index(n), Value::Array(a)) => {
                let len = a.len();
                if *n == len {
                    a.push(next());
                }
                a.get_mut(*n).ok_or_else(|| {
                    CliError::Config(format!(
                        "{}: index {n} is past the end of `{}` (it has {len} entries)",
                        o.var,
                        display(&o.path[..i]),
                    ))
                })?
            }
            (Step::Key(_), _) => return Err(mismatch(&o.path[..i], "a table")),
            (Step::Index(_), _) => return Err(mismatch(&o.path[..i], "an array")),
        };
    }
    *slot = value;
    Ok(())
}

fn empty_for(step: &Step) -> Value {
    match step {
        Step::Key(_) => Value::Table(Table::new()),
        Step::Index(_) => Value::Array(Vec::new()),
    }
}

/// Applies the `GAMEAUTH_VL__…` variables among `vars` to the parsed file and deserializes the
/// result. A deserialization error at a setting that came from the environment names its
/// variable.
pub(crate) fn deserialize<T: DeserializeOwned>(
    mut table: Table,
    vars: &[(String, String)],
) -> Result<T, CliError> {
    let overrides = parse(vars)?;
    for o in &overrides {
        set(&mut table, o, o.value.clone())?;
    }
    // A value that read as a number or boolean where text is wanted: retry it as text, once;
    // when that fails too, the first error is the one to report.
    let mut retried: Vec<(String, String)> = Vec::new();
    loop {
        let e = match serde_path_to_error::deserialize::<_, T>(Value::Table(table.clone())) {
            Ok(config) => return Ok(config),
            Err(e) => e,
        };
        let path = e.path().to_string();
        let message = e.inner().message().to_owned();
        let culprit = overrides.iter().find(|o| {
            let at = o.display_path();
            path == at || path.starts_with(&format!("{at}.")) || path.starts_with(&format!("{at}["))
        });
        match culprit {
            Some(o) if !o.value.is_str() && !retried.iter().any(|(v, _)| *v == o.var) => {
                retried.push((o.var.clone(), message));
                set(&mut table, o, Value::String(o.raw.clone()))?;
            }
            Some(o) => {
                let first = retried
                    .iter()
                    .find(|(v, _)| *v == o.var)
                    .map_or(message, |(_, m)| m.clone());
                return Err(CliError::Config(format!(
                    "{}: {}",
                    o.var,
                    without_value(&first)
                )));
            }
            None if path.is_empty() || path == "?" => return Err(CliError::Config(message)),
            None => return Err(CliError::Config(format!("{path}: {message}"))),
        }
    }
}

/// A serde message without the value it quotes (`invalid type: string "…", expected …`).
fn without_value(message: &str) -> String {
    if !message.starts_with("invalid") {
        return message.to_owned();
    }
    let quote = |from: usize| message[from..].find(['"', '`']).map(|i| i + from);
    match quote(0).and_then(|a| quote(a + 1).map(|b| (a, b))) {
        Some((a, b)) => format!("{}…{}", &message[..a], &message[b + 1..]),
        None => message.to_owned(),
    }
}

/// The `GAMEAUTH_VL__…` variables of the process environment.
///
/// # Errors
///
/// A variable of the prefix whose value is not UTF-8.
pub(crate) fn from_process() -> Result<Vec<(String, String)>, CliError> {
    let mut vars = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| n.starts_with(PREFIX)) else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|_| CliError::Config(format!("{name} is not valid UTF-8")))?;
        vars.push((name.to_owned(), value));
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        listen: Option<String>,
        #[serde(default)]
        store: Store,
        #[serde(default)]
        clients: Vec<Client>,
    }

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Store {
        kind: Option<String>,
        timeout_ms: Option<u64>,
        key_prefix: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Client {
        client_id: String,
        client_secret: Option<String>,
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn load(text: &str, pairs: &[(&str, &str)]) -> Result<Config, CliError> {
        deserialize(text.parse().unwrap(), &vars(pairs))
    }

    #[test]
    fn variables_set_nested_settings_and_array_entries() {
        let c = load(
            "listen = \"127.0.0.1:1\"\n[[clients]]\nclient_id = \"VL001\"\n",
            &[
                ("GAMEAUTH_VL__LISTEN", "0.0.0.0:8080"),
                ("GAMEAUTH_VL__STORE__KIND", "redis"),
                ("GAMEAUTH_VL__STORE__TIMEOUT_MS", "750"),
                ("GAMEAUTH_VL__STORE__KEY_PREFIX", "1234"),
                ("GAMEAUTH_VL__CLIENTS__0__CLIENT_SECRET", "s3cr3t"),
                ("GAMEAUTH_VL__CLIENTS__1__CLIENT_ID", "VL002"),
                ("OTHER", "ignored"),
            ],
        )
        .unwrap();
        assert_eq!(c.listen.as_deref(), Some("0.0.0.0:8080"));
        assert_eq!(c.store.kind.as_deref(), Some("redis"));
        assert_eq!(c.store.timeout_ms, Some(750));
        assert_eq!(
            c.store.key_prefix.as_deref(),
            Some("1234"),
            "digits where text is wanted"
        );
        assert_eq!(c.clients[0].client_id, "VL001");
        assert_eq!(c.clients[0].client_secret.as_deref(), Some("s3cr3t"));
        assert_eq!(c.clients[1].client_id, "VL002");
    }

    #[test]
    fn bad_names_and_values_are_errors_naming_the_variable_without_the_value() {
        for (pairs, expected) in [
            (
                &[("GAMEAUTH_VL__LISTN", "x")][..],
                "GAMEAUTH_VL__LISTN: unknown field `listn`",
            ),
            (
                &[("GAMEAUTH_VL__STORE__TIMEOUT_MS", "soon-ish")][..],
                "GAMEAUTH_VL__STORE__TIMEOUT_MS: invalid type",
            ),
            (
                &[("GAMEAUTH_VL__STORE__TIMEOUT_MS", "-5")][..],
                "GAMEAUTH_VL__STORE__TIMEOUT_MS: invalid value",
            ),
            (
                &[("GAMEAUTH_VL__CLIENTS__3__CLIENT_ID", "VL9")][..],
                "index 3 is past the end",
            ),
            (
                &[("GAMEAUTH_VL__LISTEN__PORT", "1")][..],
                "`listen` is not a table",
            ),
            (
                &[("GAMEAUTH_VL__STORE____KIND", "x")][..],
                "not a setting name",
            ),
            (&[("GAMEAUTH_VL__0", "x")][..], "starts with a key"),
        ] {
            let err = load(
                "listen = \"a\"\n[[clients]]\nclient_id = \"VL001\"\n",
                pairs,
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains(expected), "{pairs:?}: {err}");
            assert!(!err.contains("soon-ish"), "{err}");
        }
    }

    #[test]
    fn errors_in_the_file_keep_their_path() {
        let err = load("[store]\ntimeout_ms = \"x\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("store.timeout_ms: invalid type"), "{err}");
    }
}
