//! `gameauth hive …`: verify a player's login token, list a player's IdP accounts.
//!
//! Everything goes through `gameauth_hive::Client`. v2 verification (the default) sends the
//! player's access token and needs no credentials of ours; with `--server-token` it sends the
//! server OAuth token from `HIVE_CLIENT_ID` / `HIVE_CLIENT_SECRET` instead, which the v2 IdP list
//! always needs. The legacy v1 takes the optional `HIVE_CERTIFICATION_KEY`. `player-idps`
//! (the token-validated IdP list) needs only the player's token. Hosts: the documented ones of an
//! environment, or custom base URLs with an optional fallback. The player's token and access
//! token come from a flag, a file (`-` = stdin) or an environment variable.

use gameauth_hive as hive;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use gameauth_core::secrecy::{ExposeSecret, SecretString};
use gameauth_core::{AuthError, PlayerToken};
use gameauth_hive::{
    Environment, IdpList, IncludeField, PlayerIdps, PlayerIdpsParams, VerifiedToken,
    VerifyAccessToken, VerifyParams,
};
use serde_json::{Map, Value, json};

use crate::error::CliError;
use crate::output::{self, Failure, Kind};
use crate::secrets::{self, Credential};

const CLIENT_ID_ENV: &str = "HIVE_CLIENT_ID";
const CLIENT_SECRET_ENV: &str = "HIVE_CLIENT_SECRET";
const CLIENT_SECRET_FLAG: &str = "--client-secret-file";
const CERTIFICATION_KEY_ENV: &str = "HIVE_CERTIFICATION_KEY";
const CERTIFICATION_KEY_FLAG: &str = "--certification-key-file";

/// The player's login token (`PlayerInfo.token`).
const TOKEN: Credential = Credential {
    flag: "--token",
    file_flag: "--token-file",
    env: "HIVE_PLAYER_TOKEN",
};
/// The player's OAuth 2.0 access token from the same login (v2 verification).
const ACCESS_TOKEN: Credential = Credential {
    flag: "--access-token",
    file_flag: "--access-token-file",
    env: "HIVE_PLAYER_ACCESS_TOKEN",
};

const VERIFY_HELP: &str = "Environment:\n  HIVE_PLAYER_TOKEN         the player's login token \
                           (instead of --token / --token-file)\n  HIVE_PLAYER_ACCESS_TOKEN  v2: \
                           the player's access token (instead of --access-token / \
                           --access-token-file)\n  HIVE_CLIENT_ID            with --server-token: \
                           client id of the server OAuth token\n  HIVE_CLIENT_SECRET        with \
                           --server-token: its secret (or --client-secret-file <PATH>)\n  \
                           HIVE_CERTIFICATION_KEY    v1 (legacy), optional: the Hive \
                           certification key (or --certification-key-file <PATH>)";
const IDP_LIST_HELP: &str = "Environment:\n  HIVE_CLIENT_ID          v2: client id of the server \
                             OAuth token\n  HIVE_CLIENT_SECRET      v2: its secret (or \
                             --client-secret-file <PATH>)\n  HIVE_CERTIFICATION_KEY  v1 (legacy), \
                             optional: the Hive certification key (or --certification-key-file \
                             <PATH>)";
const PLAYER_IDPS_HELP: &str = "Environment:\n  HIVE_PLAYER_TOKEN  the player's login token \
                                (instead of --token / --token-file)";

/// Hive commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Verify a player's login token (exit 0 verified, 1 rejected, 2 unreachable or misconfigured).
    #[command(after_help = VERIFY_HELP)]
    Verify(VerifyArgs),
    /// List the IdP accounts linked to a player (with the server credentials).
    #[command(after_help = IDP_LIST_HELP)]
    IdpList(IdpListArgs),
    /// Validate a player's login token and list that player's IdP accounts in one call
    /// (/server/player/get-idpuserid; exit 0 valid, 1 refused, 2 unreachable or misconfigured).
    #[command(after_help = PLAYER_IDPS_HELP)]
    PlayerIdps(PlayerIdpsArgs),
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
    /// OAuth 2.0 access tokens in X-Access-Token: the default.
    V2,
    /// Legacy certification key (HIVE_CERTIFICATION_KEY, optional); refused by Hive from
    /// 20 Nov 2026.
    V1,
}

/// Hosts and timeout, shared by every command.
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
    /// Per-attempt timeout on each host in milliseconds (default 2000); the overall deadline is
    /// twice that plus 500 ms.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    timeout_ms: Option<u64>,
}

