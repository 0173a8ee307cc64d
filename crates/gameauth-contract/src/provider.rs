//! The [`Provider`] trait: everything the kit needs to know about one provider, and the
//! [`Registry`] that lists the providers of a repository.

use std::collections::BTreeMap;
use std::fmt;

use crate::Error;
use crate::fixture::{Direction, Fixture, Interaction};
use crate::record::RecordRules;
use crate::seeds::{SeedInput, Seeds};

/// One provider's contract rules: how to replay its fixtures against the SDK, how its requests
/// are signed, how it is recorded and which fuzz seeds its fixtures give.
///
/// Only [`Provider::name`] and [`Provider::run`] are required; the rest defaults to "nothing to
/// check": a provider that signs nothing, is not recorded and has no fuzz targets.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// The provider's name: its fixture directory (`<fixtures>/<name>/contract/`) and the
    /// `provider` field of its fixtures. Lower case letters, digits, `-` and `_`.
    fn name(&self) -> &'static str;

    /// Replays one fixture's steps against the SDK: builds the clients and servers the steps
    /// name (on the fixture's frozen clock, ids and keys, against [`crate::MockUpstream`] for
    /// outbound calls, through [`crate::Inbound`] for inbound ones) and compares every outcome
    /// with the step's expectation. The error says which step failed and why.
    ///
    /// # Errors
    ///
    /// A message naming the step and the reason when a step's outcome differs from its
    /// expectation, a step cannot be read, a client or server cannot be built, or the mock
    /// upstream saw a request that was not recorded or missed a recorded one.
    async fn run(&self, fixture: &Fixture) -> Result<(), String>;

    /// The signature `request` carries when signed with `key`, or `None` when this provider
    /// does not sign such requests. `fixtures check` recomputes every signature with the
    /// fixture's keys through it, and the recorder checks the original signatures with the real
    /// key and re-signs the scrubbed requests with the dummy key through it. The header it names
    /// must not depend on the key (the recorder asks with an empty one to learn it).
    ///
    /// Write it from the provider's documented rule with the signing primitives
    /// (`gameauth_core::sign`), not by calling the crate under test: the check is then an
    /// independent oracle of the rule.
    fn sign(&self, request: &SignInput<'_>, key: &str) -> Option<Signature> {
        let _ = (request, key);
        None
    }

    /// Field, header and query-parameter names (beyond the kit's common ones such as `token`,
    /// `client_secret` or `authorization`) whose values are secrets in this provider's
    /// exchanges: `fixtures check` demands dummies for them and the recorder replaces them.
    fn secret_fields(&self) -> &[&'static str] {
        &[]
    }

    /// Published example keys that may appear in fixtures although they look like secrets (the
    /// keys of the provider's own documented signing examples).
    fn published_keys(&self) -> &[&'static str] {
        &[]
    }

    /// Source directories, relative to the repository root, whose tests read this provider's
    /// signing vectors (`<fixtures>/<name>/signing/`); `fixtures check` reports vectors that
    /// none of them mentions.
    fn vector_readers(&self) -> &[&'static str] {
        &[]
    }

    /// How exchanges with this provider are recorded, when they can be.
    fn recording(&self) -> Option<&dyn RecordRules> {
        None
    }

    /// Adds the fuzz seeds this provider's fixtures and signing vectors give.
    ///
    /// # Errors
    ///
    /// The default never fails. An implementation returns a message when a fixture or signing
    /// vector it reads does not have the shape it expects.
    fn fuzz_seeds(&self, input: &SeedInput, seeds: &mut Seeds) -> Result<(), String> {
        let _ = (input, seeds);
        Ok(())
    }
}

/// The parts of a request a signature may cover.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignInput<'a> {
    /// Who sends the request.
    pub direction: Direction,
    /// HTTP method.
    pub method: &'a str,
    /// Path as sent, without the query.
    pub path: &'a str,
    /// Raw query, without `?`.
    pub query: Option<&'a str>,
    /// Request headers (any case).
    pub headers: Vec<(&'a str, &'a str)>,
    /// Exact body bytes.
    pub body: &'a [u8],
}

impl<'a> SignInput<'a> {
    /// The parts of a request.
    pub fn new(
        direction: Direction,
        method: &'a str,
        path: &'a str,
        query: Option<&'a str>,
        body: &'a [u8],
    ) -> Self {
        Self {
            direction,
            method,
            path,
            query,
            headers: Vec::new(),
            body,
        }
    }

    /// The same request with these headers.
    pub fn with_headers(mut self, headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        self.headers = headers.into_iter().collect();
        self
    }

