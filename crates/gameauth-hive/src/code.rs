//! Hive result codes, typed per endpoint.
//!
//! The same number means different things on different Hive endpoints (`4001` is "client
//! authentication failed" for the OAuth token but "request JSON error" for verify), so each
//! endpoint has its own enum. Codes this crate does not know are kept as `Other(n)`, never
//! dropped or mapped to a neighbour.

use std::fmt;

macro_rules! result_codes {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A code this crate does not know, kept as received.
            Other(i64),
        }

        impl $name {
            /// The code for a number received from Hive.
            pub fn from_i64(code: i64) -> Self {
                match code {
                    $( $value => Self::$variant, )*
                    other => Self::Other(other),
                }
            }

            /// The number Hive uses for this code.
            pub fn as_i64(self) -> i64 {
                match self {
                    $( Self::$variant => $value, )*
                    Self::Other(n) => n,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    Self::Other(n) => write!(f, "{n} (unknown)"),
                    known => write!(f, "{} ({:?})", known.as_i64(), known),
                }
            }
        }
    };
}

result_codes! {
    /// Result codes of the server OAuth token endpoint (`/oauth/token`).
    pub enum OAuthCode {
        /// Success.
        Success = 0,
        /// A request parameter is invalid.
        InvalidParameter = 4000,
        /// The client id or client secret was not accepted.
        ClientAuthenticationFailed = 4001,
        /// `grant_type` is not supported.
        UnsupportedGrantType = 4002,
        /// The client has no permission for this app.
        NoPermission = 4003,
        /// Hive internal error.
        InternalError = 5000,
    }
}

result_codes! {
    /// Result codes of token verification (v2 `/v2/game/token/get-token` and the legacy v1
    /// `/game/token/get-token`).
    pub enum VerifyCode {
        /// The player token is valid.
        Success = 0,
        /// The player must repay a refund before playing.
        RefundRepaymentRequired = 2300,
        /// The server access token (`X-Access-Token`) failed verification (v2).
        AccessTokenInvalid = 2499,
        /// A request parameter is invalid.
        InvalidParameter = 4000,
        /// The request JSON could not be read.
        RequestJsonError = 4001,
        /// The certification key was not accepted (v1).
        CertificationKeyError = 4002,
        /// Hive database error.
        DatabaseError = 5000,
        /// The token is invalid in the distributed (fallback) environment.
        DistributedTokenInvalid = 5001,
        /// The app id is not known to Hive.
        InvalidAppId = 6000,
        /// The identity provider's token was not accepted.
        IdpTokenError = 6001,
        /// The player token is invalid.
        InvalidToken = 7000,
        /// No player token in the `Authorization` header.
        MissingToken = 7001,
        /// Hive reported an unknown error.
        Unknown = 9999,
    }
}

result_codes! {
    /// Result codes of the IdP list (v2 `/v2/game/player/get-idp` and the legacy v1
    /// `/game/player/get-idp`).
    pub enum IdpCode {
        /// Success.
        Success = 0,
        /// Hive has no data for this player.
        NoUserData = 2002,
        /// The server access token (`X-Access-Token`) failed verification (v2).
        AccessTokenInvalid = 2499,
        /// A request parameter is invalid.
        InvalidParameter = 4000,
        /// The certification key was not accepted (v1).
        CertificationKeyError = 4002,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_kept() {
        for n in [
            0, 2300, 2499, 4000, 4001, 4002, 5000, 5001, 6000, 6001, 7000, 7001, 9999, 1234,
        ] {
            assert_eq!(VerifyCode::from_i64(n).as_i64(), n);
        }
        assert_eq!(VerifyCode::from_i64(7000), VerifyCode::InvalidToken);
        assert_eq!(VerifyCode::from_i64(1234), VerifyCode::Other(1234));
        assert_eq!(IdpCode::from_i64(2002), IdpCode::NoUserData);
        assert_eq!(IdpCode::from_i64(7000), IdpCode::Other(7000));
    }

    #[test]
    fn the_same_number_means_different_things_per_endpoint() {
        assert_eq!(
            OAuthCode::from_i64(4001),
            OAuthCode::ClientAuthenticationFailed
        );
        assert_eq!(VerifyCode::from_i64(4001), VerifyCode::RequestJsonError);
    }

    #[test]
    fn display_shows_number_and_name() {
        assert_eq!(VerifyCode::InvalidToken.to_string(), "7000 (InvalidToken)");
        assert_eq!(OAuthCode::Other(-3).to_string(), "-3 (unknown)");
    }
}
