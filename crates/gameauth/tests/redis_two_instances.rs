//! Two `gameauth vegaslounge serve` processes sharing one Redis: a code issued through one is
//! redeemed through the other, and a replay through the first is refused and revokes the grant.
//! The README's "Running several instances (Redis)" walks through the same steps by hand.

#![cfg(unix)]

use std::collections::HashMap;

use testkit::redis::RedisServer;

const SECRET: &str = "two-instances-secret";

mod support;

use support::ServerProcess;

struct Instance(ServerProcess);

impl std::ops::Deref for Instance {
    type Target = ServerProcess;

    fn deref(&self) -> &ServerProcess {
        &self.0
    }
}

impl Instance {
    fn start(config: &std::path::Path) -> Self {
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

    fn stop(mut self) {
        self.0.terminate();
        let exit = self.0.child.wait().unwrap();
        assert!(exit.success(), "{exit}");
    }
}

fn config(redis: &RedisServer) -> String {
    format!(
        r#"
listen = "127.0.0.1:0"
[store]
kind = "redis"
url = "{url}"
key_prefix = "vl:"
[security]
allow_ips = ["127.0.0.1/32"]
[[clients]]
client_id = "VL001"
client_secret = "{SECRET}"
redirect_uris = ["https://fl.vegaslounge.live"]
[[players]]
username = "alice"
password = "alice-pass"
player_id = "a3u"
player_name = "highroller335"
currency = "USD"
balance = "405.64"
language = "en_EN"
player_type = "REAL"
"#,
        url = redis.url()
    )
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (k, val) = v.split(';').next()?.split_once('=')?;
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

/// Logs alice in on `base` through the demo login and returns the authorize redirect's code.
async fn code_from(client: &reqwest::Client, base: &str) -> String {
    let authorize = "/oauth2.0/authorize?response_type=code&client_id=VL001&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live";
    let return_to: String = url::form_urlencoded::byte_serialize(authorize.as_bytes()).collect();
    let page = client
        .get(format!("{base}/login?return_to={return_to}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csrf_cookie = cookie(&page, "gameauth_csrf");
    let html = page.text().await.unwrap();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("username", "alice")
        .append_pair("password", "alice-pass")
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
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let session = cookie(&login, "gameauth_session");
    let redirect = client
        .get(format!("{base}{authorize}"))
        .header("cookie", format!("gameauth_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 302);
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    let query = location.split_once('?').map_or("", |(_, q)| q);
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    params["code"].clone()
}

async fn token(
    client: &reqwest::Client,
    base: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
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
        .await
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap(),
    )
}

async fn account(client: &reqwest::Client, base: &str, access: &str) -> (u16, serde_json::Value) {
    let response = client
        .get(format!("{base}/account?client_id=VL001"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn code_issued_through_one_instance_is_redeemed_through_the_other_and_a_replay_through_the_first_revokes_the_grant()
 {
    let Some(redis) = RedisServer::start_or_skip("two gameauth instances") else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("redis-two-instances-{}.toml", std::process::id()));
    std::fs::write(&path, config(&redis)).unwrap();
    let a = Instance::start(&path);
    let b = Instance::start(&path);
    let client = http();

    let code = code_from(&client, &a.base).await;
    let (status, tokens) = token(
        &client,
        &b.base,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    for base in [&a.base, &b.base] {
        let (status, body) = account(&client, base, &access).await;
        assert_eq!(
            (status, body["playerId"].as_str()),
            (200, Some("a3u")),
            "{base}"
        );
    }

    // A refresh through A rotates the pair issued through B.
    let (status, rotated) = token(
        &client,
        &a.base,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new_access = rotated["access_token"].as_str().unwrap().to_owned();
    assert_eq!(account(&client, &b.base, &new_access).await.0, 200);
    assert_eq!(
        account(&client, &b.base, &access).await.0,
        401,
        "rotation killed the old pair"
    );

    // The code again, through A: refused, and every token of the grant dies on both instances.
    let (status, body) = token(
        &client,
        &a.base,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await;
    assert_eq!(
        (status, &body["errorCode"]),
        (401, &serde_json::json!(1001)),
        "{body}"
    );
    for base in [&a.base, &b.base] {
        let (status, body) = account(&client, base, &new_access).await;
        assert_eq!(
            (status, &body["errorCode"]),
            (401, &serde_json::json!(1001)),
            "{base}"
        );
    }
    let new_refresh = rotated["refresh_token"].as_str().unwrap();
    let (status, _) = token(
        &client,
        &b.base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", new_refresh),
        ],
    )
    .await;
    assert_eq!(status, 401, "the grant's refresh token is revoked too");

    a.stop();
    b.stop();
    let _ = std::fs::remove_file(&path);
}
