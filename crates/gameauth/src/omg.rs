//! `gameauth omg …`: OMG signatures and the player token call.
//!
//! The signing key comes from `OMG_SIGN_KEY` or `--key-file`. Signing and verification are the
//! `gameauth-omg` functions over the exact query and body bytes; `authorize` is `gameauth_omg::Client`.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use gameauth_core::KeyRing;
use gameauth_core::secrecy::SecretString;
use gameauth_omg::{AuthorizeRequest, Client};
use serde_json::{Value, json};

use crate::body::{self, BodyArgs};
use crate::error::CliError;
use crate::output::{self, Failure};
use crate::secrets;

/// The environment variable holding the signature key.
const KEY_ENV: &str = "OMG_SIGN_KEY";
const KEY_FLAG: &str = "--key-file";
const ENV_HELP: &str = "Environment:\n  OMG_SIGN_KEY  the signature key from the OMG merchant backend \
                        (or --key-file <PATH>)";

/// OMG commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Compute the `sign` header: lowercase_hex(md5(query + body + key)).
    #[command(after_help = ENV_HELP)]
    Sign(SignArgs),
    /// Check a `sign` header against a query and body (exit 0 valid, 1 not valid).
    #[command(after_help = ENV_HELP)]
    Verify(VerifyArgs),
    /// Ask OMG for a transfer-wallet player token (POST /api/player/v1/authorize).
    #[command(after_help = ENV_HELP)]
    Authorize(AuthorizeArgs),
}

/// Where the signature key comes from besides `OMG_SIGN_KEY`.
#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    /// Read the signature key from this file instead of OMG_SIGN_KEY.
    #[arg(long, value_name = "PATH")]
    key_file: Option<PathBuf>,
}

impl KeyArgs {
    fn key(&self) -> Result<SecretString, Failure> {
        secrets::required(KEY_ENV, KEY_FLAG, self.key_file.as_deref())
    }
}

/// Arguments of `gameauth omg sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The raw query exactly as on the request line, without the `?` (e.g. trace_id=k3n9x0q2m7ab).
    #[arg(long, value_name = "RAW_QUERY")]
    query: String,
    #[command(flatten)]
    body: BodyArgs,
    /// Also print the string that is hashed, with the key shown as `<key>`.
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    key: KeyArgs,
}

/// Arguments of `gameauth omg verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The raw query exactly as on the request line, without the `?`.
    #[arg(long, value_name = "RAW_QUERY")]
    query: String,
    #[command(flatten)]
    body: BodyArgs,
    /// The `sign` header value to check (hex, either case).
    #[arg(long, value_name = "HEX", allow_hyphen_values = true)]
    sign: String,
    #[command(flatten)]
    key: KeyArgs,
}

/// Arguments of `gameauth omg authorize`.
#[derive(Debug, Args)]
pub(crate) struct AuthorizeArgs {
    /// OMG's API host (OMG_API_URL from the merchant backend), e.g. https://api.omg.example.
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// The merchant id (app_id).
    #[arg(long, value_name = "ID")]
    app_id: String,
    /// The operator's unique player id.
    #[arg(long, value_name = "U", allow_hyphen_values = true)]
    uname: String,
    /// The player's display name (at most 40 UTF-8 bytes).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    nickname: String,
    /// Currency id, for multi-currency merchants.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    cid: Option<i64>,
    #[command(flatten)]
    key: KeyArgs,
}

/// Runs an OMG command.
pub(crate) async fn run(command: Command) -> Result<(), CliError> {
    output::finish(match command {
        Command::Sign(args) => sign(&args),
        Command::Verify(args) => verify(&args),
        Command::Authorize(args) => authorize(&args).await,
    })
}

fn sign(args: &SignArgs) -> Result<Value, Failure> {
    let key = args.key.key()?;
    let body = args.body.read()?;
    gameauth_omg::verify::trace_id(&args.query).map_err(|_| {
        Failure::usage(
            "--query must be the raw query without the `?`: exactly one trace_id=<value> \
             parameter, e.g. trace_id=k3n9x0q2m7ab",
        )
    })?;
    let sign = gameauth_omg::sign::sign(&args.query, &body, &key);
    let mut out = json!({ "sign": sign });
    if args.explain {
        out["string_to_sign"] = format!("{}{}<key>", args.query, body::display(&body)).into();
        out["algorithm"] = "lowercase_hex(md5(string_to_sign))".into();
    }
    Ok(out)
}

fn verify(args: &VerifyArgs) -> Result<Value, Failure> {
    let key = args.key.key()?;
    let body = args.body.read()?;
    let keys = KeyRing::new(key);
    match gameauth_omg::verify::verify(
        Some(&args.query),
        &body,
        Some(&args.sign),
        &keys,
        SystemTime::now(),
    ) {
        Ok(_) => Ok(json!({ "valid": true })),
        Err(e) => Err(Failure::refused(
            json!({ "valid": false }),
            format!("not valid: {e}"),
        )),
    }
}

async fn authorize(args: &AuthorizeArgs) -> Result<Value, Failure> {
    let key = args.key.key()?;
    let client = Client::builder()
        .base_url(&args.base_url)
        .app_id(&args.app_id)
        .key(key)
        .build()
        .map_err(gameauth_core::AuthError::from)?;
    let mut request = AuthorizeRequest::new(&args.uname, &args.nickname);
    if let Some(cid) = args.cid {
        request = request.with_cid(cid);
    }
    let player = client
        .authorize(&request)
        .await
        .map_err(gameauth_core::AuthError::from)?;
    let expires_at = player
        .expires_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(json!({
        "token": player.token.expose_secret(),
        "balance": player.balance,
        "app_id": player.app_id,
        "expires_at": expires_at,
    }))
}
