//! A stand-in for Acme's sandbox, to try the recorder without one.
//!
//! It answers `POST /verify` as Acme's documentation says, after checking the request's
//! signature with `ACME_SIGNING_KEY`: a token `player-<n>` belongs to player `<n>`, a token
//! `expired-…` is refused with code 7, any other with code 8; a bad signature gets a 401.
//!
//! ```text
//! ACME_SIGNING_KEY=… cargo run -p acme-auth --example sandbox -- 127.0.0.1:8700
//! ```

use std::process::ExitCode;

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers like Acme.
struct Sandbox {
    key: String,
}

fn answer(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
}

impl Respond for Sandbox {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.method.as_str() != "POST" || request.url.path() != acme_auth::VERIFY_PATH {
            return ResponseTemplate::new(404);
        }
        let expected = acme_auth::sign(self.key.as_bytes(), acme_auth::VERIFY_PATH, &request.body);
        let presented = request.headers.get("signature").map(|v| v.as_bytes());
        if presented != Some(expected.as_bytes()) {
            return ResponseTemplate::new(401).set_body_raw(
                r#"{"ok":false,"code":1,"message":"bad signature"}"#,
                "application/json",
            );
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let token = body["token"].as_str().unwrap_or_default();
        match token.strip_prefix("player-") {
            Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => answer(
                json!({"ok": true, "player": {"id": id.parse::<u64>().unwrap_or(0), "name": format!("Player {id}")}}),
            ),
            _ if token.starts_with("expired-") => {
                answer(json!({"ok": false, "code": 7, "message": "token expired"}))
            }
            _ => answer(json!({"ok": false, "code": 8, "message": "unknown token"})),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let key = match std::env::var("ACME_SIGNING_KEY") {
        Ok(key) if !key.is_empty() => key,
        _ => {
            eprintln!("error: set ACME_SIGNING_KEY to the key the sandbox checks signatures with");
            return ExitCode::from(2);
        }
    };
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8700".to_owned());
    let listener = match std::net::TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    let server = MockServer::builder().listener(listener).start().await;
    Mock::given(any())
        .respond_with(Sandbox { key })
        .mount(&server)
        .await;
    eprintln!(
        "Acme sandbox stand-in listening on {}; stop with Ctrl-C",
        server.uri()
    );
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
