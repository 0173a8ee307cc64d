//! `gameauth vegaslounge serve` as a process: demo login, the whole code flow, clean shutdown.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

mod support;

use support::ServerProcess;

fn start(args: &[&str], envs: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start(args, |command| {
        command.envs(envs.iter().copied());
    })
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let pair = v.split(';').next()?;
            let (k, val) = pair.split_once('=')?;
            (k == name).then(|| val.to_owned())
        })
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    let end = html[start..].find('"').unwrap();
    html[start..start + end].replace("&amp;", "&")
}

fn query_of(location: &str) -> HashMap<String, String> {
    let query = location.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

async fn form(client: &reqwest::Client, url: String, body: String) -> reqwest::Response {
    client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[cfg(unix)]
#[cfg(unix)]
#[tokio::test]
async fn demo_server_logs_in_completes_the_code_flow_and_stops_on_sigterm() {
    let mut server = start(&["vegaslounge", "serve", "--listen", "127.0.0.1:0"], &[]);
    let base = server.base.clone();
    let client = http();

    assert_eq!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Vegas Lounge sends the browser to authorize; nobody is logged in yet.
    let authorize = format!(
        "{base}/oauth2.0/authorize?response_type=code&client_id=VL001&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live&state=s%26t"
    );
    let response = client.get(&authorize).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let login_location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(login_location.starts_with("/login?return_to="));

    // The login form, with its CSRF token.
    let response = client
        .get(format!("{base}{login_location}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let csrf_cookie = set_cookie(&response, "gameauth_csrf");
    let html = response.text().await.unwrap();
    let csrf = hidden_field(&html, "csrf");
    let return_to = hidden_field(&html, "return_to");
    assert_eq!(csrf, csrf_cookie);
    assert!(return_to.starts_with("/oauth2.0/authorize?"));

    // A post without the CSRF cookie is refused.
    let login_body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("username", "alice")
        .append_pair("password", "alice-pass")
        .append_pair("return_to", &return_to)
        .append_pair("csrf", &csrf)
        .finish();
    let refused = form(&client, format!("{base}/login"), login_body.clone()).await;
    assert_eq!(refused.status(), 403);

    let response = client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &base)
        .header("cookie", format!("gameauth_csrf={csrf_cookie}"))
        .body(login_body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], return_to.as_str());
    let session_header = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("gameauth_session="))
        .unwrap();
    assert!(
        session_header.contains("HttpOnly")
            && session_header.contains("SameSite=Lax")
            && session_header.contains("Secure"),
        "{session_header}"
    );
    let session = set_cookie(&response, "gameauth_session");

    // Back to authorize, logged in: a code for the registered redirect URI.
    let response = client
        .get(format!("{base}{return_to}"))
        .header("cookie", format!("gameauth_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://fl.vegaslounge.live/?code="),
        "{location}"
    );
    let params = query_of(&location);
    assert_eq!(params["state"], "s&t");
    let code = &params["code"];

    // Vegas Lounge's server side: code → token → refresh → account.
    let (status, tokens) = json(
        form(
            &client,
            format!("{base}/oauth2.0/token"),
            format!("grant_type=authorization_code&code={code}&client_id=VL001&client_secret=demo-secret"),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = json(
        form(
            &client,
            format!("{base}/oauth2.0/refresh"),
            format!("grant_type=refresh_token&refresh_token={refresh}&client_id=VL001&client_secret=demo-secret"),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let access = refreshed["access_token"].as_str().unwrap();
    let response = client
        .get(format!("{base}/account?client_id=VL001"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let body = response.text().await.unwrap();
    assert_eq!(
        body,
        r#"{"playerId":"a3u","sessionId":"HfuXQCzhIn","currency":"USD","balance":405.64,"language":"en_EN","playerName":"highroller335","avatarUrl":"https://img.operator.com/avatar.png","homeUrl":"https://www.operator.com","playerType":"REAL","partner":"partner123"}"#
    );
    let (status, replay) = json(
        form(
            &client,
            format!("{base}/oauth2.0/token"),
            format!("grant_type=authorization_code&code={code}&client_id=VL001&client_secret=demo-secret"),
        )
        .await,
    )
    .await;
    assert_eq!((status, replay["errorCode"].as_i64()), (401, Some(1001)));

    server.terminate();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    let rest = server.rest_of_stderr();
    assert!(rest.iter().any(|l| l == "stopped"), "{rest:#?}");
    for secret in ["alice-pass", code.as_str(), access, refresh] {
        assert!(
            !rest.iter().any(|l| l.contains(secret)),
            "a secret reached the log"
        );
    }
}

/// A fresh login form: its token (also the cookie's value).
async fn login_form(client: &reqwest::Client, base: &str) -> (String, String) {
    let response = client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = set_cookie(&response, "gameauth_csrf");
    let html = response.text().await.unwrap();
    (hidden_field(&html, "csrf"), cookie)
}

/// Posts the login form as a browser on `origin` would.
async fn post_login(
    client: &reqwest::Client,
    base: &str,
    origin: Option<&str>,
    (csrf, cookie): &(String, String),
    username: &str,
    password: &str,
) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("username", username)
        .append_pair("password", password)
        .append_pair("return_to", "/")
        .append_pair("csrf", csrf)
        .finish();
    let mut request = client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("gameauth_csrf={cookie}"))
        .body(body);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap()
}

#[cfg(unix)]
#[tokio::test]
async fn demo_login_form_tokens_work_once_and_only_from_this_site() {
    let server = start(&["vegaslounge", "serve", "--listen", "127.0.0.1:0"], &[]);
    let base = server.base.clone();
    let client = http();
    // A post from another site, or one that names no origin at all, is refused.
    let form = login_form(&client, &base).await;
    for origin in [Some("https://evil.example"), Some("null"), None] {
        let refused = post_login(&client, &base, origin, &form, "alice", "alice-pass").await;
        assert_eq!(refused.status(), 403, "{origin:?}");
    }
    // A wrong password uses the form up: the same token cannot be tried again.
    let form = login_form(&client, &base).await;
    let wrong = post_login(&client, &base, Some(&base), &form, "alice", "wrong").await;
    assert_eq!(wrong.status(), 401);
    let again = post_login(&client, &base, Some(&base), &form, "alice", "alice-pass").await;
    assert_eq!(again.status(), 403, "a used form token is refused");
    let fresh = login_form(&client, &base).await;
    let ok = post_login(&client, &base, Some(&base), &fresh, "alice", "alice-pass").await;
    assert_eq!(ok.status(), 303);
    server.terminate();
}

#[cfg(unix)]
#[tokio::test]
async fn demo_login_is_throttled_per_username_and_per_address() {
    let path = write_config(
        "serve-login-throttle.toml",
        &format!(
            "{CONFIG}\n[login]\nmax_failures = 3\nwindow_secs = 600\nsecure_cookies = false\n"
        ),
    );
    let server = start(
        &["vegaslounge", "serve", "--config", path.to_str().unwrap()],
        &[("GAMEAUTH_TEST_VL777_SECRET", "from-the-environment")],
    );
    let base = server.base.clone();
    let client = http();
    for _ in 0..3 {
        let form = login_form(&client, &base).await;
        let wrong = post_login(&client, &base, Some(&base), &form, "bob", "guess").await;
        assert_eq!(wrong.status(), 401);
    }
    // Even the right password is refused now, with the time to wait.
    let form = login_form(&client, &base).await;
    let refused = post_login(&client, &base, Some(&base), &form, "bob", "bob-pass").await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&wait), "{wait}");
    // Without `Secure` when so configured (a plain-http demo on another host).
    let session = refused
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert!(session.iter().all(|c| !c.contains("Secure")), "{session:?}");
    server.terminate();
}

fn write_config(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const CONFIG: &str = r#"
listen = "127.0.0.1:0"
[store]
kind = "memory"
[security]
allow_ips = ["127.0.0.1/32"]
error_style = "rfc6749"
[[clients]]
client_id = "VL777"
client_secret_env = "GAMEAUTH_TEST_VL777_SECRET"
redirect_uris = ["https://fl.vegaslounge.live/cb"]
[[players]]
username = "bob"
password = "bob-pass"
player_id = "p-bob"
player_name = "Bob"
currency = "EUR"
balance = "12.5"
language = "en_EN"
player_type = "REAL"
"#;

#[cfg(unix)]
#[tokio::test]
async fn config_file_with_client_secret_env_is_served() {
    let path = write_config("serve-env.toml", CONFIG);
    let server = start(
        &["vegaslounge", "serve", "--config", path.to_str().unwrap()],
        &[("GAMEAUTH_TEST_VL777_SECRET", "from-the-environment")],
    );
    let client = http();
    let (status, body) = json(
        form(
            &client,
            format!("{}/oauth2.0/token", server.base),
            "grant_type=authorization_code&code=x&client_id=VL777&client_secret=from-the-environment".into(),
        )
        .await,
    )
    .await;
    // The secret from the environment authenticated; the code is simply unknown (RFC style).
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    server.terminate();
}

/// Reads until the server closes the connection; `None` when it stays open for `wait`.
async fn closed_within(stream: &mut tokio::net::TcpStream, wait: Duration) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(wait, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(out)
}

#[cfg(unix)]
#[tokio::test]
async fn slow_clients_beyond_the_file_descriptor_limit_never_starve_healthz_or_the_token_endpoint()
{
    use tokio::io::AsyncWriteExt as _;
    // 64 open files for the whole process, 80 half-sent requests: the attack that used to make
    // /healthz time out until the clients gave up.
    let path = write_config(
        "serve-slow-clients.toml",
        &format!("{CONFIG}\n[http]\nheader_read_timeout_ms = 2000\n"),
    );
    let server = ServerProcess::start_with_open_files_limit(
        64,
        &["vegaslounge", "serve", "--config", path.to_str().unwrap()],
        |command| {
            command.env("GAMEAUTH_TEST_VL777_SECRET", "from-the-environment");
        },
    );
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..80 {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(b"POST /oauth2.0/token HTTP/1.1\r\nHost: operator\r\nContent-Ty")
            .await
            .unwrap();
        slow.push(stream);
    }
    let client = http();
    let margin = Duration::from_secs(30);
    let health = tokio::time::timeout(
        margin,
        client.get(format!("{}/healthz", server.base)).send(),
    )
    .await
    .expect("/healthz answered")
    .unwrap();
    assert_eq!(health.status(), 200);
    let token = tokio::time::timeout(
        margin,
        form(
            &client,
            format!("{}/oauth2.0/token", server.base),
            "grant_type=authorization_code&code=x&client_id=VL777&client_secret=from-the-environment".into(),
        ),
    )
    .await
    .expect("the token endpoint answered");
    assert_eq!(token.status(), 400, "answered: the code is unknown");
    // Every half-sent request is closed, unanswered: at its header deadline, or earlier to free a
    // file descriptor.
    for stream in &mut slow {
        let answer = closed_within(stream, margin).await.expect("closed");
        assert!(answer.is_empty());
    }
    server.terminate();
}

#[test]
fn unreachable_redis_store_exits_with_2_without_printing_the_url() {
    // A port nobody listens on: bound, read, released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = write_config(
        "serve-redis.toml",
        &CONFIG.replace(
            "kind = \"memory\"",
            &format!(
                "kind = \"redis\"\nurl = \"redis://:pw-sentinel@127.0.0.1:{port}/\"\ntimeout_ms = 200"
            ),
        ),
    );
    let output = Command::new(env!("CARGO_BIN_EXE_gameauth"))
        .args(["vegaslounge", "serve", "--config", path.to_str().unwrap()])
        .env("GAMEAUTH_TEST_VL777_SECRET", "x")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot use the Redis store"), "{stderr}");
    assert!(!stderr.contains("pw-sentinel"), "{stderr}");
}

#[test]
fn missing_secret_variable_and_bad_files_exit_with_2() {
    let path = write_config("serve-noenv.toml", CONFIG);
    let output = Command::new(env!("CARGO_BIN_EXE_gameauth"))
        .args(["vegaslounge", "serve", "--config", path.to_str().unwrap()])
        .env_remove("GAMEAUTH_TEST_VL777_SECRET")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("GAMEAUTH_TEST_VL777_SECRET"));

    let output = Command::new(env!("CARGO_BIN_EXE_gameauth"))
        .args([
            "vegaslounge",
            "serve",
            "--config",
            "/nonexistent/gameauth.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));

    let output = Command::new(env!("CARGO_BIN_EXE_gameauth"))
        .args(["vegaslounge", "serve", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "usage errors exit with 2");
}

#[test]
fn help_is_available_on_every_command() {
    for args in [
        &["--help"][..],
        &["vegaslounge", "--help"],
        &["vegaslounge", "serve", "--help"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_gameauth"))
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("Usage"));
    }
}
