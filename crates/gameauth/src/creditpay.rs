//! `gameauth creditpay …`: Credit Pay signatures and the one-time authorization code call.
//!
//! The signature key comes from `CREDITPAY_SIGNATURE_KEY` (or `--signature-key-file`), the API
//! key from `CREDITPAY_API_KEY` (or `--api-key-file`). Signing and verification are the
//! `gameauth-creditpay` functions; `auth` is `gameauth_creditpay::Client::identify_auth`.

use std::path::PathBuf;
use std::time::SystemTime;

use clap::{Args, Subcommand, ValueEnum};
use gameauth_core::secrecy::SecretString;
use gameauth_core::{AuthError, KeyRing, PlayerToken};
use gameauth_creditpay::{Client, CustomerNoField, IdentifyAuthRequest, PlatIdParam};
use serde_json::{Value, json};

use crate::body::{self, BodyArgs};
use crate::error::CliError;
use crate::output::{self, Failure};
use crate::secrets::{self, Credential};

const SIGNATURE_KEY_ENV: &str = "CREDITPAY_SIGNATURE_KEY";
const SIGNATURE_KEY_FLAG: &str = "--signature-key-file";
const API_KEY_ENV: &str = "CREDITPAY_API_KEY";
const API_KEY_FLAG: &str = "--api-key-file";
const SIGN_HELP: &str = "Environment:\n  CREDITPAY_SIGNATURE_KEY  the signature (HMAC) key from the \
                         Credit Pay console (or --signature-key-file <PATH>)";
const AUTH_HELP: &str = "Environment:\n  CREDITPAY_API_KEY         the API key, sent as the api-key \
                         header (or --api-key-file <PATH>)\n  CREDITPAY_SIGNATURE_KEY   the \
                         signature (HMAC) key (or --signature-key-file <PATH>)\n  \
                         CREDITPAY_CUSTOMER_TOKEN  the platform's token for the player (instead \
                         of --customer-token / --customer-token-file)";
/// The platform's own token for the player.
const CUSTOMER_TOKEN: Credential = Credential {
    flag: "--customer-token",
    file_flag: "--customer-token-file",
    env: "CREDITPAY_CUSTOMER_TOKEN",
};

/// Credit Pay commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Compute the `signature` header: base64(HMAC-SHA1(key, path + body)).
    #[command(after_help = SIGN_HELP)]
    Sign(SignArgs),
    /// Check a `signature` header against a path and body (exit 0 valid, 1 not valid).
    #[command(after_help = SIGN_HELP)]
    Verify(VerifyArgs),
    /// Ask Credit Pay for a one-time authorization code (POST /v1/platform/identify/auth).
    #[command(after_help = AUTH_HELP)]
    Auth(AuthArgs),
}

/// Where the signature key comes from besides `CREDITPAY_SIGNATURE_KEY`.
#[derive(Debug, Args)]
pub(crate) struct SignatureKeyArgs {
    /// Read the signature key from this file instead of CREDITPAY_SIGNATURE_KEY.
    #[arg(long, value_name = "PATH")]
    signature_key_file: Option<PathBuf>,
}

impl SignatureKeyArgs {
    fn key(&self) -> Result<SecretString, Failure> {
        secrets::required(
            SIGNATURE_KEY_ENV,
            SIGNATURE_KEY_FLAG,
            self.signature_key_file.as_deref(),
        )
    }
}

/// Arguments of `gameauth creditpay sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The signed path: after the gateway prefix, without query (e.g. /v1/platform/identify/auth).
    #[arg(long, value_name = "PATH")]
    path: String,
    #[command(flatten)]
    body: BodyArgs,
    /// Also print the signed message (path + body); the key is the HMAC key, shown as `<key>`.
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    key: SignatureKeyArgs,
}

/// Arguments of `gameauth creditpay verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The signed path: after the gateway prefix (outbound) or the platform's own route path
    /// (inbound), without query.
    #[arg(long, value_name = "PATH")]
    path: String,
    #[command(flatten)]
    body: BodyArgs,
    /// The `signature` header value to check (base64).
    #[arg(long, value_name = "B64", allow_hyphen_values = true)]
    signature: String,
    #[command(flatten)]
    key: SignatureKeyArgs,
}

/// The body field name of the player's number (the docs disagree, see `CustomerNoField`).
#[derive(Debug, Clone, Copy, ValueEnum)]
enum CustomerNoName {
    /// `customer_no`, as in the docs' examples and signing vector (the default).
    #[value(name = "customer_no")]
    CustomerNo,
    /// `custom_no`, as in the docs' field table.
    #[value(name = "custom_no")]
    CustomNo,
}

/// The query parameter name of the platform id.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum PlatIdName {
    /// `plat_id`, as in the current docs (the default).
    #[value(name = "plat_id")]
    PlatId,
    /// `platId`, as before December 2024.
    #[value(name = "platId")]
    LegacyPlatId,
}

