//! Secret newtypes.
//!
//! Every token, code or credential the SDK handles is wrapped in a type made by
//! [`secret_string!`](crate::secret_string): `Debug` prints only the type name and
//! `[redacted]`, there is no `Display` and no `PartialEq` (so nobody compares secrets with a
//! timing leak by accident), and [`ct_eq`](PlayerToken::ct_eq) compares in constant time. The
//! value lives in a [`secrecy::SecretString`], which zeroes its memory on drop.
//!
//! Keys and client secrets are plain [`secrecy::SecretString`]s.

use subtle::ConstantTimeEq;

/// Constant-time equality of two byte strings.
///
/// The length is not hidden (it is public for every token format this SDK handles); the content is.
pub fn ct_eq_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Defines a secret string newtype with a redacted `Debug`, no `Display`, no `PartialEq`, and a
/// constant-time [`ct_eq`](crate::secret::PlayerToken::ct_eq).
///
/// ```
/// gameauth_core::secret_string! {
///     /// A session token of my provider.
///     pub struct SessionToken;
/// }
/// let t = SessionToken::new("abc");
/// assert_eq!(format!("{t:?}"), "SessionToken([redacted])");
/// assert!(t.ct_eq("abc"));
/// assert_eq!(t.expose_secret(), "abc");
/// ```
#[macro_export]
macro_rules! secret_string {
    ($(#[$meta:meta])* $vis:vis struct $name:ident;) => {
        $(#[$meta])*
        #[derive(Clone)]
        $vis struct $name($crate::secrecy::SecretString);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self($crate::secrecy::SecretString::from(value.into()))
            }

            /// The raw value, for putting on the wire. Never log it.
            pub fn expose_secret(&self) -> &str {
                $crate::secrecy::ExposeSecret::expose_secret(&self.0)
            }

            /// Constant-time comparison with a presented value.
            pub fn ct_eq(&self, other: &str) -> bool {
                $crate::secret::ct_eq_bytes(self.expose_secret().as_bytes(), other.as_bytes())
            }

            /// Whether the value is empty.
            pub fn is_empty(&self) -> bool {
                self.expose_secret().is_empty()
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl ::std::convert::From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                D: $crate::__private::serde::Deserializer<'de>,
            {
                let s = <String as $crate::__private::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::new(s))
            }
        }
    };
}

secret_string! {
    /// A token a player (or the provider on the player's behalf) presents for verification:
    /// an operator session token, a Hive login token, a Credit Pay `token` header.
    pub struct PlayerToken;
}

secret_string! {
    /// A token a provider issued to us: an OMG player token, a Credit Pay one-time code.
    pub struct IssuedSecret;
}

/// Debug string of a `SecretString`-holding field: always this constant.
pub const REDACTED: &str = "[redacted]";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn player_token_debug_is_pinned() {
        let t = PlayerToken::new("sentinel-secret-value");
        assert_eq!(format!("{t:?}"), "PlayerToken([redacted])");
        assert_eq!(format!("{t:#?}"), "PlayerToken([redacted])");
    }

    #[test]
    fn issued_secret_debug_is_pinned() {
        let t = IssuedSecret::new("sentinel-secret-value");
        assert_eq!(format!("{t:?}"), "IssuedSecret([redacted])");
    }

    #[test]
    fn ct_eq_compares_content_and_length() {
        let t = PlayerToken::new("abc");
        assert!(t.ct_eq("abc"));
        assert!(!t.ct_eq("abd"));
        assert!(!t.ct_eq("ab"));
        assert!(!t.ct_eq("abcd"));
        assert!(ct_eq_bytes(b"", b""));
    }

    #[test]
    fn deserializes_from_a_json_string() {
        let t: PlayerToken = serde_json::from_str("\"tok\"").unwrap();
        assert_eq!(t.expose_secret(), "tok");
    }
}
