//! OMG's numeric result codes.
//!
//! The success code depends on the direction: `0` for OMG's own APIs, `1` for the integrator's
//! answers to OMG callbacks. Codes this SDK does not know are kept as [`OmgCode::Other`], so a
//! new code never makes a response undecodable.

gameauth_core::result_codes! {
    /// A result code of the OMG protocol.
    #[non_exhaustive]
    pub enum OmgCode {
        /// `0`: success of an integrator → OMG call.
        Success = 0 => "success",
        /// `1`: success of an OMG → integrator callback.
        CallbackSuccess = 1 => "success",
        /// `10001`: balance not enough.
        BalanceNotEnough = 10001 => "balance not enough",
        /// `10002`: sign invalid.
        SignInvalid = 10002 => "sign invalid",
        /// `10003`: order processing.
        OrderProcessing = 10003 => "order processing",
        /// `10004`: order not found.
        OrderNotFound = 10004 => "order not found",
        /// `10005`: duplicate order.
        DuplicateOrder = 10005 => "duplicate order",
        /// `10006`: too frequent.
        TooFrequent = 10006 => "too frequent",
        /// `10007`: cannot transfer while in game.
        InGameTransferForbidden = 10007 => "cannot transfer while in game",
        /// `10008`: game closed.
        GameClosed = 10008 => "game closed",
        /// `10009`: illegal parameter.
        IllegalParameter = 10009 => "illegal parameter",
        /// `10010`: failure.
        Failure = 10010 => "failure",
        /// `10011`: player login token verification failed.
        TokenVerificationFailed = 10011 => "player login token verification failed",
        /// `10012`: illegal `app_id`.
        IllegalAppId = 10012 => "illegal app_id",
        /// `10013`: player does not exist.
        PlayerNotFound = 10013 => "player does not exist",
        /// `10014`: player banned.
        PlayerBanned = 10014 => "player banned",
        /// `10015`: internal error.
        InternalError = 10015 => "internal error",
        /// `10016`: game does not exist.
        GameNotFound = 10016 => "game does not exist",
        /// `10017`: game not enabled.
        GameNotEnabled = 10017 => "game not enabled",
        /// `10018`: merchant disabled.
        MerchantDisabled = 10018 => "merchant disabled",
        /// `10019`: unsupported currency.
        UnsupportedCurrency = 10019 => "unsupported currency",
        /// `10020`: transfer not found.
        TransferNotFound = 10020 => "transfer not found",
        /// `10021`: wrong merchant wallet type.
        WrongWalletType = 10021 => "wrong merchant wallet type",
        /// `10022`: merchant not found.
        MerchantNotFound = 10022 => "merchant not found",
        /// `10023`: parameter type mismatch.
        ParameterTypeMismatch = 10023 => "parameter type mismatch",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_round_trips() {
        for n in 10001..=10023 {
            let code = OmgCode::from_i64(n);
            assert!(!matches!(code, OmgCode::Other(_)), "{n} is documented");
            assert_eq!(code.as_i64(), n);
        }
        assert_eq!(OmgCode::from_i64(0), OmgCode::Success);
        assert_eq!(OmgCode::from_i64(1), OmgCode::CallbackSuccess);
        assert_eq!(OmgCode::SignInvalid.as_i64(), 10002);
    }

    #[test]
    fn unknown_codes_are_kept_as_other() {
        for n in [-1, 2, 10000, 10024, 99999, i64::MAX] {
            assert_eq!(OmgCode::from_i64(n), OmgCode::Other(n));
            assert_eq!(OmgCode::from_i64(n).as_i64(), n);
        }
    }

    #[test]
    fn display_names_the_number_and_meaning() {
        assert_eq!(OmgCode::SignInvalid.to_string(), "10002 (sign invalid)");
        assert_eq!(OmgCode::Other(777).to_string(), "777 (unknown code)");
    }
}
