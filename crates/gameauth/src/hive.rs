//! `gameauth hive …`: verify a player's login token and list a player's IdP accounts.
//!
//! Everything goes through `gameauth_hive::HiveClient`: v2 (the default) with the server OAuth token
//! from `HIVE_CLIENT_ID` / `HIVE_CLIENT_SECRET`, or the legacy v1 with the optional
//! `HIVE_CERTIFICATION_KEY`; the documented hosts of an environment, or custom base URLs with an
//! optional fallback.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use gameauth_core::{AuthError, PlayerToken};
use gameauth_hive::{
    Environment, HiveClient, HiveError, IdpList, IncludeField, VerifiedToken, VerifyParams,
};
use serde_json::{Map, Value, json};

use crate::error::CliError;
use crate::output::{self, Failure, Kind};
use crate::secrets;

const CLIENT_ID_ENV: &str = "HIVE_CLIENT_ID";
const CLIENT_SECRET_ENV: &str = "HIVE_CLIENT_SECRET";
const CLIENT_SECRET_FLAG: &str = "--client-secret-file";
const CERTIFICATION_KEY_ENV: &str = "HIVE_CERTIFICATION_KEY";
const CERTIFICATION_KEY_FLAG: &str = "--certification-key-file";
const ENV_HELP: &str = "Environment:\n  HIVE_CLIENT_ID          v2: client id of the server OAuth \
                        token\n  HIVE_CLIENT_SECRET      v2: its secret (or --client-secret-file \
                        <PATH>)\n  HIVE_CERTIFICATION_KEY  v1 (legacy), optional: the Hive \
                        certification key (or --certification-key-file <PATH>)";

/// Hive commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Verify a player's login token (exit 0 verified, 1 rejected, 2 unreachable or misconfigured).
    #[command(after_help = ENV_HELP)]
    Verify(VerifyArgs),
    /// List the IdP accounts linked to a player.
    #[command(after_help = ENV_HELP)]
    IdpList(IdpListArgs),
}

/// A Hive environment with documented hosts.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Env {
    /// auth.qpyou.cn, falling back to auth.globalwithhive.com.
    Production,
    /// sandbox-auth.qpyou.cn, no fallback.
    Sandbox,
}

/// The Hive API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Api {
    /// Server OAuth token (HIVE_CLIENT_ID, HIVE_CLIENT_SECRET): the default.
    V2,
    /// Legacy certification key (HIVE_CERTIFICATION_KEY, optional); refused by Hive from
    /// 20 Nov 2026.
    V1,
}

/// Hosts, API version, timeout and credential files shared by both commands.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("hosts").required(true).args(["env", "primary_url"])))]
pub(crate) struct HostArgs {
    /// Use the documented hosts of this environment.
    #[arg(long, value_enum)]
    env: Option<Env>,
    /// Custom primary base URL (scheme://host[:port]); the documented paths are appended.
    #[arg(long, value_name = "URL")]
    primary_url: Option<String>,
    /// Custom fallback base URL, tried once when the primary does not answer.
    #[arg(long, value_name = "URL", requires = "primary_url")]
    fallback_url: Option<String>,
    /// API version.
    #[arg(long, value_enum, default_value = "v2")]
    api: Api,
    /// Per-attempt timeout on each host in milliseconds (default 2000); the overall deadline is
    /// twice that plus 500 ms.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    timeout_ms: Option<u64>,
    /// Read the v2 client secret from this file instead of HIVE_CLIENT_SECRET.
    #[arg(long, value_name = "PATH")]
    client_secret_file: Option<PathBuf>,
    /// Read the v1 certification key from this file instead of HIVE_CERTIFICATION_KEY.
    #[arg(long, value_name = "PATH")]
    certification_key_file: Option<PathBuf>,
}

/// Arguments of `gameauth hive verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    hosts: HostArgs,
    /// The game's app id.
    #[arg(long, value_name = "A")]
    appid: String,
    /// The device id (did) from the client login.
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    did: String,
    /// The player id from the client login.
    #[arg(long, value_name = "N")]
    player_id: i64,
    /// The player's login token from the client (PlayerInfo.token).
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    token: String,
    /// Player fields to include, comma-separated (v2 only): is_blocked, is_device_registered,
    /// join_timestamp, china_pi_no.
    #[arg(long, value_name = "a,b")]
    include_fields: Option<String>,
}

/// Arguments of `gameauth hive idp-list`.
#[derive(Debug, Args)]
pub(crate) struct IdpListArgs {
    #[command(flatten)]
    hosts: HostArgs,
    /// The game's app id.
    #[arg(long, value_name = "A")]
    appid: String,
    /// The player id.
    #[arg(long, value_name = "N")]
    player_id: i64,
    /// Accepted for symmetry with `verify`; the IdP list is authorised by the server
    /// credentials alone, so the token is not sent.
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    token: Option<String>,
}

/// Runs a Hive command.
pub(crate) async fn run(command: Command) -> Result<(), CliError> {
    output::finish(match command {
        Command::Verify(args) => verify(&args).await,
        Command::IdpList(args) => idp_list(&args).await,
    })
}

