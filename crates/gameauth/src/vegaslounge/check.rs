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

/// `scheme://host[:port][/prefix]` without a trailing `/`, query or fragment.
fn base_url(raw: &str) -> Result<String, Failure> {
    let bad = || {
        Failure::usage(
            "--base-url must be an http(s) URL without query, e.g. http://127.0.0.1:8080",
        )
    };
    let url = Url::parse(raw).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(bad());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
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

impl Probe {
    async fn run(&mut self, source: CodeSource) {
        let code = match source {
            CodeSource::Given(code) => Some(code),
            CodeSource::Login { username, password } => {
                let result = self.login(&username, &password).await;
                let code = result.as_ref().ok().cloned();
                self.record("login", result.map(drop));
                code
            }
        };

        let tokens = match &code {
            Some(code) => {
                let result = self.exchange(code).await;
                let tokens = match &result {
                    Ok(t) => Some(Tokens {
                        access: t.access.clone(),
                        refresh: t.refresh.clone(),
                    }),
                    Err(_) => None,
                };
                self.record("code exchange", result.map(drop));
                tokens
            }
            None => {
                self.record("code exchange", Err(NOT_RUN_NO_CODE.into()));
                None
            }
        };

        let outcome = match &tokens {
            Some(t) => self.account(&t.access).await,
            None => Err(NOT_RUN_NO_TOKENS.into()),
        };
        self.record("account", outcome);

        let refresh = tokens.as_ref().and_then(|t| t.refresh.clone());
        let outcome = self.wrong_secret(refresh.as_deref()).await;
        self.record("wrong secret refused", outcome);

        let outcome = match &tokens {
            Some(Tokens {
                access,
                refresh: Some(refresh),
            }) => self.refresh(access, refresh).await,
            Some(_) => Err("the code exchange returned no refresh_token".into()),
            None => Err(NOT_RUN_NO_TOKENS.into()),
        };
        self.record("refresh", outcome);

        let outcome = match (&code, &tokens) {
            (Some(code), Some(_)) => self.replay(code).await,
            (Some(_), None) => Err(NOT_RUN_NO_TOKENS.into()),
            (None, _) => Err(NOT_RUN_NO_CODE.into()),
        };
        self.record("code replay refused", outcome);

        let outcome = self.unknown_grant().await;
        self.record("unknown grant type", outcome);

        let outcome = self.error_bodies();
        self.record("error body shape", outcome);

        let outcome = self.cache_headers();
        self.record("cache headers", outcome);
    }

    fn record(&mut self, name: &'static str, outcome: Result<(), String>) {
        match &outcome {
            Ok(()) => eprintln!("PASS {name}"),
            Err(reason) => eprintln!("FAIL {name}: {reason}"),
        }
        self.results.push(CheckResult { name, outcome });
    }

    fn report(&self) -> Result<Value, Failure> {
        let passed = self.results.iter().filter(|r| r.outcome.is_ok()).count();
        let failed = self.results.len() - passed;
        let summary = format!("{passed} passed, {failed} failed");
        eprintln!("{summary}");
        let checks: Vec<Value> = self
            .results
            .iter()
            .map(|r| match &r.outcome {
                Ok(()) => json!({ "name": r.name, "passed": true }),
                Err(reason) => json!({ "name": r.name, "passed": false, "reason": reason }),
            })
            .collect();
        let body = json!({
            "passed": passed,
            "failed": failed,
            "summary": summary,
            "checks": checks,
        });
        if failed == 0 {
            Ok(body)
        } else {
            Err(Failure::refused(
                body,
                format!("{failed} of {} checks failed", self.results.len()),
            ))
        }
    }

    /// The demo-login contract: the form, the login, then the authorize redirect with a code.
    async fn login(&mut self, username: &str, password: &SecretString) -> Result<String, String> {
        let authorize = format!(
            "{AUTHORIZE_PATH}?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .finish()
        );
        let mut jar = Jar::default();
        let form_page = format!(
            "{LOGIN_PATH}?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("return_to", &authorize)
                .finish()
        );
        let response = self
            .http
            .send(Method::GET, &form_page, vec![], Bytes::new())
            .await?;
        jar.store(response.headers());
        if response.status() != StatusCode::OK {
            return Err(format!(
                "GET /login answered HTTP {}",
                response.status().as_u16()
            ));
        }
        let html = String::from_utf8_lossy(response.body());
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in hidden_inputs(&html) {
            if !matches!(name.as_str(), "username" | "password" | "return_to") {
                form.append_pair(&name, &value);
            }
        }
        let form = form
            .append_pair("username", username)
            .append_pair("password", password.expose_secret())
            .append_pair("return_to", &authorize)
            .finish();
        let mut headers = vec![(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        )];
        // A browser names the page's origin on a form post; logins refuse posts without one.
        let origin = Url::parse(&self.http.base)
            .ok()
            .and_then(|u| HeaderValue::from_str(&u.origin().ascii_serialization()).ok());
        headers.extend(origin.map(|o| (http::header::ORIGIN, o)));
        headers.extend(jar.header());
        let response = self
            .http
            .send(Method::POST, LOGIN_PATH, headers, Bytes::from(form))
            .await?;
        jar.store(response.headers());
        match response.status().as_u16() {
            302 | 303 => {}
            401 => return Err("POST /login answered 401: wrong username or password".into()),
            status => return Err(format!("POST /login answered HTTP {status}, expected 303")),
        }
        let response = self
            .http
            .send(
                Method::GET,
                &authorize,
                jar.header().into_iter().collect(),
                Bytes::new(),
            )
            .await?;
        if !matches!(response.status().as_u16(), 302 | 303) {
            return Err(format!(
                "GET /oauth2.0/authorize after login answered HTTP {}, expected 302 to the \
                 redirect URI",
                response.status().as_u16()
            ));
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or("GET /oauth2.0/authorize redirected without a Location")?;
        code_from_location(location, &self.redirect_uri)
    }

    /// Sends a form to a token endpoint and keeps what the cache and error checks need.
    async fn token_request(
        &mut self,
        label: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<Response<Bytes>, String> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            form.append_pair(k, v);
        }
        let headers = vec![
            (
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            ),
            (ACCEPT, HeaderValue::from_static("application/json")),
        ];
        let response = self
            .http
            .send(Method::POST, path, headers, Bytes::from(form.finish()))
            .await?;
        self.token_answers
            .push((label.to_owned(), response.headers().clone()));
        if response.status().is_client_error() || response.status().is_server_error() {
            self.error_answers
                .push((label.to_owned(), response.clone()));
        }
        Ok(response)
    }

    async fn exchange(&mut self, code: &str) -> Result<Tokens, String> {
        let secret = self.secret.expose_secret().to_owned();
        let client_id = self.client_id.clone();
        let response = self
            .token_request(
                "code exchange",
                TOKEN_PATH,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("client_id", &client_id),
                    ("client_secret", &secret),
                ],
            )
            .await?;
        tokens(&response).map_err(|e| format!("POST {TOKEN_PATH}: {e}"))
    }

    async fn account(&mut self, access: &str) -> Result<(), String> {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .finish();
        let bearer = HeaderValue::from_str(&format!("Bearer {access}"))
            .map_err(|_| "the access token cannot be sent in a header".to_owned())?;
        let response = self
            .http
            .send(
                Method::GET,
                &format!("{ACCOUNT_PATH}?{query}"),
                vec![
                    (AUTHORIZATION, bearer),
                    (ACCEPT, HeaderValue::from_static("application/json")),
                ],
                Bytes::new(),
            )
            .await?;
        account_shape(&response).map_err(|e| format!("GET {ACCOUNT_PATH}: {e}"))
    }

    async fn wrong_secret(&mut self, refresh: Option<&str>) -> Result<(), String> {
        let client_id = self.client_id.clone();
        // A live refresh token makes the client credentials the only thing wrong; without one, a
        // made-up code (refused either way, but still with the client error first).
        let response = match refresh {
            Some(refresh) => {
                self.token_request(
                    "wrong secret",
                    TOKEN_PATH,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", refresh),
                        ("client_id", &client_id),
                        ("client_secret", WRONG_SECRET),
                    ],
                )
                .await?
            }
            None => {
                self.token_request(
                    "wrong secret",
                    TOKEN_PATH,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", "gameauth-check-made-up-code"),
                        ("client_id", &client_id),
                        ("client_secret", WRONG_SECRET),
                    ],
                )
                .await?
            }
        };
        expect_error(&response, (401, 1001), (&[400, 401], "invalid_client"))
    }

    async fn refresh(&mut self, old_access: &str, old_refresh: &str) -> Result<(), String> {
        let secret = self.secret.expose_secret().to_owned();
        let client_id = self.client_id.clone();
        let form = |refresh: &str| {
            [
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", refresh.to_owned()),
                ("client_id", client_id.clone()),
                ("client_secret", secret.clone()),
            ]
        };
        let fields = form(old_refresh);
        let response = self
            .token_request("refresh", REFRESH_PATH, &borrowed(&fields))
            .await?;
        let first = tokens(&response).map_err(|e| format!("POST {REFRESH_PATH}: {e}"))?;
        let Some(next_refresh) = first.refresh else {
            return Err(format!(
                "POST {REFRESH_PATH} returned no new refresh_token (rotation)"
            ));
        };
        if next_refresh == old_refresh {
            return Err(format!(
                "POST {REFRESH_PATH} returned the same refresh token (no rotation)"
            ));
        }
        if first.access == old_access {
            return Err(format!(
                "POST {REFRESH_PATH} returned the same access token"
            ));
        }
        // Using the successor first makes the old token a reuse even inside a grace window in
        // which a repeated request would legitimately get the same answer again.
        let fields = form(&next_refresh);
        let response = self
            .token_request("second refresh", TOKEN_PATH, &borrowed(&fields))
            .await?;
        tokens(&response)
            .map_err(|e| format!("POST {TOKEN_PATH} with the rotated refresh token: {e}"))?;
        let fields = form(old_refresh);
        let response = self
            .token_request("old refresh token", TOKEN_PATH, &borrowed(&fields))
            .await?;
        expect_error(&response, (401, 1001), (&[400], "invalid_grant"))
            .map_err(|e| format!("the old refresh token after rotation: {e}"))
    }

    async fn replay(&mut self, code: &str) -> Result<(), String> {
        let secret = self.secret.expose_secret().to_owned();
        let client_id = self.client_id.clone();
        let response = self
            .token_request(
                "code replay",
                TOKEN_PATH,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("client_id", &client_id),
                    ("client_secret", &secret),
                ],
            )
            .await?;
        expect_error(&response, (401, 1001), (&[400], "invalid_grant"))
    }

    async fn unknown_grant(&mut self) -> Result<(), String> {
        let secret = self.secret.expose_secret().to_owned();
        let client_id = self.client_id.clone();
        let response = self
            .token_request(
                "unknown grant type",
                TOKEN_PATH,
                &[
                    ("grant_type", UNKNOWN_GRANT),
                    ("client_id", &client_id),
                    ("client_secret", &secret),
                ],
            )
            .await?;
        expect_error(&response, (400, 1007), (&[400], "unsupported_grant_type"))
    }

    fn error_bodies(&self) -> Result<(), String> {
        if self.error_answers.is_empty() {
            return Err("no error answer to inspect".into());
        }
        let problems: Vec<String> = self
            .error_answers
            .iter()
            .filter_map(|(label, response)| {
                error_shape(response).err().map(|e| format!("{label}: {e}"))
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    fn cache_headers(&self) -> Result<(), String> {
        if self.token_answers.is_empty() {
            return Err("no token endpoint answer to inspect".into());
        }
        let missing: Vec<String> = self
            .token_answers
            .iter()
            .filter_map(|(label, headers)| {
                let mut lacks = Vec::new();
                if !has_token(headers, &CACHE_CONTROL, "no-store") {
                    lacks.push("Cache-Control: no-store");
                }
                if !has_token(headers, &PRAGMA, "no-cache") {
                    lacks.push("Pragma: no-cache");
                }
                (!lacks.is_empty()).then(|| format!("{label} lacks {}", lacks.join(" and ")))
            })
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing.join("; "))
        }
    }
}

