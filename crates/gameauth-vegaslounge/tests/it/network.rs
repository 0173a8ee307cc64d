//! The IP allow-list, forwarded headers, the body limit and the axum router on a real socket.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use gameauth_vegaslounge::{NetworkPolicy, ThrottleConfig};
use http::Request;

use crate::{Harness, assert_vl_error, code_form, form_post};

fn vl_only() -> NetworkPolicy {
    NetworkPolicy::new(["13.232.208.217/32".parse().unwrap()])
}

#[tokio::test]
async fn restricted_routes_refuse_unlisted_peers_with_403_before_parsing_credentials() {
    let h = Harness::with(|c| {
        c.network = vl_only();
        c.throttle = ThrottleConfig::new(1, std::time::Duration::from_secs(60));
    });
    let code = h.code().await;
    let bad_secret =
        format!("grant_type=authorization_code&code={code}&client_id=VL001&client_secret=bad");
    for request in [
        form_post("/oauth2.0/token", &bad_secret),
        form_post("/oauth2.0/refresh", "garbage"),
        Request::get("/oauth2.0/token").body(Bytes::new()).unwrap(),
        Request::get("/account")
            .header("authorization", "Bearer x")
            .body(Bytes::new())
            .unwrap(),
    ] {
        let response = h.send_from(request, "203.0.113.9:4000").await;
        assert_vl_error(&response, 403, 1001);
    }
    // The refused request never reached client authentication: no throttling was recorded.
    let response = h
        .send_from(
            form_post("/oauth2.0/token", &code_form(&code)),
            "13.232.208.217:4000",
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn browser_routes_are_not_ip_restricted() {
    let h = Harness::with(|c| c.network = vl_only());
    let response = h
        .send_from(
            Request::get("/logout").body(Bytes::new()).unwrap(),
            "203.0.113.9:4000",
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let h = Harness::with(|c| c.network = vl_only());
    let code = h.code().await;
    let mut request = form_post("/oauth2.0/token", &code_form(&code));
    request
        .headers_mut()
        .insert("x-forwarded-for", "13.232.208.217".parse().unwrap());
    request
        .headers_mut()
        .insert("forwarded", "for=13.232.208.217".parse().unwrap());
    assert_vl_error(&h.send_from(request, "203.0.113.9:4000").await, 403, 1001);
}

#[tokio::test]
async fn trusted_proxy_forwarded_for_is_read_right_to_left() {
    let h = Harness::with(|c| {
        c.network = vl_only().with_trusted_proxies(["10.0.0.0/8".parse().unwrap()]);
    });
    let code = h.code().await;
    let send = |xff: &'static str| {
        let mut request = form_post("/oauth2.0/token", &code_form(&code));
        request
            .headers_mut()
            .insert("x-forwarded-for", xff.parse().unwrap());
        h.send_from(request, "10.0.0.5:443")
    };
    // The caller prepended the allowed address; the proxy appended the real one.
    assert_vl_error(&send("13.232.208.217, 203.0.113.9").await, 403, 1001);
    assert_eq!(
        send("203.0.113.9, 13.232.208.217, 10.0.0.7").await.status(),
        200
    );
}

#[tokio::test]
async fn ipv4_mapped_ipv6_peers_are_normalised() {
    let h = Harness::with(|c| c.network = vl_only());
    let code = h.code().await;
    let response = h
        .send_from(
            form_post("/oauth2.0/token", &code_form(&code)),
            "[::ffff:13.232.208.217]:4000",
        )
        .await;
    assert_eq!(response.status(), 200);
}

async fn serve(h: &Harness, with_connect_info: bool) -> SocketAddr {
    let app = gameauth_vegaslounge::router(Arc::clone(&h.server));
    let limits = h.server.config().http;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if with_connect_info {
            gameauth_vegaslounge::serve(listener, app, limits, std::future::pending())
                .await
                .unwrap();
        } else {
            axum::serve(listener, app).await.unwrap();
        }
    });
    addr
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn body_over_1_mib_gets_413() {
    let h = Harness::new();
    let addr = serve(&h, true).await;
    let big = format!(
        "grant_type=authorization_code&pad={}",
        "x".repeat(1024 * 1024)
    );
    let response = http_client()
        .post(format!("http://{addr}/oauth2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let json: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(json["errorCode"], 1007);

    let response = h.send(form_post("/oauth2.0/token", &big)).await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn router_without_connect_info_fails_closed() {
    let h = Harness::new();
    let addr = serve(&h, false).await;
    let response = http_client()
        .post(format!("http://{addr}/oauth2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(code_form("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn router_serves_the_contract_on_a_real_socket() {
    let h = Harness::new();
    let addr = serve(&h, true).await;
    let code = h.code().await;
    let client = http_client();
    let response = client
        .post(format!("http://{addr}/oauth2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(code_form(&code))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let missing = client
        .get(format!("http://{addr}/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    let put = client
        .put(format!("http://{addr}/oauth2.0/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 405);
}
