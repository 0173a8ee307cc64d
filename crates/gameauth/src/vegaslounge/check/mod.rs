//! `gameauth vegaslounge check`: act as Vegas Lounge against an operator deployment.
//!
//! A client of the Vegas Lounge contract that speaks only HTTP, so it probes any implementation
//! (this SDK's server or another one). It gets an authorization code either from `--code`
//! (`--code-file`, `VL_AUTHORIZATION_CODE`) or by
//! logging in through the demo-login contract (`GET /login`, `POST /login` with the form's hidden
//! fields, then `GET /oauth2.0/authorize` with the session cookie), and then runs the checks:
//!
//! | check | passes when |
//! |---|---|
//! | `login` (with `--username`) | the login form, the login and the authorize redirect yield a code |
//! | `code exchange` | `POST /oauth2.0/token` with the code answers 200 JSON with an access token |
//! | `account` | `GET /account` with the bearer access token answers the player's account |
//! | `wrong secret refused` | a wrong client secret gets 401 (`errorCode` 1001, or RFC `invalid_client`) |
//! | `refresh` | `/oauth2.0/refresh` and `/oauth2.0/token` rotate refresh tokens, and the old one is refused afterwards |
//! | `code replay refused` | the same code a second time is refused |
//! | `unknown grant type` | an unknown `grant_type` gets 400 (`errorCode` 1007, or RFC `unsupported_grant_type`) |
//! | `error body shape` | every error answer is JSON `{"errorCode":n,"error":"…"}` or an RFC 6749 error |
//! | `cache headers` | every token endpoint answer has `Cache-Control: no-store` and `Pragma: no-cache` |
//!
//! The report goes to stderr (`PASS name` / `FAIL name: reason`, then `N passed, N failed`); stdout
//! gets the same as one JSON object. No code, token or secret is ever printed.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use gameauth_core::secrecy::{ExposeSecret, SecretString};
use gameauth_core::{HttpTransport, ReqwestTransport, TransportError};
use http::header::{
    ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, PRAGMA, SET_COOKIE,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use url::Url;

use crate::error::CliError;
use crate::output::{self, Failure, Kind};
use crate::secrets::{self, Credential};

mod answer;
mod login;
mod probe;
#[cfg(test)]
mod tests;

use answer::*;
use login::*;

/// A code obtained by logging in through the operator's own page.
const CODE: Credential = Credential {
    flag: "--code",
    file_flag: "--code-file",
    env: "VL_AUTHORIZATION_CODE",
};
const CLIENT_SECRET_ENV: &str = "VL_CLIENT_SECRET";
const CLIENT_SECRET_FLAG: &str = "--client-secret-file";
const PASSWORD_ENV: &str = "VL_PLAYER_PASSWORD";
const PASSWORD_FLAG: &str = "--password-file";

const LOGIN_PATH: &str = "/login";
const AUTHORIZE_PATH: &str = "/oauth2.0/authorize";
const TOKEN_PATH: &str = "/oauth2.0/token";
const REFRESH_PATH: &str = "/oauth2.0/refresh";
const ACCOUNT_PATH: &str = "/account";

/// A client secret no deployment should accept.
const WRONG_SECRET: &str = "gameauth-check-wrong-secret";
/// A grant type no deployment should support.
const UNKNOWN_GRANT: &str = "urn:gameauth:check:unknown-grant";
/// Time for one HTTP exchange with the deployment.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest excerpt of a deployment's error text quoted in a reason.
const MAX_QUOTE: usize = 120;

const RFC_ERRORS: [&str; 10] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_token",
    "access_denied",
    "server_error",
    "temporarily_unavailable",
];

/// Arguments of `gameauth vegaslounge check`.
#[derive(Debug, Args)]
#[command(
    group(clap::ArgGroup::new("code_source").args(["code", "code_file", "username"])),
    after_help = "Environment:\n  VL_CLIENT_SECRET       the client secret Vegas Lounge uses \
                  (or --client-secret-file <PATH>)\n  VL_AUTHORIZATION_CODE  the authorization \
                  code, without --code / --code-file / --username\n  VL_PLAYER_PASSWORD     the \
                  player's password, with --username (or --password-file <PATH>)"
)]
pub(crate) struct CheckArgs {
    /// The operator deployment, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// The client id registered for Vegas Lounge.
    #[arg(long, value_name = "ID")]
    client_id: String,
    /// The redirect URI registered for that client.
    #[arg(long, value_name = "URI")]
    redirect_uri: String,
    /// An authorization code obtained by logging in through the operator's own page; or
    /// --code-file, or VL_AUTHORIZATION_CODE.
    #[arg(long, value_name = "CODE", allow_hyphen_values = true)]
    code: Option<String>,
    /// Read the authorization code from this file (- for stdin).
    #[arg(long, value_name = "PATH")]
    code_file: Option<PathBuf>,
    /// Log in as this player through the demo-login contract to get a code.
    #[arg(long, value_name = "U")]
    username: Option<String>,
    /// Read the client secret from this file instead of VL_CLIENT_SECRET.
    #[arg(long, value_name = "PATH")]
    client_secret_file: Option<PathBuf>,
    /// Read the player's password from this file instead of VL_PLAYER_PASSWORD.
    #[arg(long, value_name = "PATH", requires = "username")]
    password_file: Option<PathBuf>,
}

