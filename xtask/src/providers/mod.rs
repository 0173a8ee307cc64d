//! This repository's providers, one module each: its contract runner (`contract`), its recording
//! rules (`record`) and its fuzz seeds (`seeds`), tied together by its `Provider` implementation
//! in the module's root.
//!
//! [`PROVIDERS`] is the one table the commands consult: a provider is added with one module and
//! one line here.

mod creditpay;
mod hive;
mod omg;
mod vegaslounge;

#[cfg(test)]
mod recording;

use gameauth_contract::Provider;

/// The providers, in report order.
pub(crate) const PROVIDERS: &[&'static dyn Provider] = &[
    &omg::Omg,
    &creditpay::CreditPay,
    &hive::Hive,
    &vegaslounge::VegasLounge,
];
