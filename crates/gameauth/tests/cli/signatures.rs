//! `omg sign|verify` and `creditpay sign|verify` against the known-answer vectors of the
//! contracts, so a wrong signing rule fails here.

use serde_json::json;

use crate::{TempFile, gameauth};

const OMG_KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";
const O1_QUERY: &str = "trace_id=dhf1aboc1iio";
const O1_BODY: &str = r#"{"player_logon_token":"b27cfe9b-f01c-11ee-a0b5-000c2901d9cc","account_id":"1002402","timestamp":1711971655}"#;
const O1_SIGN: &str = "e3f8dc79e875e46f6755ef540c2d24f3";
const O4_BODY: &str =
    r#"{"app_id":"10013","uname":"10032355","nickname":"Bill","timestamp":1711954264,"cid":0}"#;
const O4_SIGN: &str = "7387fcf664c067bcbfffbde11ef96f51";
const O7_BODY: &str = r#"{"app_id":"10013","uname":"u1","nickname":"玩家","timestamp":1711954264}"#;
const O7_SIGN: &str = "a3470a084d54d77ac854b2d2af9a0705";

const CP_KEY: &str = "18dd8a3c8003d2adcd13cb9981618bedd759a19f697a46d270542c6023479a08f541a5fa7f2e09a6f93cab7fe5de3b1b465abxxx";
const CP_PATH: &str = "/v1/platform/identify/auth";
const BODY0: &str = r#"{"customer_token":"a1472263c7b97095f095cb62477c-4420-8e2e-8a156axxxxxx","customer_no":"473_32_86000698","callback_url":"https://credit-pre.aatest.online/payment/callback","token_expire":1732521424191,"client_ip":"192.168.1.166"}"#;
const C1_SIGNATURE: &str = "qKAfzANeovNTa2dQpIlOWIibZ/U=";
const C2_SIGNATURE: &str = "Awat5GV9RdpOb8EPcVwiBYHC2ZQ=";
const C9_BODY: &str = r#"{"credit_limit_tag":"外部系统卡唯一标识"}"#;
const C9_SIGNATURE: &str = "DD6cFGs/7NOgLBkk+/BhCJrd39o=";

fn omg(args: &[&str]) -> crate::Run {
    gameauth(args, &[("OMG_SIGN_KEY", OMG_KEY)])
}

fn creditpay(args: &[&str]) -> crate::Run {
    gameauth(args, &[("CREDITPAY_SIGNATURE_KEY", CP_KEY)])
}

#[test]
fn omg_sign_reproduces_the_official_vector_o1() {
    let run = omg(&["omg", "sign", "--query", O1_QUERY, "--body", O1_BODY]);
    run.expect_code(0);
    assert_eq!(run.json(), json!({ "sign": O1_SIGN }));
}

#[test]
fn omg_sign_reads_the_exact_bytes_of_a_body_file() {
    let file = TempFile::with(O4_BODY.as_bytes());
    let run = omg(&[
        "omg",
        "sign",
        "--query",
        "trace_id=k3n9x0q2m7ab",
        "--body-file",
        file.path(),
    ]);
    run.expect_code(0);
    assert_eq!(run.json(), json!({ "sign": O4_SIGN }));
}

#[test]
fn omg_sign_signs_utf8_bytes_of_non_ascii_text() {
    let run = omg(&[
        "omg",
        "sign",
        "--query",
        "trace_id=k3n9x0q2m7ab",
        "--body",
        O7_BODY,
    ]);
    run.expect_code(0);
    assert_eq!(run.json()["sign"], O7_SIGN);
}

#[test]
fn a_body_file_trailing_newline_is_signed_and_pointed_out() {
    let file = TempFile::with(format!("{O4_BODY}\n").as_bytes());
    let run = omg(&[
        "omg",
        "sign",
        "--query",
        "trace_id=k3n9x0q2m7ab",
        "--body-file",
        file.path(),
    ]);
    run.expect_code(0);
    assert_ne!(
        run.json()["sign"],
        O4_SIGN,
        "the newline is part of the body"
    );
    assert!(run.stderr.contains("line break"), "{}", run.stderr);
}

#[test]
fn omg_explain_shows_the_string_to_sign_with_the_key_masked() {
    let run = omg(&[
        "omg",
        "sign",
        "--query",
        O1_QUERY,
        "--body",
        O1_BODY,
        "--explain",
    ]);
    run.expect_code(0);
    let out = run.json();
    assert_eq!(out["sign"], O1_SIGN);
    assert_eq!(out["string_to_sign"], format!("{O1_QUERY}{O1_BODY}<key>"));
    run.never_shows(OMG_KEY);
}