/// Arguments of `gameauth creditpay auth`.
#[derive(Debug, Args)]
pub(crate) struct AuthArgs {
    /// The base URL including the gateway prefix, e.g. https://credit-pay-dev.aatest.online/dg.
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// The platform id from the Credit Pay console.
    #[arg(long, value_name = "ID")]
    plat_id: String,
    /// The query parameter name of the platform id.
    #[arg(long, value_enum, default_value = "plat_id")]
    plat_id_param: PlatIdName,
    /// The player's unique number on the platform.
    #[arg(long, value_name = "S", allow_hyphen_values = true)]
    customer_no: String,
    /// The body field name of the player's number.
    #[arg(long, value_enum, default_value = "customer_no")]
    customer_no_field: CustomerNoName,
    /// The platform's own token for the player (relayed back in Credit Pay's callbacks); or
    /// --customer-token-file, or CREDITPAY_CUSTOMER_TOKEN.
    #[arg(long, value_name = "S", allow_hyphen_values = true)]
    customer_token: Option<String>,
    /// Read the customer token from this file (- for stdin).
    #[arg(long, value_name = "PATH", conflicts_with = "customer_token")]
    customer_token_file: Option<PathBuf>,
    /// When customer_token expires, in 13-digit epoch milliseconds.
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    token_expire: i64,
    /// The platform's callback address.
    #[arg(long, value_name = "URL")]
    callback_url: String,
    /// The player's IP address.
    #[arg(long, value_name = "IP")]
    client_ip: String,
    /// The lang header (default en-US).
    #[arg(long, value_name = "L")]
    lang: Option<String>,
    /// Read the API key from this file instead of CREDITPAY_API_KEY.
    #[arg(long, value_name = "PATH")]
    api_key_file: Option<PathBuf>,
    #[command(flatten)]
    key: SignatureKeyArgs,
}

/// Runs a Credit Pay command.
pub(crate) async fn run(command: Command) -> Result<(), CliError> {
    output::finish(match command {
        Command::Sign(args) => sign(&args),
        Command::Verify(args) => verify(&args),
        Command::Auth(args) => auth(&args).await,
    })
}

fn check_path(path: &str) -> Result<(), Failure> {
    gameauth_creditpay::sign::check_signed_path(path).map_err(|e| {
        let why = match e {
            gameauth_creditpay::Error::Config(m) => m,
            other => other.to_string(),
        };
        Failure::usage(format!(
            "--path: {why} (the path after the gateway prefix, e.g. /v1/platform/identify/auth)"
        ))
    })
}

fn sign(args: &SignArgs) -> Result<Value, Failure> {
    let key = args.key.key()?;
    let body = args.body.read()?;
    check_path(&args.path)?;
    let signature = gameauth_creditpay::sign::sign(&key, &args.path, &body);
    let mut out = json!({ "signature": signature });
    if args.explain {
        out["string_to_sign"] = format!("{}{}", args.path, body::display(&body)).into();
        out["algorithm"] = "base64(hmac_sha1(<key>, string_to_sign))".into();
    }
    Ok(out)
}

fn verify(args: &VerifyArgs) -> Result<Value, Failure> {
    let key = args.key.key()?;
    let body = args.body.read()?;
    check_path(&args.path)?;
    let keys = KeyRing::new(key);
    match gameauth_creditpay::verify::verify_signature(
        &keys,
        SystemTime::now(),
        &args.path,
        &body,
        &args.signature,
    ) {
        Ok(()) => Ok(json!({ "valid": true })),
        Err(e) => Err(Failure::refused(
            json!({ "valid": false }),
            format!("not valid: {e}"),
        )),
    }
}

async fn auth(args: &AuthArgs) -> Result<Value, Failure> {
    let customer_token = CUSTOMER_TOKEN.required(
        args.customer_token.as_deref(),
        args.customer_token_file.as_deref(),
    )?;
    let api_key = secrets::required(API_KEY_ENV, API_KEY_FLAG, args.api_key_file.as_deref())?;
    let key = args.key.key()?;
    let client = Client::builder()
        .base_url(&args.base_url)
        .plat_id(&args.plat_id)
        .plat_id_param(match args.plat_id_param {
            PlatIdName::PlatId => PlatIdParam::PlatId,
            PlatIdName::LegacyPlatId => PlatIdParam::LegacyPlatId,
        })
        .customer_no_field(match args.customer_no_field {
            CustomerNoName::CustomerNo => CustomerNoField::CustomerNo,
            CustomerNoName::CustomNo => CustomerNoField::CustomNo,
        })
        .api_key(gameauth_core::secrecy::ExposeSecret::expose_secret(
            &api_key,
        ))
        .signature_keys(KeyRing::new(key))
        .build()
        .map_err(AuthError::from)?;
    let mut request = IdentifyAuthRequest::new(
        &args.customer_no,
        PlayerToken::new(gameauth_core::secrecy::ExposeSecret::expose_secret(
            &customer_token,
        )),
        &args.callback_url,
        args.token_expire,
        &args.client_ip,
    );
    if let Some(lang) = &args.lang {
        request = request.with_lang(lang);
    }
    let issued = client
        .identify_auth(&request)
        .await
        .map_err(AuthError::from)?;
    Ok(json!({
        "ident_code": issued.ident_code.expose_secret(),
        "url": issued.url.expose_secret(),
    }))
}