fn borrowed<'a>(fields: &'a [(&'static str, String); 4]) -> [(&'static str, &'a str); 4] {
    fields.each_ref().map(|(k, v)| (*k, v.as_str()))
}

/// Whether a comma-separated header has `token` (case-insensitive) in any of its values.
fn has_token(headers: &HeaderMap, name: &http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn is_json(response: &Response<Bytes>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json") || v.to_ascii_lowercase().ends_with("+json")
        })
}

fn json_object(response: &Response<Bytes>) -> Result<Map<String, Value>, String> {
    if !is_json(response) {
        return Err("Content-Type is not application/json".into());
    }
    match serde_json::from_slice::<Value>(response.body()) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the body is not a JSON object".into()),
        Err(_) => Err("the body is not JSON".into()),
    }
}

/// A short, printable excerpt of text the deployment sent.
fn quote(text: &str) -> String {
    let clean = gameauth_core::error::sanitize_message(text);
    match clean.char_indices().nth(MAX_QUOTE) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean,
    }
}

/// What an error answer says, for a reason line.
fn error_summary(response: &Response<Bytes>) -> String {
    let status = response.status().as_u16();
    match serde_json::from_slice::<Value>(response.body()) {
        Ok(Value::Object(map)) => {
            let code = map.get("errorCode").map(|c| format!(" errorCode {c}"));
            let text = map
                .get("error")
                .and_then(Value::as_str)
                .map(|e| format!(" \"{}\"", quote(e)));
            format!(
                "HTTP {status}{}{}",
                code.unwrap_or_default(),
                text.unwrap_or_default()
            )
        }
        _ => format!("HTTP {status}"),
    }
}