/// API version and the files of our own credentials, for `verify` and `idp-list`.
#[derive(Debug, Args)]
pub(crate) struct ApiArgs {
    /// API version.
    #[arg(long, value_enum, default_value = "v2")]
    api: Api,
    /// Read the client secret of the server OAuth token from this file instead of
    /// HIVE_CLIENT_SECRET.
    #[arg(long, value_name = "PATH")]
    client_secret_file: Option<PathBuf>,
    /// Read the v1 certification key from this file instead of HIVE_CERTIFICATION_KEY.
    #[arg(long, value_name = "PATH")]
    certification_key_file: Option<PathBuf>,
}

/// Who logged in: the app, the device, the player and the player's login token, for `verify`
/// and `player-idps`.
#[derive(Debug, Args)]
pub(crate) struct PlayerArgs {
    /// The game's app id.
    #[arg(long, value_name = "A")]
    appid: String,
    /// The device id (did) from the client login.
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    did: String,
    /// The player id from the client login.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    player_id: i64,
    /// The player's login token from the client (PlayerInfo.token); or --token-file, or
    /// HIVE_PLAYER_TOKEN.
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    token: Option<String>,
    /// Read the player's login token from this file (- for stdin).
    #[arg(long, value_name = "PATH", conflicts_with = "token")]
    token_file: Option<PathBuf>,
}

/// Arguments of `gameauth hive verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    hosts: HostArgs,
    #[command(flatten)]
    api: ApiArgs,
    #[command(flatten)]
    player: PlayerArgs,
    /// v2: the player's OAuth 2.0 access token from the same login, sent as X-Access-Token; or
    /// --access-token-file, or HIVE_PLAYER_ACCESS_TOKEN.
    #[arg(long, value_name = "JWT", allow_hyphen_values = true)]
    access_token: Option<String>,
    /// Read the player's access token from this file (- for stdin).
    #[arg(long, value_name = "PATH", conflicts_with = "access_token")]
    access_token_file: Option<PathBuf>,
    /// v2: send the server OAuth token (HIVE_CLIENT_ID, HIVE_CLIENT_SECRET) as X-Access-Token
    /// instead of the player's access token, for consoles that issue it that way.
    #[arg(long, conflicts_with_all = ["access_token", "access_token_file"])]
    server_token: bool,
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
    #[command(flatten)]
    api: ApiArgs,
    /// The game's app id.
    #[arg(long, value_name = "A")]
    appid: String,
    /// The player id.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    player_id: i64,
    /// Accepted for symmetry with `verify`; the IdP list is authorised by the server
    /// credentials alone, so the token is not sent.
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    token: Option<String>,
}

/// Arguments of `gameauth hive player-idps`.
#[derive(Debug, Args)]
pub(crate) struct PlayerIdpsArgs {
    #[command(flatten)]
    hosts: HostArgs,
    #[command(flatten)]
    player: PlayerArgs,
}

/// Runs a Hive command.
pub(crate) async fn run(command: Command) -> Result<(), CliError> {
    output::finish(match command {
        Command::Verify(args) => verify(&args).await,
        Command::IdpList(args) => idp_list(&args).await,
        Command::PlayerIdps(args) => player_idps(&args).await,
    })
}

