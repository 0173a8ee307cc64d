//! Obtains a player token from the real OMG: `cargo run -p gameauth-omg --example authorize`.
//!
//! Everything comes from the environment; nothing has a default, and a missing variable is
//! named in the error:
//!
//! | variable | meaning |
//! |---|---|
//! | `OMG_API_URL` | OMG's API host (`{OMG_API_URL}` of the OMG docs), `https://…` |
//! | `OMG_APP_ID` | the merchant id from the OMG backend |
//! | `OMG_KEY` | the signature key from the OMG backend |
//! | `OMG_UNAME` | the operator's player id to issue a token for |
//! | `OMG_NICKNAME` | the player's display name (at most 40 UTF-8 bytes) |
//!
//! The call creates state at OMG: it issues a new token each time. It prints the balance, the
//! merchant id OMG answered with and when the token expires; never the token or the key.

use std::process::ExitCode;

use gameauth_omg::{AuthorizeRequest, Client, SecretString};

/// The value of `name`, or an error that names it and says what it is.
fn env(name: &str, what: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(format!("set {name}: {what}")),
    }
}

async fn run() -> Result<(), String> {
    let client = Client::builder()
        .base_url(env("OMG_API_URL", "OMG's API host, https://…")?)
        .app_id(env("OMG_APP_ID", "the merchant id from the OMG backend")?)
        .key(SecretString::from(env(
            "OMG_KEY",
            "the signature key from the OMG backend",
        )?))
        .build()
        .map_err(|e| e.to_string())?;
    let request = AuthorizeRequest::new(
        env("OMG_UNAME", "the operator's player id")?,
        env("OMG_NICKNAME", "the player's display name")?,
    );
    let player = client
        .authorize(&request)
        .await
        .map_err(|e| e.to_string())?;
    let expires = player
        .expires_at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    println!(
        "token issued for merchant {}: balance {}, expires at Unix time {expires}",
        player.app_id, player.balance
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