fn client(hosts: &HostArgs, appid: &str) -> Result<HiveClient, Failure> {
    let mut builder = HiveClient::builder().appid(appid);
    builder = match (hosts.env, &hosts.primary_url) {
        (Some(Env::Production), _) => builder.environment(Environment::Production),
        (Some(Env::Sandbox), _) => builder.environment(Environment::Sandbox),
        (None, Some(primary)) => {
            let b = builder.primary_url(primary);
            match &hosts.fallback_url {
                Some(fallback) => b.fallback_url(fallback),
                None => b,
            }
        }
        (None, None) => return Err(Failure::usage("give --env or --primary-url")),
    };
    match hosts.api {
        Api::V2 => {
            let id = secrets::required_env(CLIENT_ID_ENV)?;
            let secret = secrets::required(
                CLIENT_SECRET_ENV,
                CLIENT_SECRET_FLAG,
                hosts.client_secret_file.as_deref(),
            )?;
            builder = builder.client_credentials(id, secret);
        }
        Api::V1 => {
            eprintln!(
                "note: v1 is legacy; Hive refuses certification-key APIs from 20 Nov 2026 \
                 (extension on request until 31 Dec 2026)"
            );
            if let Some(key) = secrets::optional(
                CERTIFICATION_KEY_ENV,
                CERTIFICATION_KEY_FLAG,
                hosts.certification_key_file.as_deref(),
            )? {
                builder = builder.certification_key(key);
            }
        }
    }
    if let Some(ms) = hosts.timeout_ms {
        let attempt = Duration::from_millis(ms);
        builder = builder
            .primary_timeout(attempt)
            .fallback_timeout(attempt)
            .deadline(attempt * 2 + Duration::from_millis(500));
    }
    builder.build().map_err(failure)
}

async fn verify(args: &VerifyArgs) -> Result<Value, Failure> {
    let fields = match &args.include_fields {
        Some(_) if args.hosts.api == Api::V1 => {
            return Err(Failure::usage("--include-fields is only for --api v2"));
        }
        Some(list) => IncludeField::parse_list(list)
            .map_err(|e| Failure::usage(format!("--include-fields: {e}")))?,
        None => Vec::new(),
    };
    let client = client(&args.hosts, &args.appid)?;
    let mut params = VerifyParams::new(
        PlayerToken::new(args.token.as_str()),
        args.player_id,
        &args.did,
    );
    for field in fields {
        params = params.include(field);
    }
    let result = match args.hosts.api {
        Api::V2 => client.verify_token(&params).await,
        Api::V1 => client.verify_token_v1(&params).await,
    };
    match result {
        Ok(verified) => Ok(verified_json(&verified, &args.did)),
        Err(HiveError::TokenRejected {
            code,
            message,
            served_by,
        }) => Err(rejected(code.as_i64(), message, served_by.as_str())),
        Err(HiveError::DistributedTokenInvalid { message, served_by }) => Err(rejected(
            gameauth_hive::VerifyCode::DistributedTokenInvalid.as_i64(),
            message,
            served_by.as_str(),
        )),
        Err(e) => Err(failure(e)),
    }
}

fn rejected(code: i64, message: String, served_by: &str) -> Failure {
    let diagnostic =
        format!("player token rejected with code {code} by the {served_by}: {message}");
    Failure::refused(
        json!({ "verified": false, "code": code, "message": message }),
        diagnostic,
    )
}

fn verified_json(verified: &VerifiedToken, did: &str) -> Value {
    let f = &verified.fields;
    let mut fields: Map<String, Value> = f.extra.clone().into_iter().collect();
    if let Some(v) = f.is_blocked {
        fields.insert("is_blocked".into(), v.into());
    }
    if let Some(v) = f.is_device_registered {
        fields.insert("is_device_registered".into(), v.into());
    }
    if let Some(v) = f.join_timestamp {
        fields.insert("join_timestamp".into(), v.into());
    }
    if let Some(v) = &f.china_pi_no {
        fields.insert("china_pi_no".into(), v.as_str().into());
    }
    json!({
        "verified": true,
        "player_id": verified.player_id,
        "did": did,
        "served_by": verified.served_by.as_str(),
        "fields": fields,
    })
}

async fn idp_list(args: &IdpListArgs) -> Result<Value, Failure> {
    if args.token.is_some() {
        eprintln!("note: --token is not sent; the IdP list needs only the server credentials");
    }
    let client = client(&args.hosts, &args.appid)?;
    let result = match args.hosts.api {
        Api::V2 => client.idp_list(args.player_id).await,
        Api::V1 => client.idp_list_v1(args.player_id).await,
    };
    match result {
        Ok(list) => Ok(idp_json(&list, args.player_id)),
        Err(HiveError::IdpRejected {
            code,
            message,
            served_by,
        }) => Err(Failure::error(
            Kind::Provider,
            format!(
                "IdP list refused with code {} by the {}: {message}",
                code.as_i64(),
                served_by.as_str()
            ),
        )
        .with("code", code.as_i64())
        .with("message", message)),
        Err(e) => Err(failure(e)),
    }
}

fn idp_json(list: &IdpList, player_id: i64) -> Value {
    let accounts: Vec<Value> = list
        .accounts
        .iter()
        .map(|a| {
            json!({
                "seq": a.seq,
                "player_id": a.player_id,
                "idp_user_id": a.idp_user_id,
                "idp_index": a.idp_index.0,
                "idp_name": a.idp_index.name(),
                "idp_id": a.idp_id,
            })
        })
        .collect();
    json!({
        "player_id": player_id,
        "served_by": list.served_by.as_str(),
        "accounts": accounts,
    })
}

/// Every other Hive error, classified by the SDK's own mapping: our credentials refused →
/// `config`, no host answered → `unavailable`, and so on.
fn failure(e: HiveError) -> Failure {
    Failure::from(AuthError::from(e))
}
