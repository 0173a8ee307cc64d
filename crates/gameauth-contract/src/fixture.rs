//! The versioned fixture file format and its loader.
//!
//! A fixture is one recorded scenario of one provider: the frozen clock, the generated ids and
//! the dummy keys every signature depends on, the provider-defined `steps` (calls and expected
//! outcomes) and the recorded `interactions` (requests and answers). The schema is described
//! field by field in the repository's `docs/fixtures.md`; [`Fixture::load`] rejects anything
//! that does not follow it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gameauth_core::{FixedIds, ManualClock};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The only schema version this kit understands.
pub const SCHEMA: u32 = 1;

/// One recorded scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Fixture {
    /// Schema version, always [`SCHEMA`].
    pub schema: u32,
    /// The provider's name ([`crate::Provider::name`]); equals the fixture's directory.
    pub provider: String,
    /// Scenario name; equals the file stem.
    pub scenario: String,
    /// Where the exchange comes from (the provider's docs, a recording, or why it is synthetic).
    pub source: String,
    /// One sentence on what the fixture proves.
    pub description: String,
    /// The frozen clock, in Unix seconds.
    pub clock: i64,
    /// Generated ids handed out in order.
    #[serde(default)]
    pub ids: Vec<String>,
    /// Dummy keys by provider-defined name.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
    /// Provider-defined calls and expected outcomes.
    #[serde(default)]
    pub steps: Vec<Value>,
    /// Recorded requests and responses.
    #[serde(default)]
    pub interactions: Vec<Interaction>,
}

/// Who sends the request of an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Our client calls the (mocked) provider.
    Outbound,
    /// The provider calls our verifier or server.
    Inbound,
}

/// One request and its answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Interaction {
    /// Unique name in the fixture; the mock's name.
    pub name: String,
    /// Who sends the request.
    pub direction: Direction,
    /// Outbound only: which mock server answers (`default`, `primary`, `fallback`, …).
    #[serde(default = "default_host")]
    pub host: String,
    /// Outbound only: exact number of matching calls expected.
    #[serde(default = "one")]
    pub times: u64,
    /// Why this interaction's signature is deliberately wrong (a negative case); `fixtures check`
    /// verifies every other signature against the fixture's dummy key.
    #[serde(default)]
    pub tampered: Option<String>,
    /// The request.
    pub request: RecordedRequest,
    /// The answer.
    pub response: RecordedResponse,
}

fn default_host() -> String {
    "default".to_owned()
}

fn one() -> u64 {
    1
}

/// A recorded request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, without query.
    pub path: String,
    /// Raw query exactly as on the request line, without `?`; absent means no query at all.
    #[serde(default)]
    pub query: Option<String>,
    /// Headers that must be present with exactly these values (names case-insensitive).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Exact body text.
    #[serde(default)]
    pub body: Option<String>,
    /// A body that must be JSON-equal to this.
    #[serde(default)]
    pub body_json: Option<Value>,
    /// A form body, compared order-insensitively; duplicated fields never match.
    #[serde(default)]
    pub body_form: Option<BTreeMap<String, String>>,
}

/// A recorded (outbound) or expected (inbound) response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RecordedResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers sent (outbound) or required with exactly these values (inbound).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Exact body text.
    #[serde(default)]
    pub body: Option<String>,
    /// A JSON body.
    #[serde(default)]
    pub body_json: Option<Value>,
    /// Outbound only: answer after this many milliseconds.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Inbound only: JSON pointers whose values are fresh (must be non-empty strings, not compared).
    #[serde(default)]
    pub volatile: Vec<String>,
    /// Inbound only: values to remember, by placeholder name → JSON pointer.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
}

impl RecordedRequest {
    /// The body bytes this request carries.
    ///
    /// # Errors
    ///
    /// A message when more than one of `body`, `body_json` and `body_form` is given.
    pub fn body_bytes(&self) -> Result<Vec<u8>, String> {
        body_bytes(
            self.body.as_deref(),
            self.body_json.as_ref(),
            self.body_form.as_ref(),
        )
    }
}

impl RecordedResponse {
    /// The body bytes of this response.
    ///
    /// # Errors
    ///
    /// A message when both `body` and `body_json` are given.
    pub fn body_bytes(&self) -> Result<Vec<u8>, String> {
        body_bytes(self.body.as_deref(), self.body_json.as_ref(), None)
    }
}

fn body_bytes(
    text: Option<&str>,
    json: Option<&Value>,
    form: Option<&BTreeMap<String, String>>,
) -> Result<Vec<u8>, String> {
    match (text, json, form) {
        (None, None, None) => Ok(Vec::new()),
        (Some(t), None, None) => Ok(t.as_bytes().to_vec()),
        (None, Some(j), None) => serde_json::to_vec(j).map_err(|e| e.to_string()),
        (None, None, Some(f)) => Ok(encode_form(f.iter()).into_bytes()),
        _ => Err("give at most one of body, body_json, body_form".into()),
    }
}

/// `application/x-www-form-urlencoded` encoding of `pairs`.
pub(crate) fn encode_form<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Decodes a form body into pairs, in order; `None` when it is not valid UTF-8 or holds a broken
/// percent escape.
pub(crate) fn decode_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((form_unescape(k)?, form_unescape(v)?))
        })
        .collect()
}

fn form_unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Every fixture file (`*.json`) of a provider's contract directory, sorted by name; none when
/// the directory does not exist.
///
/// # Errors
///
/// A message naming `dir` when it exists but cannot be listed.
pub fn fixture_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

