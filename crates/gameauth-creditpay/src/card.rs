//! Credit-limit cards: the `{tag, amount, currency, icon, input}` items the platform offers,
//! either up front in `identify/auth` (`credit_limit_available_cards`) or in its answer to the
//! credit-limit callback (`available_cards`).
//!
//! Amounts are exact decimal strings; they are never converted through floating point.

use gameauth_core::lenient::is_decimal;
use serde::Serialize;

use crate::error::Error;

/// The most decimal places a credit-limit query may request.
pub const MAX_DIGITS: u32 = 18;

/// One credit-limit card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AvailableCard {
    /// The card's unique tag in the platform's own system (what `credit_limit_tag` selects).
    pub tag: String,
    /// The available amount, an exact non-negative decimal string.
    pub amount: String,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Icon URL shown by the cashier (empty when none).
    pub icon: String,
    /// The provider's `input` value, passed through as text (empty when none).
    pub input: String,
}

impl AvailableCard {
    /// A card with `tag`, `amount` (an exact non-negative decimal such as `"1000.00"`) and
    /// `currency`; `icon` and `input` are empty.
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] in the cases of [`validate`](Self::validate).
    pub fn new(
        tag: impl Into<String>,
        amount: impl Into<String>,
        currency: impl Into<String>,
    ) -> Result<Self, Error> {
        let card = Self {
            tag: tag.into(),
            amount: amount.into(),
            currency: currency.into(),
            icon: String::new(),
            input: String::new(),
        };
        card.validate()?;
        Ok(card)
    }

    /// Sets the icon URL.
    pub fn with_icon(mut self, icon: impl Into<String>) -> Self {
        self.icon = icon.into();
        self
    }

    /// Sets the `input` value.
    pub fn with_input(mut self, input: impl Into<String>) -> Self {
        self.input = input.into();
        self
    }

    /// Checks the amount and currency (fields are public, so a card may have been changed after
    /// [`new`](Self::new)).
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] when `amount` is not a plain non-negative decimal (digits,
    /// optionally `.` and digits: no sign, exponent or spaces), or `currency` is empty or has a
    /// byte that is not an ASCII letter.
    pub fn validate(&self) -> Result<(), Error> {
        if !is_decimal(&self.amount) || self.amount.starts_with('-') {
            return Err(Error::InvalidInput(
                "card amount must be a non-negative decimal such as 1000.00".into(),
            ));
        }
        if self.currency.is_empty() || !self.currency.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(Error::InvalidInput(
                "card currency must be an alphabetic code such as CNY".into(),
            ));
        }
        Ok(())
    }

    /// This card with its amount written with exactly `digits` decimal places.
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] in the cases of [`validate`](Self::validate) and of
    /// [`format_amount`]: `digits` above [`MAX_DIGITS`], or an amount that would need rounding.
    pub fn at_digits(&self, digits: u32) -> Result<Self, Error> {
        self.validate()?;
        Ok(Self {
            amount: format_amount(&self.amount, digits)?,
            ..self.clone()
        })
    }
}

/// Writes the exact decimal `amount` with exactly `digits` decimal places.
///
/// Missing places are padded with zeros; surplus places are dropped only when they are zeros.
/// An amount that would need rounding is an error: a credit limit is never rounded silently.
///
/// # Errors
///
/// Returns [`Error::InvalidInput`] when `amount` is not a plain decimal (see
/// [`is_decimal`]), when `digits` exceeds [`MAX_DIGITS`]
/// (18), or when `amount` has a non-zero digit past `digits` decimal places.
pub fn format_amount(amount: &str, digits: u32) -> Result<String, Error> {
    if !is_decimal(amount) {
        return Err(Error::InvalidInput(
            "amount must be an exact decimal".into(),
        ));
    }
    if digits > MAX_DIGITS {
        return Err(Error::InvalidInput(format!(
            "at most {MAX_DIGITS} decimal places are supported"
        )));
    }
    let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
    let want = digits as usize;
    let (kept, surplus) = frac.split_at(frac.len().min(want));
    if surplus.bytes().any(|b| b != b'0') {
        return Err(Error::InvalidInput(format!(
            "amount has more than {digits} significant decimal places"
        )));
    }
    if want == 0 {
        return Ok(int.to_owned());
    }
    Ok(format!("{int}.{kept:0<want$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_at_the_requested_digits_exactly() {
        assert_eq!(format_amount("100", 2).unwrap(), "100.00");
        assert_eq!(format_amount("100.5", 2).unwrap(), "100.50");
        assert_eq!(format_amount("100.50", 2).unwrap(), "100.50");
        assert_eq!(format_amount("100.500", 2).unwrap(), "100.50");
        assert_eq!(format_amount("100.00", 0).unwrap(), "100");
        assert_eq!(
            format_amount("12345678901234567.1234", 4).unwrap(),
            "12345678901234567.1234"
        );
        assert_eq!(format_amount("0.1", 3).unwrap(), "0.100");
    }

    #[test]
    fn amounts_that_would_need_rounding_are_refused() {
        assert!(format_amount("100.005", 2).is_err());
        assert!(format_amount("0.1", 0).is_err());
        assert!(format_amount("1e3", 2).is_err());
        assert!(format_amount("NaN", 2).is_err());
        assert!(format_amount("1", 19).is_err());
    }

    #[test]
    fn cards_need_a_non_negative_amount_and_a_currency() {
        assert!(AvailableCard::new("t", "-1", "CNY").is_err());
        assert!(AvailableCard::new("t", "1.0", "").is_err());
        assert!(AvailableCard::new("t", "1.0", "C N").is_err());
        let card = AvailableCard::new("t", "1.5", "CNY")
            .unwrap()
            .with_icon("i")
            .with_input("x");
        assert_eq!(card.at_digits(2).unwrap().amount, "1.50");
        assert_eq!(
            serde_json::to_string(&card).unwrap(),
            r#"{"tag":"t","amount":"1.5","currency":"CNY","icon":"i","input":"x"}"#
        );
    }
}