/// A successful token answer: 200 JSON with `access_token`, optional `token_type` (Bearer),
/// `expires_in` (positive integer) and `refresh_token`.
fn tokens(response: &Response<Bytes>) -> Result<Tokens, String> {
    if response.status() != StatusCode::OK {
        return Err(format!("expected 200, got {}", error_summary(response)));
    }
    let map = json_object(response)?;
    let access = map
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("access_token is missing or not a non-empty string")?;
    let bearer = |t: &Value| t.as_str().is_some_and(|t| t.eq_ignore_ascii_case("bearer"));
    if map.get("token_type").is_some_and(|t| !bearer(t)) {
        return Err("token_type is not \"Bearer\"".into());
    }
    let positive = |e: &Value| e.as_u64().is_some_and(|n| n > 0);
    if map.get("expires_in").is_some_and(|e| !positive(e)) {
        return Err("expires_in is not a positive integer".into());
    }
    let refresh = match map.get("refresh_token") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .filter(|s| !s.is_empty())
                .ok_or("refresh_token is not a non-empty string")?
                .to_owned(),
        ),
    };
    Ok(Tokens {
        access: access.to_owned(),
        refresh,
    })
}

/// The account answer: 200 JSON with `playerId`, `currency` (ISO 4217) and a numeric `balance`;
/// the other documented fields are strings when present.
fn account_shape(response: &Response<Bytes>) -> Result<(), String> {
    if response.status() != StatusCode::OK {
        return Err(format!("expected 200, got {}", error_summary(response)));
    }
    let map = json_object(response)?;
    let player_id_ok = map
        .get("playerId")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    if !player_id_ok {
        return Err("playerId is missing or not a non-empty string".into());
    }
    let currency_ok = map
        .get("currency")
        .and_then(Value::as_str)
        .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()));
    if !currency_ok {
        return Err("currency is missing or not a three-letter ISO 4217 code".into());
    }
    if !map.get("balance").is_some_and(Value::is_number) {
        return Err("balance is missing or not a JSON number".into());
    }
    for field in [
        "sessionId",
        "language",
        "playerName",
        "avatarUrl",
        "homeUrl",
        "playerType",
        "partner",
    ] {
        if map
            .get(field)
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            return Err(format!("{field} is not a string"));
        }
    }
    Ok(())
}

