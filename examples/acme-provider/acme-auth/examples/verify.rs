//! Verifies player tokens with Acme and prints whom they belong to (never the tokens).
//!
//! ```text
//! ACME_SIGNING_KEY=… cargo run -p acme-auth --example verify -- <base-url> <token>...
//! ```

use std::process::ExitCode;

use acme_auth::AcmeVerifier;
use gameauth_core::{TokenVerifier, VerifyRequest};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(base_url), tokens) = (args.next(), args.collect::<Vec<_>>()) else {
        eprintln!("usage: verify <base-url> <token>...");
        return ExitCode::from(2);
    };
    let key = std::env::var("ACME_SIGNING_KEY").unwrap_or_default();
    let verifier = match AcmeVerifier::builder().base_url(base_url).key(key).build() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    for (n, token) in tokens.into_iter().enumerate() {
        match verifier.verify(&VerifyRequest::new(token.into())).await {
            Ok(player) => println!("token {}: player {}", n + 1, player.player_id),
            Err(e) => {
                failed = true;
                println!("token {}: {e}", n + 1);
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
