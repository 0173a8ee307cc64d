//! OMG's numeric result codes.
//!
//! The success code depends on the direction: `0` for OMG's own APIs, `1` for the integrator's
//! answers to OMG callbacks. Codes this SDK does not know are kept as [`OmgCode::Other`], so a
//! new code never makes a response undecodable.

/// A result code of the OMG protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OmgCode {
    /// `0`: success of an integrator → OMG call.
    Success,
    /// `1`: success of an OMG → integrator callback.
    CallbackSuccess,
    /// `10001`: balance not enough.
    BalanceNotEnough,
    /// `10002`: sign invalid.
    SignInvalid,
    /// `10003`: order processing.
    OrderProcessing,
    /// `10004`: order not found.
    OrderNotFound,
    /// `10005`: duplicate order.
    DuplicateOrder,
    /// `10006`: too frequent.
    TooFrequent,
    /// `10007`: cannot transfer while in game.
    InGameTransferForbidden,
    /// `10008`: game closed.
    GameClosed,
    /// `10009`: illegal parameter.
    IllegalParameter,
    /// `10010`: failure.
    Failure,
    /// `10011`: player login token verification failed.
    TokenVerificationFailed,
    /// `10012`: illegal `app_id`.
    IllegalAppId,
    /// `10013`: player does not exist.
    PlayerNotFound,
    /// `10014`: player banned.
    PlayerBanned,
    /// `10015`: internal error.
    InternalError,
    /// `10016`: game does not exist.
    GameNotFound,
    /// `10017`: game not enabled.
    GameNotEnabled,
    /// `10018`: merchant disabled.
    MerchantDisabled,
    /// `10019`: unsupported currency.
    UnsupportedCurrency,
    /// `10020`: transfer not found.
    TransferNotFound,
    /// `10021`: wrong merchant wallet type.
    WrongWalletType,
    /// `10022`: merchant not found.
    MerchantNotFound,
    /// `10023`: parameter type mismatch.
    ParameterTypeMismatch,
    /// A code this SDK does not know, kept as received.
    Other(i64),
}

/// Every named code with its number and documented meaning, in one table so the two
/// conversions cannot drift apart.
const TABLE: [(OmgCode, i64, &str); 25] = [
    (OmgCode::Success, 0, "success"),
    (OmgCode::CallbackSuccess, 1, "success"),
    (OmgCode::BalanceNotEnough, 10001, "balance not enough"),
    (OmgCode::SignInvalid, 10002, "sign invalid"),
    (OmgCode::OrderProcessing, 10003, "order processing"),
    (OmgCode::OrderNotFound, 10004, "order not found"),
    (OmgCode::DuplicateOrder, 10005, "duplicate order"),
    (OmgCode::TooFrequent, 10006, "too frequent"),
    (
        OmgCode::InGameTransferForbidden,
        10007,
        "cannot transfer while in game",
    ),
    (OmgCode::GameClosed, 10008, "game closed"),
    (OmgCode::IllegalParameter, 10009, "illegal parameter"),
    (OmgCode::Failure, 10010, "failure"),
    (
        OmgCode::TokenVerificationFailed,
        10011,
        "player login token verification failed",
    ),
    (OmgCode::IllegalAppId, 10012, "illegal app_id"),
    (OmgCode::PlayerNotFound, 10013, "player does not exist"),
    (OmgCode::PlayerBanned, 10014, "player banned"),
    (OmgCode::InternalError, 10015, "internal error"),
    (OmgCode::GameNotFound, 10016, "game does not exist"),
    (OmgCode::GameNotEnabled, 10017, "game not enabled"),
    (OmgCode::MerchantDisabled, 10018, "merchant disabled"),
    (OmgCode::UnsupportedCurrency, 10019, "unsupported currency"),
    (OmgCode::TransferNotFound, 10020, "transfer not found"),
    (
        OmgCode::WrongWalletType,
        10021,
        "wrong merchant wallet type",
    ),
    (OmgCode::MerchantNotFound, 10022, "merchant not found"),
    (
        OmgCode::ParameterTypeMismatch,
        10023,
        "parameter type mismatch",
    ),
];

impl OmgCode {
    /// The code for a number; unknown numbers become [`OmgCode::Other`].
    pub fn from_code(code: i64) -> Self {
        TABLE
            .iter()
            .find(|(_, n, _)| *n == code)
            .map_or(Self::Other(code), |(c, _, _)| *c)
    }

    /// The number on the wire.
    pub fn code(self) -> i64 {
        match self {
            Self::Other(n) => n,
            named => TABLE
                .iter()
                .find(|(c, _, _)| *c == named)
                .map_or(i64::MIN, |(_, n, _)| *n),
        }
    }

    /// The documented meaning, or `"unknown code"` for [`OmgCode::Other`].
    pub fn description(self) -> &'static str {
        TABLE
            .iter()
            .find(|(c, _, _)| *c == self)
            .map_or("unknown code", |(_, _, d)| d)
    }
}

impl From<i64> for OmgCode {
    fn from(code: i64) -> Self {
        Self::from_code(code)
    }
}

impl From<OmgCode> for i64 {
    fn from(code: OmgCode) -> Self {
        code.code()
    }
}

impl std::fmt::Display for OmgCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.code(), self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_round_trips() {
        for n in 10001..=10023 {
            let code = OmgCode::from_code(n);
            assert!(!matches!(code, OmgCode::Other(_)), "{n} is documented");
            assert_eq!(code.code(), n);
        }
        assert_eq!(OmgCode::from_code(0), OmgCode::Success);
        assert_eq!(OmgCode::from_code(1), OmgCode::CallbackSuccess);
        assert_eq!(OmgCode::SignInvalid.code(), 10002);
    }

    #[test]
    fn unknown_codes_are_kept_as_other() {
        for n in [-1, 2, 10000, 10024, 99999, i64::MAX] {
            assert_eq!(OmgCode::from_code(n), OmgCode::Other(n));
            assert_eq!(OmgCode::from_code(n).code(), n);
        }
    }

    #[test]
    fn display_names_the_number_and_meaning() {
        assert_eq!(OmgCode::SignInvalid.to_string(), "10002 (sign invalid)");
        assert_eq!(OmgCode::Other(777).to_string(), "777 (unknown code)");
    }
}