    /// The first header called `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The request of a recorded interaction (its body as the fixture gives it).
    pub(crate) fn of_interaction(interaction: &'a Interaction, body: &'a [u8]) -> Self {
        let r = &interaction.request;
        Self::new(
            interaction.direction,
            &r.method,
            &r.path,
            r.query.as_deref(),
            body,
        )
        .with_headers(r.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// A computed signature: the header that carries it and its value.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    header: String,
    value: String,
    any_case: bool,
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A signature made with a real key is as good as the request it signs: never printed.
        f.debug_struct("Signature")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl Signature {
    /// A signature compared byte for byte (base64, for instance).
    pub fn exact(header: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            header: header.into(),
            value: value.into(),
            any_case: false,
        }
    }

    /// A hex signature, accepted in either case.
    pub fn hex(header: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            any_case: true,
            ..Self::exact(header, value)
        }
    }

    /// The header that carries the signature (lower case).
    pub fn header(&self) -> &str {
        &self.header
    }

    /// The signature value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether `presented` is this signature.
    pub fn matches(&self, presented: &str) -> bool {
        if self.any_case {
            presented.eq_ignore_ascii_case(&self.value)
        } else {
            presented == self.value
        }
    }
}

/// The providers of a repository, in report order: the one table the commands consult.
#[derive(Clone)]
pub struct Registry {
    providers: Vec<&'static dyn Provider>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Registry {
    /// The table of `providers`; their names must be unique and usable as directory names.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] when a provider's name is empty or has a character other than a lower
    /// case ASCII letter, a digit, `-` or `_`, or when two providers have the same name.
    pub fn new(providers: &[&'static dyn Provider]) -> Result<Self, Error> {
        let mut seen = BTreeMap::new();
        for p in providers {
            let name = p.name();
            let valid = !name.is_empty()
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !valid {
                return Err(Error::Usage(format!(
                    "provider name `{name}` must be lower-case letters, digits, `-` and `_`"
                )));
            }
            if seen.insert(name, ()).is_some() {
                return Err(Error::Usage(format!(
                    "provider `{name}` is registered twice"
                )));
            }
        }
        Ok(Self {
            providers: providers.to_vec(),
        })
    }

    /// The providers, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &'static dyn Provider> + '_ {
        self.providers.iter().copied()
    }

    /// The provider called `name`.
    pub fn get(&self, name: &str) -> Option<&'static dyn Provider> {
        self.iter().find(|p| p.name() == name)
    }

    /// The provider called `name`, or an error listing the registered ones.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] when no registered provider is called `name`; the message lists the
    /// registered names.
    pub fn require(&self, name: &str) -> Result<&'static dyn Provider, Error> {
        self.get(name).ok_or_else(|| {
            Error::Usage(format!(
                "unknown provider `{name}` (registered: {})",
                self.names().join(", ")
            ))
        })
    }

    /// The registered names, in table order.
    pub fn names(&self) -> Vec<&'static str> {
        self.iter().map(|p| p.name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Md5Provider;

    struct Named(&'static str);

    #[async_trait::async_trait]
    impl Provider for Named {
        fn name(&self) -> &'static str {
            self.0
        }

        async fn run(&self, _: &Fixture) -> Result<(), String> {
            Ok(())
        }
    }

    #[test]
    fn the_table_refuses_a_name_twice_or_a_name_unfit_for_a_directory() {
        static TWICE: Named = Named("test");
        let err = Registry::new(&[&Md5Provider, &TWICE]).unwrap_err();
        assert!(matches!(err, Error::Usage(_)));
        assert_eq!(err.to_string(), "provider `test` is registered twice");
        static BAD: Named = Named("../acme");
        assert!(Registry::new(&[&BAD]).is_err());
        static EMPTY: Named = Named("");
        assert!(Registry::new(&[&EMPTY]).is_err());
        let registry = Registry::new(&[&Md5Provider]).unwrap();
        assert_eq!(registry.names(), ["test"]);
        assert!(registry.get("acme").is_none());
        let Err(err) = registry.require("acme") else {
            panic!("an unknown provider was found");
        };
        assert_eq!(
            err.to_string(),
            "unknown provider `acme` (registered: test)"
        );
    }

    #[test]
    fn hex_signatures_match_in_either_case_and_others_exactly() {
        assert!(Signature::hex("sign", "abc1").matches("ABC1"));
        assert!(!Signature::exact("signature", "abc1").matches("ABC1"));
        let s = Signature::exact("signature", "s3cr3t-derived");
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }
}
