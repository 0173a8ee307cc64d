//! Query and form parameters, with the duplicate and length rules of the contract.

use std::borrow::Cow;

use crate::error::Reason;

/// Decoded `application/x-www-form-urlencoded` pairs (a query string or a form body).
///
/// Parameters without a value count as absent (RFC 6749 §3.1).
#[derive(Debug)]
pub(crate) struct Params<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Params<'a> {
    pub(crate) fn parse(raw: &'a [u8]) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(raw)
                .filter(|(_, v)| !v.is_empty())
                .collect(),
        }
    }

    /// The value of `name`, refusing duplicates and values longer than `max_len` bytes.
    pub(crate) fn get(&self, name: &'static str, max_len: usize) -> Result<Option<&str>, Reason> {
        let mut found = None;
        for (k, v) in &self.pairs {
            if k == name {
                if found.is_some() {
                    return Err(Reason::DuplicateParameter(name));
                }
                found = Some(v.as_ref());
            }
        }
        match found {
            Some(v) if v.len() > max_len => Err(Reason::ParameterTooLong(name)),
            other => Ok(other),
        }
    }

    /// Like [`get`](Self::get), but absence is an error.
    pub(crate) fn require(&self, name: &'static str, max_len: usize) -> Result<&str, Reason> {
        self.get(name, max_len)?
            .ok_or(Reason::MissingParameter(name))
    }

    /// Whether `name` is present (with a value).
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// Whether any parameter name appears more than once.
    ///
    /// Sorted, not compared pairwise: a public authorize URL can carry thousands of parameters,
    /// and a quadratic check would let one request burn a worker's CPU.
    pub(crate) fn has_duplicates(&self) -> bool {
        let mut names: Vec<&str> = self.pairs.iter().map(|(k, _)| k.as_ref()).collect();
        names.sort_unstable();
        names.windows(2).any(|w| w[0] == w[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_found_among_many_parameters() {
        let many: String = (0..20_000).map(|i| format!("p{i}=1&")).collect();
        assert!(!Params::parse(many.as_bytes()).has_duplicates());
        let repeated = format!("{many}p19999=2");
        assert!(Params::parse(repeated.as_bytes()).has_duplicates());
        assert!(Params::parse(b"a=1&b=2&a=3").has_duplicates());
        assert!(
            !Params::parse(b"a=1&b=2&a=").has_duplicates(),
            "an empty value is absent"
        );
    }

    #[test]
    fn duplicates_and_lengths_are_refused_and_empty_values_are_absent() {
        let p = Params::parse(b"a=1&b=2&a=3&c=&d=%41%2B+x");
        assert_eq!(p.get("a", 10), Err(Reason::DuplicateParameter("a")));
        assert_eq!(p.get("b", 10), Ok(Some("2")));
        assert_eq!(p.get("b", 0), Err(Reason::ParameterTooLong("b")));
        assert_eq!(p.get("c", 10), Ok(None));
        assert_eq!(p.require("c", 10), Err(Reason::MissingParameter("c")));
        assert_eq!(p.get("d", 10), Ok(Some("A+ x")));
        assert!(p.has_duplicates());
        assert!(!Params::parse(b"a=1&b=2").has_duplicates());
    }
}