/// Checks a refusal: in the Vegas Lounge style the given status and `errorCode`, in the RFC 6749
/// style one of the statuses and the error class. A body of neither style is judged by status
/// alone here (the error body check reports the body).
fn expect_error(
    response: &Response<Bytes>,
    (vl_status, vl_code): (u16, i64),
    (rfc_statuses, rfc_error): (&[u16], &str),
) -> Result<(), String> {
    let status = response.status().as_u16();
    if response.status().is_success() {
        return Err(format!("accepted (HTTP {status})"));
    }
    let body = serde_json::from_slice::<Value>(response.body()).ok();
    let map = body.as_ref().and_then(Value::as_object);
    if let Some(code) = map.and_then(|m| m.get("errorCode")) {
        if status == vl_status && code.as_i64() == Some(vl_code) {
            return Ok(());
        }
        return Err(format!(
            "expected HTTP {vl_status} errorCode {vl_code}, got {}",
            error_summary(response)
        ));
    }
    if let Some(error) = map.and_then(|m| m.get("error")).and_then(Value::as_str) {
        if rfc_statuses.contains(&status) && error == rfc_error {
            return Ok(());
        }
        return Err(format!(
            "expected HTTP {} {rfc_error}, got HTTP {status} \"{}\"",
            join_statuses(rfc_statuses),
            quote(error)
        ));
    }
    if status == vl_status || rfc_statuses.contains(&status) {
        Ok(())
    } else {
        Err(format!("expected HTTP {vl_status}, got HTTP {status}"))
    }
}

