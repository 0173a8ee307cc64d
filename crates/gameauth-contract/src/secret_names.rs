//! Field, header and query-parameter names whose values are secrets, shared by `fixtures check`
//! (such values must be dummies) and the recorder (such values are replaced).
//!
//! Names compare in lower case without `-` and `_`, so `X-Access-Token`, `x_access_token` and
//! `xAccessToken` are one name. A provider adds its own names with
//! [`crate::Provider::secret_fields`]; the recorder also replaces the names of
//! [`crate::record::RecordRules::scrub_fields`].

use std::collections::BTreeSet;

/// Names that are secrets in any provider's exchanges.
const COMMON: &[&str] = &[
    "accesstoken",
    "apikey",
    "authorization",
    "clientsecret",
    "cookie",
    "idtoken",
    "key",
    "opentoken",
    "password",
    "playertoken",
    "refreshtoken",
    "secret",
    "setcookie",
    "signaturekey",
    "signkey",
    "token",
    "xaccesstoken",
    "xapikey",
];

/// Names the recorder replaces too: identifiers that act as credentials in a live exchange but
/// that fixtures may show as they are (an OAuth client id of a published example).
const RECORDED_TOO: &[&str] = &["clientid"];

/// Lower case without `-` and `_`.
pub(crate) fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The common names plus a provider's own.
#[derive(Debug, Clone)]
pub(crate) struct SecretNames(BTreeSet<String>);

impl SecretNames {
    /// The common names and `extra` (any spelling).
    pub(crate) fn new<'a>(extra: impl IntoIterator<Item = &'a str>) -> Self {
        let mut names: BTreeSet<String> = COMMON.iter().map(|n| (*n).to_owned()).collect();
        names.extend(extra.into_iter().map(normalise));
        Self(names)
    }

    /// The common names, the recorder's own and `extra` (any spelling).
    pub(crate) fn for_recording<'a>(extra: impl IntoIterator<Item = &'a str>) -> Self {
        Self::new(RECORDED_TOO.iter().copied().chain(extra))
    }

    /// Whether `name` (any spelling) is a secret's name.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.0.contains(&normalise(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_one_name_and_providers_add_their_own() {
        let names = SecretNames::new(["Hive-Certification_Key"]);
        for n in [
            "X-Access-Token",
            "x_access_token",
            "xAccessToken",
            "hive_certification_key",
        ] {
            assert!(names.contains(n), "{n}");
        }
        assert!(!names.contains("nickname"));
        assert!(!SecretNames::new([]).contains("hive_certification_key"));
        assert!(!SecretNames::new([]).contains("client_id"));
        assert!(SecretNames::for_recording([]).contains("client_id"));
    }
}