/// Which of our own credentials a client needs.
enum Credentials<'a> {
    /// None: the player's token (and access token) authorise the call.
    None,
    /// The client id and secret of the server OAuth token.
    ServerToken(&'a ApiArgs),
    /// The legacy certification key, when one is set.
    CertificationKey(&'a ApiArgs),
}

fn client(
    hosts: &HostArgs,
    appid: &str,
    credentials: Credentials<'_>,
) -> Result<hive::ClientBuilder, Failure> {
    let mut builder = hive::Client::builder().appid(appid);
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
    match credentials {
        Credentials::None => {}
        Credentials::ServerToken(api) => {
            let id = secrets::required_env(CLIENT_ID_ENV)?;
            let secret = secrets::required(
                CLIENT_SECRET_ENV,
                CLIENT_SECRET_FLAG,
                api.client_secret_file.as_deref(),
            )?;
            builder = builder.client_credentials(id, secret);
        }
        Credentials::CertificationKey(api) => {
            eprintln!(
                "note: v1 is legacy; Hive refuses certification-key APIs from 20 Nov 2026 \
                 (extension on request until 31 Dec 2026)"
            );
            if let Some(key) = secrets::optional(
                CERTIFICATION_KEY_ENV,
                CERTIFICATION_KEY_FLAG,
                api.certification_key_file.as_deref(),
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
    Ok(builder)
}

fn player_token(secret: &SecretString) -> PlayerToken {
    PlayerToken::new(secret.expose_secret())
}

impl PlayerArgs {
    /// The player's login token, from wherever it was given.
    fn token(&self) -> Result<PlayerToken, Failure> {
        TOKEN
            .required(self.token.as_deref(), self.token_file.as_deref())
            .map(|t| player_token(&t))
    }
}

async fn verify(args: &VerifyArgs) -> Result<Value, Failure> {
    let v1 = args.api.api == Api::V1;
    let fields = match &args.include_fields {
        Some(_) if v1 => return Err(Failure::usage("--include-fields is only for --api v2")),
        Some(list) => IncludeField::parse_list(list)
            .map_err(|e| Failure::usage(format!("--include-fields: {e}")))?,
        None => Vec::new(),
    };
    if v1 && (args.server_token || args.access_token.is_some() || args.access_token_file.is_some())
    {
        return Err(Failure::usage(
            "--access-token, --access-token-file and --server-token are only for --api v2",
        ));
    }
    let player = &args.player;
    let token = player.token()?;
    let access_token = if v1 || args.server_token {
        None
    } else {
        Some(ACCESS_TOKEN.required(
            args.access_token.as_deref(),
            args.access_token_file.as_deref(),
        )?)
    };
    let credentials = match (v1, args.server_token) {
        (true, _) => Credentials::CertificationKey(&args.api),
        (false, true) => Credentials::ServerToken(&args.api),
        (false, false) => Credentials::None,
    };
    let mut builder = client(&args.hosts, &player.appid, credentials)?;
    if args.server_token {
        builder = builder.verify_access_token(VerifyAccessToken::Server);
    }
    let client = builder.build().map_err(failure)?;
    let mut params = VerifyParams::new(token, player.player_id, &player.did);
    if let Some(access_token) = &access_token {
        params = params.with_access_token(player_token(access_token));
    }
    for field in fields {
        params = params.include(field);
    }
    let result = if v1 {
        client.verify_token_v1(&params).await
    } else {
        client.verify_token(&params).await
    };
    match result {
        Ok(verified) => Ok(verified_json(&verified, &player.did)),
        Err(
            e @ (hive::Error::TokenRejected { .. }
            | hive::Error::DistributedTokenInvalid { .. }
            | hive::Error::PlayerAccessTokenRejected { .. }),
        ) => Err(rejected(e)),
        Err(e) => Err(failure(e)),
    }
}

/// Hive said no to the player's credentials: exit 1 with
/// `{"verified":false,"code":…,"message":…}`; the error's own text goes to stderr.
fn rejected(e: hive::Error) -> Failure {
    let diagnostic = e.to_string();
    match AuthError::from(e) {
        AuthError::Rejected { code, message } => Failure::refused(
            json!({ "verified": false, "code": code, "message": message }),
            diagnostic,
        ),
        other => Failure::from(other),
    }
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
    let credentials = match args.api.api {
        Api::V2 => Credentials::ServerToken(&args.api),
        Api::V1 => Credentials::CertificationKey(&args.api),
    };
    let client = client(&args.hosts, &args.appid, credentials)?
        .build()
        .map_err(failure)?;
    let result = match args.api.api {
        Api::V2 => client.idp_list(args.player_id).await,
        Api::V1 => client.idp_list_v1(args.player_id).await,
    };
    match result {
        Ok(list) => Ok(idp_json(&list, args.player_id)),
        Err(hive::Error::IdpRejected {
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

async fn player_idps(args: &PlayerIdpsArgs) -> Result<Value, Failure> {
    let player = &args.player;
    let token = player.token()?;
    let client = client(&args.hosts, &player.appid, Credentials::None)?
        .build()
        .map_err(failure)?;
    let params = PlayerIdpsParams::new(token, player.player_id, &player.did);
    match client.player_idps(&params).await {
        Ok(idps) => Ok(player_idps_json(&idps)),
        Err(e @ hive::Error::PlayerIdpsRejected { .. }) => Err(rejected(e)),
        Err(e) => Err(failure(e)),
    }
}

fn player_idps_json(idps: &PlayerIdps) -> Value {
    let accounts: Vec<Value> = idps
        .accounts
        .iter()
        .map(|a| {
            json!({
                "player_id": a.player_id,
                "idp_user_id": a.idp_user_id,
                "idp_index": a.idp_index.0,
                "idp_name": a.idp_index.name(),
            })
        })
        .collect();
    json!({
        "verified": true,
        "player_id": idps.player_id,
        "accounts": accounts,
        "served_by": idps.served_by.as_str(),
    })
}

/// Every other Hive error, classified by the SDK's own mapping: our credentials refused →
/// `config`, no host answered → `unavailable`, and so on.
fn failure(e: hive::Error) -> Failure {
    Failure::from(AuthError::from(e))
}
