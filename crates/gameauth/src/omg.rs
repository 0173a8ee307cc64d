//! `gameauth omg …`: OMG signatures and the player token call.
//!
//! The signing key comes from `OMG_SIGN_KEY` or `--key-file`. Signing is the `gameauth-omg` function
//! over the exact query and body bytes, verification its `CallbackVerifier` (the same trace_id
//! rule and, per callback, freshness window as an operator's server); `authorize` is
//! `gameauth_omg::Client`.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use clap::{Args, Subcommand, ValueEnum};
use gameauth_core::secrecy::SecretString;
use gameauth_omg::{
    AuthorizeRequest, CallbackError, CallbackVerifier, Client, TraceIdAlphabet, TraceIdRule,
};
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
    /// Check a `sign` header against a query and body, as an OMG callback is checked (exit 0
    /// valid, 1 not valid).
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

/// Which OMG callback the request is, and so what is checked besides the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CallbackKind {
    /// Any callback (e.g. change_balance): the query rule and the signature only.
    Any,
    /// verify_session: also the documented body and the timestamp freshness window.
    VerifySession,
    /// get_balance: also the timestamp freshness window.
    GetBalance,
}

/// The characters an inbound `trace_id` may have.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum TraceIdChars {
    /// Any printable ASCII, raw or percent-encoded (the default).
    PrintableAscii,
    /// A-Z a-z 0-9 - . _ ~ only, no percent escapes.
    Unreserved,
    /// Letters and digits only, like OMG's examples.
    Alphanumeric,
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
    /// Which callback this is: `any` checks the signature only; `verify-session` and
    /// `get-balance` also check the signed timestamp against the freshness window.
    #[arg(long, value_enum, default_value = "any")]
    callback: CallbackKind,
    /// The freshness window in seconds, default 300 (with --callback verify-session or
    /// get-balance).
    #[arg(
        long,
        value_name = "SECS",
        allow_negative_numbers = true,
        conflicts_with = "no_freshness_window"
    )]
    freshness_window_secs: Option<u64>,
    /// Accept any timestamp (with --callback verify-session or get-balance).
    #[arg(long)]
    no_freshness_window: bool,
    /// The characters a trace_id may have.
    #[arg(long, value_enum, default_value = "printable-ascii")]
    trace_id_chars: TraceIdChars,
    /// The longest trace_id in bytes, after percent-decoding (1 to 128).
    #[arg(long, value_name = "N", allow_negative_numbers = true, default_value_t = TraceIdRule::MAX_LEN)]
    trace_id_max_len: usize,
    #[command(flatten)]
    key: KeyArgs,
}

impl VerifyArgs {
    /// The callback verifier these flags describe, on the system clock.
    fn verifier(&self, key: SecretString) -> Result<CallbackVerifier, Failure> {
        let window_given = self.no_freshness_window || self.freshness_window_secs.is_some();
        if self.callback == CallbackKind::Any && window_given {
            return Err(Failure::usage(
                "--freshness-window-secs and --no-freshness-window apply only with \
                 --callback verify-session or get-balance",
            ));
        }
        let alphabet = match self.trace_id_chars {
            TraceIdChars::PrintableAscii => TraceIdAlphabet::PrintableAscii,
            TraceIdChars::Unreserved => TraceIdAlphabet::Unreserved,
            TraceIdChars::Alphanumeric => TraceIdAlphabet::Alphanumeric,
        };
        let rule = TraceIdRule::new(alphabet, self.trace_id_max_len)
            .map_err(|_| Failure::usage("--trace-id-max-len must be between 1 and 128"))?;
        let builder = CallbackVerifier::builder().key(key).trace_id_rule(rule);
        let builder = if self.no_freshness_window {
            builder.without_freshness_window()
        } else {
            builder.freshness_window(self.freshness_window_secs.map_or(
                gameauth_omg::inbound::DEFAULT_FRESHNESS_WINDOW,
                Duration::from_secs,
            ))
        };
        builder
            .build()
            .map_err(|e| Failure::from(gameauth_core::AuthError::from(e)))
    }
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
    TraceIdRule::DEFAULT.trace_id(&args.query).map_err(|_| {
        Failure::usage(
            "--query must be the raw query without the `?`: exactly one trace_id=<value> \
             parameter of at most 128 printable ASCII characters, e.g. trace_id=k3n9x0q2m7ab",
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
    let verifier = args.verifier(key)?;
    let (query, sign) = (Some(args.query.as_str()), Some(args.sign.as_str()));
    let result = match args.callback {
        CallbackKind::Any => verifier.verify(query, &body, sign).map(drop),
        CallbackKind::VerifySession => verifier.verify_session(query, &body, sign).map(drop),
        CallbackKind::GetBalance => verifier.verify_fresh(query, &body, sign).map(drop),
    };
    match result {
        Ok(()) => Ok(json!({ "valid": true })),
        Err(e) => Err(Failure::refused(
            json!({ "valid": false }),
            format!("not valid: {}", why(&e)),
        )),
    }
}

/// A callback error for stderr; stale timestamps name both clocks.
fn why(e: &CallbackError) -> String {
    match e {
        CallbackError::Stale { timestamp, now } => {
            format!("{e} (timestamp {timestamp}, this host's clock {now})")
        }
        other => other.to_string(),
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