#[test]
fn omg_key_file_is_read_without_its_trailing_newline() {
    let key = TempFile::with(format!("{OMG_KEY}\n").as_bytes());
    let run = gameauth(
        &[
            "omg",
            "sign",
            "--query",
            O1_QUERY,
            "--body",
            O1_BODY,
            "--key-file",
            key.path(),
        ],
        &[],
    );
    run.expect_code(0);
    assert_eq!(run.json()["sign"], O1_SIGN);
}

#[test]
fn omg_sign_refuses_a_query_with_its_question_mark() {
    let run = omg(&[
        "omg",
        "sign",
        "--query",
        "?trace_id=dhf1aboc1iio",
        "--body",
        O1_BODY,
    ]);
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "usage");
    assert!(
        run.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("trace_id")
    );
}

#[test]
fn omg_verify_accepts_o1_in_either_hex_case() {
    for sign in [O1_SIGN.to_owned(), O1_SIGN.to_ascii_uppercase()] {
        let run = omg(&[
            "omg", "verify", "--query", O1_QUERY, "--body", O1_BODY, "--sign", &sign,
        ]);
        run.expect_code(0);
        assert_eq!(run.json(), json!({ "valid": true }));
    }
}

#[test]
fn omg_verify_refuses_a_flipped_digit_with_exit_1() {
    let flipped = format!("{}2", &O1_SIGN[..31]);
    let run = omg(&[
        "omg", "verify", "--query", O1_QUERY, "--body", O1_BODY, "--sign", &flipped,
    ]);
    run.expect_code(1);
    assert_eq!(run.json(), json!({ "valid": false }));
}

#[test]
fn omg_verify_refuses_a_re_serialised_body() {
    let spaced = O1_BODY.replace("\",\"", "\", \"");
    let run = omg(&[
        "omg", "verify", "--query", O1_QUERY, "--body", &spaced, "--sign", O1_SIGN,
    ]);
    run.expect_code(1);
    assert_eq!(run.json(), json!({ "valid": false }));
}

#[test]
fn omg_verify_refuses_the_question_mark_vector_o3() {
    let run = omg(&[
        "omg",
        "verify",
        "--query",
        "?trace_id=dhf1aboc1iio",
        "--body",
        O1_BODY,
        "--sign",
        "5bcbfeb52f1dfb860177935e08e446f0",
    ]);
    run.expect_code(1);
    assert_eq!(run.json(), json!({ "valid": false }));
}

const O5_QUERY: &str = "trace_id=omgtrace000001";
const O5_BODY: &str = r#"{"app_id":"10013","timestamp":1711954264,"operator_player_session":"50f15a92-ee8d-11ee-9a61-00ff3fae08f7","ip":"127.0.0.1","custom_parameter":"","game_id":1}"#;
const O5_SIGN: &str = "ce6993bb75920fd40b14125702a87501";

fn omg_verify(query: &str, body: &str, sign: &str, extra: &[&str]) -> crate::Run {
    let mut args = vec![
        "omg", "verify", "--query", query, "--body", body, "--sign", sign,
    ];
    args.extend_from_slice(extra);
    omg(&args)
}

fn signed_now(query: &str) -> (String, String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = O5_BODY.replace("1711954264", &now.to_string());
    let sign = gameauth_omg::sign::sign(query, body.as_bytes(), &OMG_KEY.into());
    (body, sign)
}

#[test]
fn omg_verify_session_applies_the_300_second_window_by_default() {
    let (body, sign) = signed_now(O5_QUERY);
    let fresh = omg_verify(O5_QUERY, &body, &sign, &["--callback", "verify-session"]);
    fresh.expect_code(0);
    assert_eq!(fresh.json(), json!({ "valid": true }));
    // Vector O5 was signed in 2024: stale for verify_session, fine as a bare signature.
    let stale = omg_verify(
        O5_QUERY,
        O5_BODY,
        O5_SIGN,
        &["--callback", "verify-session"],
    );
    stale.expect_code(1);
    assert_eq!(stale.json(), json!({ "valid": false }));
    assert!(
        stale.stderr.contains("freshness window"),
        "{}",
        stale.stderr
    );
    omg_verify(O5_QUERY, O5_BODY, O5_SIGN, &[]).expect_code(0);
    omg_verify(O5_QUERY, O5_BODY, O5_SIGN, &["--callback", "get-balance"]).expect_code(1);
}

#[test]
fn omg_verify_session_window_can_be_widened_or_switched_off() {
    let ten_years = (10 * 366 * 24 * 3600).to_string();
    for extra in [
        vec!["--freshness-window-secs", ten_years.as_str()],
        vec!["--no-freshness-window"],
    ] {
        let mut args = vec!["--callback", "verify-session"];
        args.extend(extra);
        omg_verify(O5_QUERY, O5_BODY, O5_SIGN, &args).expect_code(0);
    }
    let narrow = omg_verify(
        O5_QUERY,
        O5_BODY,
        O5_SIGN,
        &[
            "--callback",
            "verify-session",
            "--freshness-window-secs",
            "60",
        ],
    );
    narrow.expect_code(1);
}

