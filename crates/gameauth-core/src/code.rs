//! [`result_codes!`](crate::result_codes): the one way a provider crate types its numeric result
//! codes.
//!
//! A provider's `code` (or `result_code`) is an open set: a new code must never make an answer
//! undecodable. The macro declares an enum of the documented codes plus `Other(i64)` for any
//! other number, kept as received, with the two conversions generated from one list so they
//! cannot drift apart:
//!
//! * `from_i64(n)` and `From<i64>`: the code for a number (unknown numbers become `Other(n)`);
//! * `as_i64()` and `From<Code> for i64`: the number on the wire;
//! * `description()`: the documented meaning given after `=>`, else the variant's name, and
//!   `"unknown code"` for `Other`;
//! * `Display`: `"<number> (<description>)"`.
//!
//! ```
//! gameauth_core::result_codes! {
//!     /// Result codes of an example API.
//!     pub enum ExampleCode {
//!         /// Success.
//!         Success = 0 => "success",
//!         /// The token is not valid.
//!         InvalidToken = 7000,
//!     }
//! }
//!
//! assert_eq!(ExampleCode::from_i64(7000), ExampleCode::InvalidToken);
//! assert_eq!(ExampleCode::from_i64(12), ExampleCode::Other(12));
//! assert_eq!(ExampleCode::Other(12).as_i64(), 12);
//! assert_eq!(ExampleCode::Success.to_string(), "0 (success)");
//! assert_eq!(ExampleCode::InvalidToken.to_string(), "7000 (InvalidToken)");
//! assert_eq!(ExampleCode::Other(12).to_string(), "12 (unknown code)");
//! ```

/// Declares a provider's result-code enum; see the [module documentation](crate::code).
#[macro_export]
macro_rules! result_codes {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal $(=> $desc:literal)?, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A code this crate does not know, kept as received.
            Other(i64),
        }

        impl $name {
            /// The code for a number; unknown numbers are kept as `Other`.
            pub fn from_i64(code: i64) -> Self {
                match code {
                    $( $value => Self::$variant, )*
                    other => Self::Other(other),
                }
            }

            /// The number on the wire.
            pub fn as_i64(self) -> i64 {
                match self {
                    $( Self::$variant => $value, )*
                    Self::Other(n) => n,
                }
            }

            /// The documented meaning, or `"unknown code"` for `Other`.
            pub fn description(self) -> &'static str {
                match self {
                    $( Self::$variant => $crate::result_codes!(@desc $variant $($desc)?), )*
                    Self::Other(_) => "unknown code",
                }
            }
        }

        impl ::core::convert::From<i64> for $name {
            fn from(code: i64) -> Self {
                Self::from_i64(code)
            }
        }

        impl ::core::convert::From<$name> for i64 {
            fn from(code: $name) -> Self {
                code.as_i64()
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                write!(f, "{} ({})", self.as_i64(), self.description())
            }
        }
    };
    (@desc $variant:ident $desc:literal) => { $desc };
    (@desc $variant:ident) => { stringify!($variant) };
}

#[cfg(test)]
#[allow(unreachable_pub)]
mod tests {
    crate::result_codes! {
        /// Codes of a test API.
        #[non_exhaustive]
        pub(crate) enum TestCode {
            /// Zero.
            Zero = 0 => "zero",
            /// Negative.
            Minus = -1,
        }
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_kept() {
        for n in [0, -1, 5, i64::MAX, i64::MIN] {
            assert_eq!(TestCode::from_i64(n).as_i64(), n);
            assert_eq!(i64::from(TestCode::from(n)), n);
        }
        assert_eq!(TestCode::from_i64(-1), TestCode::Minus);
        assert_eq!(TestCode::from_i64(5), TestCode::Other(5));
        assert_eq!(TestCode::Zero.to_string(), "0 (zero)");
        assert_eq!(TestCode::Minus.to_string(), "-1 (Minus)");
        assert_eq!(TestCode::Other(5).description(), "unknown code");
    }
}
