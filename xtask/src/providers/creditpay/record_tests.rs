//! Credit Pay recorded end to end: a stand-in gateway that checks the API key and the real
//! signature, the recording proxy in-process, the `gameauth-creditpay` client driven through it,
//! then the written fixture replayed and checked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use gameauth_core::{KeyRing, PlayerToken};
use serde_json::{Value, json};
use wiremock::{Respond, ResponseTemplate};

use super::{CreditPay, PUBLISHED_KEY};
use crate::providers::recording::{Recording, header, interactions, json_answer, stand_in};

const CP_REAL_SIGNATURE_KEY: &str = "d1f0c9a8b7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0";
const CP_REAL_API_KEY: &str = "ak_live_7Yq3Zp9Lm2Wx";

/// Answers like Credit Pay's docs, after checking the API key and the signature.
#[derive(Default)]
struct CreditPayStandIn {
    issued: AtomicUsize,
}

impl Respond for CreditPayStandIn {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let path = req.url.path();
        let Some(signed) = path.strip_prefix("/dg") else {
            return ResponseTemplate::new(404);
        };
        let expected = gameauth_core::sign::hmac_sha1_base64(
            CP_REAL_SIGNATURE_KEY.as_bytes(),
            &[signed.as_bytes(), &req.body],
        );
        if header(req, "api-key") != CP_REAL_API_KEY || header(req, "signature") != expected {
            return json_answer(json!({"code": 500, "msg": "signature verification failed"}));
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        if body["customer_no"] == "busy-customer" {
            return json_answer(json!({"code": 500, "msg": "system busy", "trace": "cp-9"}));
        }
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let code = format!("identcode{n}f3e2d1c0b9a8");
        json_answer(
            json!({"code": 0, "msg": "success", "trace": format!("cp-trace-{n}"),
            "data": {"ident_code": code,
                     "url": format!("https://cashier.creditpay.example/dg/oauth?ident_code={code}")}}),
        )
    }
}

#[tokio::test]
async fn creditpay_recording_replays_and_holds_no_real_value() {
    use gameauth_creditpay::{Client, IdentifyAuthRequest};
    let upstream = stand_in(CreditPayStandIn::default()).await;
    let rec = Recording::start(
        &CreditPay,
        &[
            ("CREDITPAY_SIGNATURE_KEY", CP_REAL_SIGNATURE_KEY),
            ("CREDITPAY_API_KEY", CP_REAL_API_KEY),
        ],
        &["customer_no", "custom_no", "client_ip"],
        &upstream.uri(),
    )
    .await;
    let builder = || {
        Client::builder()
            .base_url(format!("{}/dg", rec.url()))
            .plat_id("plat-0001")
            .api_key(CP_REAL_API_KEY)
            .signature_keys(KeyRing::new(CP_REAL_SIGNATURE_KEY.into()))
    };
    let client = builder().build().unwrap();
    let expire = gameauth_core::clock::unix_millis(SystemTime::now()) + 3_600_000;
    let request = |customer: &str| {
        IdentifyAuthRequest::new(
            customer,
            PlayerToken::new(format!("custtok-{customer}-aa11bb22")),
            "https://operator.example/payment/callback",
            expire,
            "203.0.113.77",
        )
    };
    let ok = client
        .identify_auth(&request("473_32_86000698"))
        .await
        .unwrap();
    let real_code = ok.ident_code.expose_secret().to_owned();
    let busy = client
        .identify_auth(&request("busy-customer").with_lang("zh-CN"))
        .await;
    assert!(matches!(
        busy,
        Err(gameauth_creditpay::Error::Rejected { .. })
    ));
    // The field table's spelling of the player's number is recorded as a step setting.
    builder()
        .customer_no_field(gameauth_creditpay::CustomerNoField::CustomNo)
        .build()
        .unwrap()
        .identify_auth(&request("field-table-customer"))
        .await
        .unwrap();

    let fixture = rec.fixture();
    assert_eq!(interactions(&fixture), 3);
    assert_eq!(fixture["steps"][2]["customer_no_field"], "custom_no");
    assert!(fixture["steps"][0].get("customer_no_field").is_none());
    assert_eq!(fixture["keys"]["api_key"], "dummy-api-key-0001");
    assert_eq!(fixture["keys"]["signature_key"], PUBLISHED_KEY);
    assert_eq!(fixture["steps"][0]["prefix"], "/dg");
    assert_eq!(
        fixture["steps"][0]["expect"]["ok"]["url"],
        "https://cashier.creditpay.example/dg/oauth?ident_code=dummy-ident-code-1"
    );
    assert_eq!(fixture["steps"][1]["input"]["lang"], "zh-CN");
    assert_eq!(
        fixture["steps"][1]["expect"],
        json!({"error": {"kind": "server_error", "message": "system busy"}})
    );
    rec.assert_replays_clean(&[
        CP_REAL_SIGNATURE_KEY,
        CP_REAL_API_KEY,
        &real_code,
        "custtok-473_32_86000698-aa11bb22",
        "473_32_86000698",
        "busy-customer",
        "field-table-customer",
        "203.0.113.77",
    ])
    .await;
}