#[test]
fn omg_verify_window_flags_need_a_timestamped_callback() {
    for extra in [
        &["--no-freshness-window"][..],
        &["--freshness-window-secs", "300"][..],
        &["--callback", "any", "--no-freshness-window"][..],
        &[
            "--callback",
            "verify-session",
            "--no-freshness-window",
            "--freshness-window-secs",
            "60",
        ][..],
    ] {
        let run = omg_verify(O5_QUERY, O5_BODY, O5_SIGN, extra);
        run.expect_code(2);
        assert_eq!(run.json()["error"]["kind"], "usage", "{extra:?}");
    }
}

#[test]
fn omg_verify_accepts_a_printable_trace_id_unless_a_stricter_rule_is_asked() {
    let query = "trace_id=OMG:2024/04/01+trace%20%2301";
    let sign = gameauth_omg::sign::sign(query, O1_BODY.as_bytes(), &OMG_KEY.into());
    omg_verify(query, O1_BODY, &sign, &[]).expect_code(0);
    let strict = omg_verify(query, O1_BODY, &sign, &["--trace-id-chars", "alphanumeric"]);
    strict.expect_code(1);
    assert_eq!(strict.json(), json!({ "valid": false }));
    omg_verify(
        O1_QUERY,
        O1_BODY,
        O1_SIGN,
        &["--trace-id-chars", "alphanumeric"],
    )
    .expect_code(0);
    omg_verify(O1_QUERY, O1_BODY, O1_SIGN, &["--trace-id-max-len", "11"]).expect_code(1);
    omg_verify(O1_QUERY, O1_BODY, O1_SIGN, &["--trace-id-max-len", "12"]).expect_code(0);
}

#[test]
fn omg_verify_trace_id_length_is_1_to_128() {
    for len in ["0", "129"] {
        let run = omg_verify(O1_QUERY, O1_BODY, O1_SIGN, &["--trace-id-max-len", len]);
        run.expect_code(2);
        assert_eq!(run.json()["error"]["kind"], "usage");
    }
    let long = format!("trace_id={}", "a".repeat(129));
    let sign = gameauth_omg::sign::sign(&long, O1_BODY.as_bytes(), &OMG_KEY.into());
    omg_verify(&long, O1_BODY, &sign, &[]).expect_code(1);
}

#[test]
fn creditpay_sign_reproduces_the_official_vector_c1() {
    let run = creditpay(&["creditpay", "sign", "--path", CP_PATH, "--body", BODY0]);
    run.expect_code(0);
    assert_eq!(run.json(), json!({ "signature": C1_SIGNATURE }));
}

#[test]
fn creditpay_sign_reproduces_the_non_ascii_vector_c9() {
    let run = creditpay(&["creditpay", "sign", "--path", CP_PATH, "--body", C9_BODY]);
    run.expect_code(0);
    assert_eq!(run.json()["signature"], C9_SIGNATURE);
}

#[test]
fn creditpay_explain_shows_path_and_body_and_never_the_key() {
    let file = TempFile::with(BODY0.as_bytes());
    let run = creditpay(&[
        "creditpay",
        "sign",
        "--path",
        CP_PATH,
        "--body-file",
        file.path(),
        "--explain",
    ]);
    run.expect_code(0);
    let out = run.json();
    assert_eq!(out["signature"], C1_SIGNATURE);
    assert_eq!(out["string_to_sign"], format!("{CP_PATH}{BODY0}"));
    run.never_shows(CP_KEY);
}

#[test]
fn creditpay_sign_refuses_a_path_with_a_query() {
    let path = format!("{CP_PATH}?plat_id=328cf95950f54f89a2dd4c3bf98ac5fb");
    let run = creditpay(&["creditpay", "sign", "--path", &path, "--body", BODY0]);
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "usage");
}

#[test]
fn creditpay_verify_accepts_c1() {
    let run = creditpay(&[
        "creditpay",
        "verify",
        "--path",
        CP_PATH,
        "--body",
        BODY0,
        "--signature",
        C1_SIGNATURE,
    ]);
    run.expect_code(0);
    assert_eq!(run.json(), json!({ "valid": true }));
}

#[test]
fn creditpay_verify_refuses_the_prefix_kept_vector_c2_with_exit_1() {
    let run = creditpay(&[
        "creditpay",
        "verify",
        "--path",
        CP_PATH,
        "--body",
        BODY0,
        "--signature",
        C2_SIGNATURE,
    ]);
    run.expect_code(1);
    assert_eq!(run.json(), json!({ "valid": false }));
}
