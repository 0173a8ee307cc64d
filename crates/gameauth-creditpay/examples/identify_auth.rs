//! Asks the real Credit Pay for a one-time authorization code:
//! `cargo run -p gameauth-creditpay --example identify_auth`.
//!
//! Everything comes from the environment; nothing has a default, and a missing variable is
//! named in the error:
//!
//! | variable | meaning |
//! |---|---|
//! | `CREDITPAY_BASE_URL` | the base URL with the gateway prefix, e.g. `https://…/dg` |
//! | `CREDITPAY_PLAT_ID` | the platform id from the Credit Pay console |
//! | `CREDITPAY_API_KEY` | the API key (`api-key` header) |
//! | `CREDITPAY_SIGN_KEY` | the signature key |
//! | `CREDITPAY_CUSTOMER_NO` | the player's number on the platform |
//! | `CREDITPAY_CUSTOMER_TOKEN` | the player's session token on the platform |
//! | `CREDITPAY_CALLBACK_URL` | where Credit Pay sends the player back |
//! | `CREDITPAY_TOKEN_EXPIRE` | when that session token expires, Unix milliseconds |
//! | `CREDITPAY_CLIENT_IP` | the player's IP address |
//!
//! The call creates state at Credit Pay (a one-time code). It prints that a code was issued and
//! Credit Pay's trace id; never the code, the cashier URL (it embeds the code) or a key.

use std::process::ExitCode;

use gameauth_creditpay::{Client, IdentifyAuthRequest, KeyRing, PlayerToken, SecretString};

/// The value of `name`, or an error that names it and says what it is.
fn env(name: &str, what: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(format!("set {name}: {what}")),
    }
}

async fn run() -> Result<(), String> {
    let client = Client::builder()
        .base_url(env(
            "CREDITPAY_BASE_URL",
            "the base URL with the gateway prefix",
        )?)
        .plat_id(env("CREDITPAY_PLAT_ID", "the platform id")?)
        .api_key(env("CREDITPAY_API_KEY", "the API key")?)
        .signature_keys(KeyRing::new(SecretString::from(env(
            "CREDITPAY_SIGN_KEY",
            "the signature key",
        )?)))
        .build()
        .map_err(|e| e.to_string())?;
    let expire = env("CREDITPAY_TOKEN_EXPIRE", "Unix milliseconds")?
        .trim()
        .parse::<i64>()
        .map_err(|_| "CREDITPAY_TOKEN_EXPIRE is not an integer (Unix milliseconds)".to_owned())?;
    let request = IdentifyAuthRequest::new(
        env("CREDITPAY_CUSTOMER_NO", "the player's number")?,
        PlayerToken::new(env(
            "CREDITPAY_CUSTOMER_TOKEN",
            "the player's session token",
        )?),
        env(
            "CREDITPAY_CALLBACK_URL",
            "where Credit Pay sends the player back",
        )?,
        expire,
        env("CREDITPAY_CLIENT_IP", "the player's IP address")?,
    );
    let issued = client
        .identify_auth(&request)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "one-time code issued (trace {})",
        issued.trace.as_deref().unwrap_or("not sent")
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
