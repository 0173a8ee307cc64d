//! Verifies one player against the real Hive: `cargo run -p gameauth-hive --example verify`.
//!
//! Everything comes from the environment; nothing has a default, and a missing variable is
//! named in the error:
//!
//! | variable | meaning |
//! |---|---|
//! | `HIVE_ENVIRONMENT` | `production` or `sandbox` |
//! | `HIVE_APPID` | the app id from the Hive console |
//! | `HIVE_PLAYER_ID` | the player id the game client reported (an integer) |
//! | `HIVE_DID` | the device id the game client reported |
//! | `HIVE_PLAYER_TOKEN` | the login token (`PlayerInfo.token`) |
//! | `HIVE_ACCESS_TOKEN` | the player's OAuth 2.0 access token from the same login |
//!
//! It prints the verified player id, the host that answered and whether the player is
//! blocked; never a token.

use std::process::ExitCode;

use gameauth_hive::{Client, Environment, IncludeField, PlayerToken, VerifyParams};

/// The value of `name`, or an error that names it and says what it is.
fn env(name: &str, what: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(format!("set {name}: {what}")),
    }
}

async fn run() -> Result<(), String> {
    let environment = match env("HIVE_ENVIRONMENT", "production or sandbox")?.as_str() {
        "production" => Environment::Production,
        "sandbox" => Environment::Sandbox,
        other => {
            return Err(format!(
                "HIVE_ENVIRONMENT is {other:?}; use production or sandbox"
            ));
        }
    };
    let appid = env("HIVE_APPID", "the app id from the Hive console")?;
    let player_id = env("HIVE_PLAYER_ID", "the player id (an integer)")?
        .trim()
        .parse::<i64>()
        .map_err(|_| "HIVE_PLAYER_ID is not an integer".to_owned())?;
    let did = env("HIVE_DID", "the device id the game client reported")?;
    let token = env("HIVE_PLAYER_TOKEN", "the login token (PlayerInfo.token)")?;
    let access = env("HIVE_ACCESS_TOKEN", "the player's OAuth 2.0 access token")?;

    let client = Client::builder()
        .environment(environment)
        .appid(appid)
        .build()
        .map_err(|e| e.to_string())?;
    let params = VerifyParams::new(PlayerToken::new(token), player_id, did)
        .with_access_token(PlayerToken::new(access))
        .include(IncludeField::IsBlocked);
    let verified = client
        .verify_token(&params)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "verified player {} (answered by the {} host, blocked: {:?})",
        verified.player_id,
        verified.served_by.as_str(),
        verified.fields.is_blocked
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
