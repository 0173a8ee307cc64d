//! `gameauth vegaslounge serve` instances on a Redis deployment, and the browser and Vegas
//! Lounge calls the process tests make against them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use testkit::redis::{Deployment, RedisServer};

use super::ServerProcess;

/// The client secret of every configuration made here.
pub(crate) const SECRET: &str = "redis-instances-secret";

/// How long the tests give a replica to acknowledge a decision (`[store.replicas]`).
pub(crate) const ACK_WAIT_MS: u64 = 1000;

/// The `[store]` section for a plain `redis-server`.
pub(crate) fn plain_store(redis: &RedisServer) -> String {
    format!(
        "[store]\nkind = \"redis\"\nurl = \"{}\"\nkey_prefix = \"vl:\"\n",
        redis.url()
    )
}

/// The `[store]` section and its tables for `deployment`, with replica confirmation where it
/// has replicas.
pub(crate) fn deployment_store(deployment: &Deployment) -> String {
    let mut out =
        String::from("[store]\nkind = \"redis\"\nkey_prefix = \"vl:\"\ntimeout_ms = 3000\n");
    match deployment {
        Deployment::Tls(server) => {
            let certs = server
                .certificates()
                .expect("a TLS server has certificates");
            out.push_str(&format!(
                "url = \"{}\"\n[store.tls]\nca_file = \"{}\"\nclient_cert_file = \"{}\"\nclient_key_file = \"{}\"\n",
                server.url(),
                certs.ca().display(),
                certs.client_cert().display(),
                certs.client_key().display(),
            ));
        }
        Deployment::Sentinel(set) => {
            out.push_str(&format!(
                "[store.sentinel]\nservice_name = \"{}\"\nsentinels = {:?}\n",
                testkit::redis::SERVICE,
                set.sentinel_addresses()
            ));
        }
        Deployment::Cluster(cluster) => {
            out.push_str(&format!(
                "[store.cluster]\nnodes = {:?}\n",
                cluster.node_urls()
            ));
        }
    }
    if deployment.has_replicas() {
        out.push_str(&format!(
            "[store.replicas]\nwait_for = 1\ntimeout_ms = {ACK_WAIT_MS}\n"
        ));
    }
    out
}

/// A whole `serve` configuration: `store` (from [`plain_store`] or [`deployment_store`]),
/// client `VL001`, and one demo player per name in `players` (password `pw-<name>`, player id
/// `player-<name>`). Every login comes from 127.0.0.1 and the demo login holds a place in its
/// per-address limit while a password is checked, so the limit is raised far above the number
/// of logins a test makes at once.
pub(crate) fn serve_config(store: &str, players: &[String], revoke_on_logout: bool) -> String {
    let mut out = format!(
        "listen = \"127.0.0.1:0\"\n{store}\n[tokens]\nrefresh_grace_secs = 60\nrevoke_on_logout = {revoke_on_logout}\n\
         [login]\nmax_failures = 100000\n\
         [security]\nallow_ips = [\"127.0.0.1/32\"]\n\
         [[clients]]\nclient_id = \"VL001\"\nclient_secret = \"{SECRET}\"\nredirect_uris = [\"https://fl.vegaslounge.live\"]\n"
    );
    for name in players {
        out.push_str(&format!(
            "[[players]]\nusername = \"{name}\"\npassword = \"pw-{name}\"\nplayer_id = \"player-{name}\"\n\
             player_name = \"Player {name}\"\ncurrency = \"USD\"\nbalance = \"405.64\"\nlanguage = \"en_EN\"\nplayer_type = \"REAL\"\n"
        ));
    }
    out
}

/// Writes `text` to a fresh file in the test's temporary directory.
pub(crate) fn write_config(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("{name}-{}.toml", std::process::id()));
    std::fs::write(&path, text).expect("write the serve configuration");
    path
}

/// One `gameauth vegaslounge serve` process on a Redis store.
pub(crate) struct Instance(pub(crate) ServerProcess);

impl std::ops::Deref for Instance {
    type Target = ServerProcess;

    fn deref(&self) -> &ServerProcess {
        &self.0
    }
}

impl Instance {
    /// Starts the server with `config` and checks it uses the Redis store.
    pub(crate) fn start(config: &Path) -> Self {
        let config = config.to_str().expect("UTF-8 path");
        let server = ServerProcess::start(&["vegaslounge", "serve", "--config", config], |_| {});
        assert!(
            server
                .startup
                .iter()
                .any(|l| l.contains("grant store: redis")),
            "{:#?}",
            server.startup
        );
        Self(server)
    }

    /// Stops it with SIGTERM and checks the clean exit.
    pub(crate) fn stop(mut self) {
        self.0.terminate();
        let exit = self.0.child.wait().unwrap();
        assert!(exit.success(), "{exit}");
    }
}

/// A client that does not follow redirects.
pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (k, val) = v.split(';').next()?.split_once('=')?;
            (k == name).then(|| val.to_owned())
        })
}

fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    let end = html[start..].find('"').unwrap();
    html[start..start + end].replace("&amp;", "&")
}

/// The authorize request the tests make.
pub(crate) const AUTHORIZE: &str = "/oauth2.0/authorize?response_type=code&client_id=VL001&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live";

/// What the demo login answered.
#[derive(Debug)]
pub(crate) enum LoggedIn {
    /// The session cookie's value.
    Session(String),
    /// 503: the login's attempt limit lives in the store, and the store is unavailable.
    Unavailable,
}

/// Logs `user` in on `base` through the demo login.
pub(crate) async fn login(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> Result<LoggedIn, reqwest::Error> {
    let return_to: String = url::form_urlencoded::byte_serialize(AUTHORIZE.as_bytes()).collect();
    let page = client
        .get(format!("{base}/login?return_to={return_to}"))
        .send()
        .await?;
    assert_eq!(page.status(), 200);
    let csrf_cookie = cookie(&page, "gameauth_csrf").expect("a CSRF cookie");
    let html = page.text().await?;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("username", user)
        .append_pair("password", password)
        .append_pair("return_to", &hidden_field(&html, "return_to"))
        .append_pair("csrf", &hidden_field(&html, "csrf"))
        .finish();
    let login = client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", base)
        .header("cookie", format!("gameauth_csrf={csrf_cookie}"))
        .body(body)
        .send()
        .await?;
    if login.status() == 503 {
        return Ok(LoggedIn::Unavailable);
    }
    assert_eq!(login.status(), 303);
    Ok(LoggedIn::Session(
        cookie(&login, "gameauth_session").expect("a session cookie"),
    ))
}

/// What the authorize endpoint answered.
#[derive(Debug)]
pub(crate) enum Authorized {
    /// A redirect with a code.
    Code(String),
    /// A redirect with `error=server_error`: the store was unavailable.
    ServerError,
    /// Anything else: status and `Location`.
    Other(u16, String),
}

/// Authorizes with the session `session` on `base`.
pub(crate) async fn authorize(
    client: &reqwest::Client,
    base: &str,
    session: &str,
) -> Result<Authorized, reqwest::Error> {
    let redirect = client
        .get(format!("{base}{AUTHORIZE}"))
        .header("cookie", format!("gameauth_session={session}"))
        .send()
        .await?;
    let status = redirect.status().as_u16();
    let location = redirect
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let query = location.split_once('?').map_or("", |(_, q)| q);
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    Ok(match (status, params.get("code"), params.get("error")) {
        (302, Some(code), _) if location.starts_with("https://fl.vegaslounge.live") => {
            Authorized::Code(code.clone())
        }
        (302, None, Some(e)) if e == "server_error" => Authorized::ServerError,
        _ => Authorized::Other(status, location),
    })
}

/// Logs player `p0` in on `base` and returns a fresh code.
pub(crate) async fn code_from(client: &reqwest::Client, base: &str) -> String {
    let LoggedIn::Session(session) = login(client, base, "p0", "pw-p0").await.unwrap() else {
        panic!("the demo login answered 503");
    };
    match authorize(client, base, &session).await.unwrap() {
        Authorized::Code(code) => code,
        other => panic!("no code: {other:?}"),
    }
}

/// POSTs `form` (plus the client's credentials) to the token endpoint of `base`.
pub(crate) async fn token(
    client: &reqwest::Client,
    base: &str,
    form: &[(&str, &str)],
) -> Result<(u16, serde_json::Value), reqwest::Error> {
    let mut all = form.to_vec();
    all.extend([("client_id", "VL001"), ("client_secret", SECRET)]);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(all)
        .finish();
    let response = client
        .post(format!("{base}/oauth2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    json_answer(response).await
}

/// The status and the JSON body (`Null` when the body is not JSON).
async fn json_answer(
    response: reqwest::Response,
) -> Result<(u16, serde_json::Value), reqwest::Error> {
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    ))
}

/// `GET /account` with `access` on `base`.
pub(crate) async fn account(
    client: &reqwest::Client,
    base: &str,
    access: &str,
) -> Result<(u16, serde_json::Value), reqwest::Error> {
    let response = client
        .get(format!("{base}/account?client_id=VL001"))
        .bearer_auth(access)
        .send()
        .await?;
    json_answer(response).await
}

/// `GET /logout` with the session `session` on `base`; returns the status.
pub(crate) async fn logout(
    client: &reqwest::Client,
    base: &str,
    session: &str,
) -> Result<u16, reqwest::Error> {
    let response = client
        .get(format!("{base}/logout"))
        .header("cookie", format!("gameauth_session={session}"))
        .send()
        .await?;
    Ok(response.status().as_u16())
}

/// Whether `(status, body)` is the clean outage answer: 503 with Vegas Lounge code 1003.
pub(crate) fn is_clean_503(status: u16, body: &serde_json::Value) -> bool {
    status == 503 && body["errorCode"] == 1003
}