/// Runs `gameauth vegaslounge check`.
pub(crate) async fn run(args: CheckArgs) -> Result<(), CliError> {
    output::finish(check(&args).await)
}

async fn check(args: &CheckArgs) -> Result<Value, Failure> {
    let secret = secrets::required(
        CLIENT_SECRET_ENV,
        CLIENT_SECRET_FLAG,
        args.client_secret_file.as_deref(),
    )?;
    let source = match &args.username {
        None => match CODE.optional(args.code.as_deref(), args.code_file.as_deref())? {
            Some(code) => CodeSource::Given(code.expose_secret().to_owned()),
            None => {
                return Err(Failure::usage(
                    "give --code <CODE>, --code-file <PATH> (- for stdin) or \
                     VL_AUTHORIZATION_CODE, or --username",
                ));
            }
        },
        Some(username) => CodeSource::Login {
            username: username.clone(),
            password: secrets::required(
                PASSWORD_ENV,
                PASSWORD_FLAG,
                args.password_file.as_deref(),
            )?,
        },
    };
    let base = base_url(&args.base_url)?;
    // Kept as given: the operator compares it as a string, and parsing would normalise it
    // (`https://host` becomes `https://host/`).
    Url::parse(&args.redirect_uri)
        .map_err(|_| Failure::usage("--redirect-uri must be an absolute URL"))?;
    let transport = ReqwestTransport::builder()
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .build()
        .map_err(Failure::from)?;
    let mut probe = Probe {
        http: Http {
            transport,
            base,
            answered: false,
            last_failure: None,
        },
        client_id: args.client_id.clone(),
        secret,
        redirect_uri: args.redirect_uri.clone(),
        results: Vec::new(),
        token_answers: Vec::new(),
        error_answers: Vec::new(),
    };
    probe.run(source).await;
    if !probe.http.answered {
        let why = probe.http.last_failure.unwrap_or_default();
        return Err(Failure::error(
            Kind::Unavailable,
            format!("no answer from {}: {why}", probe.http.base),
        ));
    }
    probe.report()
}

/// `https://host[:port][/prefix]` (plain `http` only for a loopback host: the check sends the
/// client secret) without a trailing `/`, query or fragment.
fn base_url(raw: &str) -> Result<String, Failure> {
    gameauth_core::outbound::BaseUrl::parse(raw)
        .map(|url| url.as_str().to_owned())
        .map_err(|why| {
            Failure::usage(format!(
                "--base-url must be an https URL (http only for a loopback host) without query, \
                 e.g. http://127.0.0.1:8080: {why}"
            ))
        })
}

enum CodeSource {
    Given(String),
    Login {
        username: String,
        password: SecretString,
    },
}

/// The tokens of one answer. Never printed.
struct Tokens {
    access: String,
    refresh: Option<String>,
}

/// The deployment over HTTP, without redirects and without cookies unless a step adds them.
struct Http {
    transport: ReqwestTransport,
    base: String,
    /// Whether the deployment ever answered: if not, the run is "unreachable", not a failed check.
    answered: bool,
    last_failure: Option<String>,
}

impl Http {
    async fn send(
        &mut self,
        method: Method,
        path_and_query: &str,
        headers: Vec<(http::HeaderName, HeaderValue)>,
        body: Bytes,
    ) -> Result<Response<Bytes>, String> {
        let what = format!("{method} {}", path_only(path_and_query));
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path_and_query}", self.base));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request
            .body(body)
            .map_err(|_| format!("{what}: cannot build the request"))?;
        match self.transport.send(request).await {
            Ok(response) => {
                self.answered = true;
                Ok(response)
            }
            Err(e) => {
                let why = transport_reason(&e);
                self.last_failure = Some(why.clone());
                Err(format!("{what}: no answer ({why})"))
            }
        }
    }
}

fn transport_reason(e: &TransportError) -> String {
    format!("{:?}", e.kind()).to_lowercase()
}

/// The path of a path-and-query, for messages (queries may carry codes).
fn path_only(path_and_query: &str) -> &str {
    path_and_query
        .split_once('?')
        .map_or(path_and_query, |(p, _)| p)
}

struct CheckResult {
    name: &'static str,
    outcome: Result<(), String>,
}

struct Probe {
    http: Http,
    client_id: String,
    secret: SecretString,
    redirect_uri: String,
    results: Vec<CheckResult>,
    /// Headers of every token endpoint answer, for the cache header check.
    token_answers: Vec<(String, HeaderMap)>,
    /// Every token endpoint error answer, for the error body check.
    error_answers: Vec<(String, Response<Bytes>)>,
}

const NOT_RUN_NO_CODE: &str = "not run: no authorization code";
const NOT_RUN_NO_TOKENS: &str = "not run: the code exchange failed";