fn join_statuses(statuses: &[u16]) -> String {
    statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// An error answer is JSON in the Vegas Lounge style (`errorCode` integer, `error` text) or the
/// RFC 6749 style (`error` class, optional `error_description`), with single-line texts.
fn error_shape(response: &Response<Bytes>) -> Result<(), String> {
    let status = response.status().as_u16();
    let map = json_object(response).map_err(|e| format!("HTTP {status}: {e}"))?;
    let single_line = |s: &str| !s.contains(['\r', '\n', '\t']);
    let text = map.get("error").and_then(Value::as_str);
    if let Some(code) = map.get("errorCode") {
        if !code.is_i64() {
            return Err(format!("HTTP {status}: errorCode is not an integer"));
        }
        return match text {
            Some(t) if !t.is_empty() && single_line(t) => Ok(()),
            _ => Err(format!(
                "HTTP {status}: error is missing, empty or not one line of text"
            )),
        };
    }
    match text {
        Some(class) if RFC_ERRORS.contains(&class) => match map.get("error_description") {
            None => Ok(()),
            Some(Value::String(d)) if single_line(d) => Ok(()),
            Some(_) => Err(format!(
                "HTTP {status}: error_description is not one line of text"
            )),
        },
        Some(other) => Err(format!(
            "HTTP {status}: neither errorCode nor an RFC 6749 error class (error \"{}\")",
            quote(other)
        )),
        None => Err(format!("HTTP {status}: no errorCode and no error field")),
    }
}

/// The code in the authorize redirect, which must go to the registered redirect URI.
fn code_from_location(location: &str, redirect_uri: &str) -> Result<String, String> {
    let redirect_uri = Url::parse(redirect_uri)
        .map_err(|_| "the redirect URI is not an absolute URL".to_owned())?;
    let target = Url::parse(location)
        .map_err(|_| "the authorize redirect is not an absolute URL".to_owned())?;
    let same_endpoint = target.scheme() == redirect_uri.scheme()
        && target.host_str() == redirect_uri.host_str()
        && target.port_or_known_default() == redirect_uri.port_or_known_default()
        && target.path() == redirect_uri.path();
    if !same_endpoint {
        return Err(format!(
            "the authorize redirect goes to {}{} instead of the redirect URI",
            target.origin().ascii_serialization(),
            target.path()
        ));
    }
    let param = |name: &str| {
        target
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(error) = param("error") {
        return Err(format!(
            "the authorize redirect carries error={}",
            quote(&error)
        ));
    }
    param("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| "the authorize redirect has no code".to_owned())
}

/// Cookies set by the deployment during the login, sent back on the next requests.
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn store(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE).iter() {
            let Ok(value) = value.to_str() else { continue };
            let mut parts = value.split(';');
            let Some((name, val)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, val) = (name.trim(), val.trim());
            let expired =
                val.is_empty() || parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            self.0.retain(|(n, _)| n != name);
            if !expired {
                self.0.push((name.to_owned(), val.to_owned()));
            }
        }
    }

    fn header(&self) -> Option<(http::HeaderName, HeaderValue)> {
        if self.0.is_empty() {
            return None;
        }
        let joined = self
            .0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        HeaderValue::from_str(&joined).ok().map(|v| (COOKIE, v))
    }
}

/// The `name`/`value` of every `<input type="hidden">` in a page (the login form's CSRF field and
/// whatever else the deployment needs posted back).
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    // ASCII lower-casing keeps byte offsets, so positions found in `lower` index `html`.
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find("<input") {
        let start = at + found + "<input".len();
        let end = lower[start..].find('>').map_or(html.len(), |i| start + i);
        let attrs = attributes(&html[start..end]);
        let get = |key: &str| {
            attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        let hidden = get("type").is_some_and(|t| t.eq_ignore_ascii_case("hidden"));
        if let (true, Some(name)) = (hidden, get("name")) {
            out.push((name, get("value").unwrap_or_default()));
        }
        at = end;
    }
    out
}

/// The attributes of a tag's inside: `name`, `name=value`, `name="value"`, `name='value'`.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = tag;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            break;
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        rest = rest[name_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (raw, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let close = inner.find(q).unwrap_or(inner.len());
                    (&inner[..close], inner.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = unescape(raw);
            rest = remaining;
        }
        if name.is_empty() {
            // A stray `=`: skip one character so the loop always advances.
            rest = rest.get(1..).unwrap_or("");
        } else {
            out.push((name.to_owned(), value));
        }
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, content_type: &str, body: &str) -> Response<Bytes> {
        Response::builder()
            .status(status)
            .header(CONTENT_TYPE, content_type)
            .body(Bytes::from(body.to_owned()))
            .unwrap()
    }

    #[test]
    fn hidden_inputs_are_found_with_any_quoting_and_unescaped() {
        let html = r#"<form><input type="hidden" name="csrf" value="abc">
            <INPUT TYPE=hidden NAME=return_to VALUE='/a?b=1&amp;c=2'/>
            <input name="username"><input type="password" name="password"></form>"#;
        assert_eq!(
            hidden_inputs(html),
            vec![
                ("csrf".to_owned(), "abc".to_owned()),
                ("return_to".to_owned(), "/a?b=1&c=2".to_owned()),
            ]
        );
    }

    #[test]
    fn malformed_tags_do_not_loop_or_panic() {
        for html in [
            "<input",
            "<input =",
            "<input type=\"hidden",
            "<input name= >",
            "<input ==>",
        ] {
            let _ = hidden_inputs(html);
        }
    }

    #[test]
    fn the_code_comes_from_a_redirect_to_the_registered_uri_only() {
        let uri = "https://fl.vegaslounge.live";
        assert_eq!(
            code_from_location("https://fl.vegaslounge.live/?code=xyz", uri).unwrap(),
            "xyz"
        );
        assert_eq!(
            code_from_location("https://fl.vegaslounge.live?code=a%2Bb", uri).unwrap(),
            "a+b"
        );
        let elsewhere = code_from_location("https://evil.example/?code=secret-code", uri);
        let reason = elsewhere.unwrap_err();
        assert!(!reason.contains("secret-code"), "{reason}");
        assert!(
            code_from_location("https://fl.vegaslounge.live/?error=access_denied", uri).is_err()
        );
        assert!(code_from_location("https://fl.vegaslounge.live/", uri).is_err());
    }

    #[test]
    fn cookies_are_replaced_and_expired() {
        let mut jar = Jar::default();
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
        h.append(SET_COOKIE, HeaderValue::from_static("b=2; HttpOnly"));
        jar.store(&h);
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("a=; Max-Age=0"));
        h.append(SET_COOKIE, HeaderValue::from_static("b=3"));
        jar.store(&h);
        assert_eq!(jar.header().unwrap().1, "b=3");
    }

    #[test]
    fn token_answers_need_an_access_token_and_sane_fields() {
        let ok = response(
            200,
            "application/json",
            r#"{"access_token":"a","token_type":"Bearer","expires_in":3600,"refresh_token":"r"}"#,
        );
        let t = tokens(&ok).unwrap();
        assert_eq!((t.access.as_str(), t.refresh.as_deref()), ("a", Some("r")));
        for bad in [
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token":""}"#,
            r#"{"access_token":"a","token_type":"mac"}"#,
            r#"{"access_token":"a","expires_in":"3600"}"#,
            r#"{"access_token":"a","refresh_token":7}"#,
        ] {
            assert!(
                tokens(&response(200, "application/json", bad)).is_err(),
                "{bad}"
            );
        }
        assert!(tokens(&response(200, "text/html", r#"{"access_token":"a"}"#)).is_err());
        assert!(tokens(&response(401, "application/json", r#"{"errorCode":1001}"#)).is_err());
    }

    #[test]
    fn account_needs_player_id_currency_and_a_numeric_balance() {
        let ok = r#"{"playerId":"a3u","currency":"USD","balance":405.64,"language":"en_EN"}"#;
        assert!(account_shape(&response(200, "application/json", ok)).is_ok());
        for bad in [
            r#"{"currency":"USD","balance":1}"#,
            r#"{"playerId":"a","currency":"usd","balance":1}"#,
            r#"{"playerId":"a","currency":"USD","balance":"1.00"}"#,
            r#"{"playerId":"a","currency":"USD","balance":1,"playerName":5}"#,
        ] {
            assert!(
                account_shape(&response(200, "application/json", bad)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn refusals_are_judged_in_either_error_style() {
        let vl = response(401, "application/json", r#"{"errorCode":1001,"error":"x"}"#);
        assert!(expect_error(&vl, (401, 1001), (&[400], "invalid_grant")).is_ok());
        let wrong_code = response(401, "application/json", r#"{"errorCode":1007,"error":"x"}"#);
        assert!(expect_error(&wrong_code, (401, 1001), (&[400], "invalid_grant")).is_err());
        let rfc = response(400, "application/json", r#"{"error":"invalid_grant"}"#);
        assert!(expect_error(&rfc, (401, 1001), (&[400], "invalid_grant")).is_ok());
        let accepted = response(200, "application/json", r#"{"access_token":"a"}"#);
        assert!(expect_error(&accepted, (401, 1001), (&[400], "invalid_grant")).is_err());
    }

    #[test]
    fn error_bodies_are_one_of_the_two_styles() {
        let ok = [
            r#"{"errorCode":1007,"error":"Validation error. Don't retry."}"#,
            r#"{"error":"invalid_grant","error_description":"the code is not valid"}"#,
        ];
        for body in ok {
            assert!(
                error_shape(&response(400, "application/json", body)).is_ok(),
                "{body}"
            );
        }
        let bad = [
            r#"{"errorCode":"1007","error":"x"}"#,
            r#"{"errorCode":1007}"#,
            r#"{"errorCode":1007,"error":"two\nlines"}"#,
            r#"{"error":"nope"}"#,
            r#"{"message":"x"}"#,
            "not json",
        ];
        for body in bad {
            assert!(
                error_shape(&response(400, "application/json", body)).is_err(),
                "{body}"
            );
        }
        assert!(error_shape(&response(400, "text/plain", r#"{"error":"invalid_grant"}"#)).is_err());
    }

    #[test]
    fn cache_tokens_are_matched_in_lists() {
        let mut h = HeaderMap::new();
        h.insert(CACHE_CONTROL, HeaderValue::from_static("private, No-Store"));
        assert!(has_token(&h, &CACHE_CONTROL, "no-store"));
        assert!(!has_token(&h, &PRAGMA, "no-cache"));
    }
}