impl Fixture {
    /// Reads and validates a fixture file found in `provider`'s directory: the schema version,
    /// the provider and scenario names against the directory and the file name, non-empty
    /// `source` and `description`, unique interaction names and well-formed bodies.
    ///
    /// # Errors
    ///
    /// A message when the file cannot be read, is not a fixture of this schema's shape (invalid
    /// JSON, a missing field, an unknown field), its `schema` is not [`SCHEMA`], its
    /// `provider` is not `provider` or its `scenario` not the file name, `source` or
    /// `description` is blank, an interaction name is used twice, or a request or response
    /// gives more than one kind of body.
    pub fn load(path: &Path, provider: &str) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let fixture: Fixture = serde_json::from_str(&text)
            .map_err(|e| format!("invalid fixture {}: {e}", path.display()))?;
        fixture.validate(path, provider)?;
        Ok(fixture)
    }

    /// A fixture from a JSON value, without the checks of [`Fixture::load`] (for tests).
    ///
    /// # Errors
    ///
    /// A message when `value` does not have the fixture's shape (a missing or unknown field, a
    /// value of the wrong type).
    pub fn from_value(value: Value) -> Result<Self, String> {
        serde_json::from_value(value).map_err(|e| format!("invalid fixture: {e}"))
    }

    fn validate(&self, path: &Path, provider: &str) -> Result<(), String> {
        if self.schema != SCHEMA {
            return Err(format!("schema {} is not {SCHEMA}", self.schema));
        }
        if self.provider != provider {
            return Err(format!(
                "provider `{}` does not match its directory `{provider}`",
                self.provider
            ));
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if self.scenario != stem {
            return Err(format!(
                "scenario `{}` does not match the file name `{stem}`",
                self.scenario
            ));
        }
        if self.source.trim().is_empty() || self.description.trim().is_empty() {
            return Err("source and description must not be empty".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for i in &self.interactions {
            if !names.insert(i.name.as_str()) {
                return Err(format!("interaction name `{}` is used twice", i.name));
            }
            i.request.body_bytes()?;
            i.response.body_bytes()?;
        }
        Ok(())
    }

    /// A clock frozen at the fixture's time.
    pub fn clock(&self) -> ManualClock {
        ManualClock::at_unix_seconds(self.clock)
    }

    /// The fixture's ids, handed out in order.
    pub fn ids(&self) -> FixedIds {
        FixedIds::new(self.ids.clone())
    }

    /// A dummy key by name.
    ///
    /// # Errors
    ///
    /// A message when the fixture's `keys` have no key called `name`.
    pub fn key(&self, name: &str) -> Result<String, String> {
        self.keys
            .get(name)
            .cloned()
            .ok_or_else(|| format!("fixture has no key `{name}`"))
    }

    /// The steps, each read as the provider's step type `S`; an error names the step that does
    /// not fit, and a fixture without steps (which proves nothing) is refused.
    ///
    /// # Errors
    ///
    /// A message when the fixture has no steps, or naming the first step that `S` cannot be
    /// deserialized from.
    pub fn parse_steps<S: DeserializeOwned>(&self) -> Result<Vec<S>, String> {
        if self.steps.is_empty() {
            return Err("fixture has no steps".into());
        }
        self.steps
            .iter()
            .enumerate()
            .map(|(n, raw)| S::deserialize(raw).map_err(|e| format!("step {n}: invalid: {e}")))
            .collect()
    }

    /// The outbound interactions, in file order.
    pub fn outbound(&self) -> impl Iterator<Item = &Interaction> {
        self.interactions
            .iter()
            .filter(|i| i.direction == Direction::Outbound)
    }

    /// The inbound interactions, in file order.
    pub fn inbound(&self) -> impl Iterator<Item = &Interaction> {
        self.interactions
            .iter()
            .filter(|i| i.direction == Direction::Inbound)
    }

    /// The inbound interaction called `name`.
    ///
    /// # Errors
    ///
    /// A message when no inbound interaction has that name (an outbound one of the name does not
    /// count).
    pub fn inbound_named(&self, name: &str) -> Result<&Interaction, String> {
        self.inbound()
            .find(|i| i.name == name)
            .ok_or_else(|| format!("no inbound interaction `{name}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_read_as_the_providers_type_and_must_exist() {
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields)]
        struct Step {
            call: String,
        }
        let mut f = Fixture::from_value(serde_json::json!({
            "schema": 1, "provider": "test", "scenario": "t", "source": "synthetic: self-test",
            "description": "d", "clock": 0, "steps": [{"call": "a"}, {"call": "b", "x": 1}]
        }))
        .unwrap();
        let err = f.parse_steps::<Step>().unwrap_err();
        assert!(
            err.starts_with("step 1: invalid: unknown field `x`"),
            "{err}"
        );
        f.steps.pop();
        assert_eq!(
            f.parse_steps::<Step>().unwrap(),
            [Step { call: "a".into() }]
        );
        f.steps.clear();
        assert_eq!(f.parse_steps::<Step>().unwrap_err(), "fixture has no steps");
    }

    #[test]
    fn form_round_trip() {
        let mut m = BTreeMap::new();
        m.insert("a b".to_owned(), "x&y=z+%".to_owned());
        let enc = encode_form(m.iter());
        assert_eq!(enc, "a+b=x%26y%3Dz%2B%25");
        assert_eq!(
            decode_form(enc.as_bytes()).unwrap(),
            vec![("a b".to_owned(), "x&y=z+%".to_owned())]
        );
    }
}
