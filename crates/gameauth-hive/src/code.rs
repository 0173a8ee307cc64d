//! Hive result codes, typed per endpoint.
//!
//! The same number means different things on different Hive endpoints (`4001` is "client
//! authentication failed" for the OAuth token but "request JSON error" for verify), so each
//! endpoint has its own enum. Codes this crate does not know are kept as `Other(n)`, never
//! dropped or mapped to a neighbour.

gameauth_core::result_codes! {
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

gameauth_core::result_codes! {
    /// Result codes of token verification (v2 `/v2/game/token/get-token` and the legacy v1
    /// `/game/token/get-token`).
    pub enum VerifyCode {
        /// The player token is valid.
        Success = 0,
        /// The player must repay a refund before playing.
        RefundRepaymentRequired = 2300,
        /// The OAuth 2.0 access token in `X-Access-Token` failed verification (v2): the
        /// player's own by default, the server token with
        /// [`VerifyAccessToken::Server`](crate::VerifyAccessToken::Server).
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

gameauth_core::result_codes! {
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

gameauth_core::result_codes! {
    /// Result codes of the token-validated IdP list (`/server/player/get-idpuserid`).
    pub enum PlayerIdpsCode {
        /// The token is valid; the answer lists the player's IdP accounts.
        Success = 0,
        /// A request parameter is invalid.
        InvalidParameter = 4000,
        /// Verification failed: the token does not match the player.
        VerificationFailed = 7000,
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
        assert_eq!(
            PlayerIdpsCode::from_i64(7000),
            PlayerIdpsCode::VerificationFailed
        );
        assert_eq!(
            PlayerIdpsCode::from_i64(4000),
            PlayerIdpsCode::InvalidParameter
        );
        assert_eq!(PlayerIdpsCode::from_i64(2002), PlayerIdpsCode::Other(2002));
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
        assert_eq!(OAuthCode::Other(-3).to_string(), "-3 (unknown code)");
    }
}
