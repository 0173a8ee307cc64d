//! Item 1: OMG and Credit Pay signing and verification against a bare MD5 / HMAC-SHA1 over the
//! same bytes, written by hand with the same hash crates.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gameauth_core::KeyRing;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use secrecy::SecretString;
use serde_json::json;
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::Settings;
use crate::report::{Bound, Row};
use crate::stats::{Paired, calibrate, ns_per_iter};

/// OMG's official vector O1: query, body and the dummy key of the contract.
const OMG_QUERY: &str = "trace_id=dhf1aboc1iio";
const OMG_BODY: &[u8] = br#"{"player_logon_token":"b27cfe9b-f01c-11ee-a0b5-000c2901d9cc","account_id":"1002402","timestamp":1711971655}"#;
const OMG_KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";
const OMG_SIGN: &str = "e3f8dc79e875e46f6755ef540c2d24f3";

/// Credit Pay's official vector C1.
const CP_PATH: &str = "/v1/platform/identify/auth";
const CP_BODY: &[u8] = br#"{"customer_token":"a1472263c7b97095f095cb62477c-4420-8e2e-8a156axxxxxx","customer_no":"473_32_86000698","callback_url":"https://credit-pre.aatest.online/payment/callback","token_expire":1732521424191,"client_ip":"192.168.1.166"}"#;
const CP_KEY: &str = "18dd8a3c8003d2adcd13cb9981618bedd759a19f697a46d270542c6023479a08f541a5fa7f2e09a6f93cab7fe5de3b1b465abxxx";
const CP_SIGNATURE: &str = "qKAfzANeovNTa2dQpIlOWIibZ/U=";

const TARGET: f64 = 1.25;

/// The hand-written OMG signature: MD5 over query, body and key, lower-case hex.
fn bare_md5_sign(query: &str, body: &[u8], key: &str) -> String {
    let mut h = Md5::new();
    h.update(query.as_bytes());
    h.update(body);
    h.update(key.as_bytes());
    hex::encode(h.finalize())
}

/// The hand-written OMG check: recompute, hex-decode the presented value, compare in constant
/// time.
fn bare_md5_verify(query: &str, body: &[u8], key: &str, presented: &str) -> bool {
    let mut h = Md5::new();
    h.update(query.as_bytes());
    h.update(body);
    h.update(key.as_bytes());
    let expected = h.finalize();
    let mut decoded = [0u8; 16];
    hex::decode_to_slice(presented, &mut decoded).is_ok()
        && bool::from(decoded.ct_eq(expected.as_slice()))
}

fn bare_hmac(key: &str, path: &str, body: &[u8]) -> [u8; 20] {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(path.as_bytes());
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The hand-written Credit Pay signature: base64 of HMAC-SHA1 over path and body.
fn bare_hmac_sign(key: &str, path: &str, body: &[u8]) -> String {
    STANDARD.encode(bare_hmac(key, path, body))
}

/// The hand-written Credit Pay check: recompute, base64-decode the presented value, compare in
/// constant time.
fn bare_hmac_verify(key: &str, path: &str, body: &[u8], presented: &str) -> bool {
    let expected = bare_hmac(key, path, body);
    let mut decoded = [0u8; 21];
    match STANDARD.decode_slice(presented, &mut decoded) {
        Ok(20) => bool::from(decoded[..20].ct_eq(&expected)),
        _ => false,
    }
}

/// Times `ours` and `baseline` alternately and returns the row.
fn compare(
    settings: &Settings,
    name: &str,
    mut ours: impl FnMut(),
    mut baseline: impl FnMut(),
) -> Row {
    let batch = Duration::from_millis(if settings.quick { 5 } else { 15 });
    let iters = calibrate(batch, &mut baseline);
    for _ in 0..3 {
        ns_per_iter(iters, &mut ours);
        ns_per_iter(iters, &mut baseline);
    }
    let reps = if settings.quick { 31 } else { 61 };
    let p = Paired::run(
        reps,
        || ns_per_iter(iters, &mut ours),
        || ns_per_iter(iters, &mut baseline),
    );
    Row::paired(
        name,
        "ns",
        &p,
        Bound::RatioAtMost(TARGET),
        json!({ "iters_per_sample": iters, "ours_ns": p.ours, "baseline_ns": p.baseline }),
    )
}

/// Runs item 1 and returns its four rows.
pub(crate) fn run(settings: &Settings) -> Result<Vec<Row>, String> {
    // Check that both sides compute the same thing before timing them.
    let omg_key = SecretString::from(OMG_KEY);
    let omg_ring = KeyRing::new(omg_key.clone());
    let cp_key = SecretString::from(CP_KEY);
    let cp_ring = KeyRing::new(cp_key.clone());
    let now = SystemTime::now;
    if gameauth_omg::sign::sign(OMG_QUERY, OMG_BODY, &omg_key) != OMG_SIGN
        || bare_md5_sign(OMG_QUERY, OMG_BODY, OMG_KEY) != OMG_SIGN
        || gameauth_omg::verify::verify(Some(OMG_QUERY), OMG_BODY, Some(OMG_SIGN), &omg_ring, now())
            .is_err()
        || !bare_md5_verify(OMG_QUERY, OMG_BODY, OMG_KEY, OMG_SIGN)
    {
        return Err("OMG signing sides disagree with the official vector".into());
    }
    if gameauth_creditpay::sign::sign(&cp_key, CP_PATH, CP_BODY) != CP_SIGNATURE
        || bare_hmac_sign(CP_KEY, CP_PATH, CP_BODY) != CP_SIGNATURE
        || gameauth_creditpay::verify::verify_signature(
            &cp_ring,
            now(),
            CP_PATH,
            CP_BODY,
            CP_SIGNATURE,
        )
        .is_err()
        || !bare_hmac_verify(CP_KEY, CP_PATH, CP_BODY, CP_SIGNATURE)
    {
        return Err("Credit Pay signing sides disagree with the official vector".into());
    }

    Ok(vec![
        compare(
            settings,
            "1a OMG sign vs bare MD5",
            || {
                black_box(gameauth_omg::sign::sign(
                    black_box(OMG_QUERY),
                    black_box(OMG_BODY),
                    &omg_key,
                ));
            },
            || {
                black_box(bare_md5_sign(
                    black_box(OMG_QUERY),
                    black_box(OMG_BODY),
                    black_box(OMG_KEY),
                ));
            },
        ),
        compare(
            settings,
            "1b OMG verify vs bare MD5 + compare",
            || {
                // A verifier reads the clock on every call (for the key-rotation window).
                let _ = black_box(gameauth_omg::verify::verify(
                    Some(black_box(OMG_QUERY)),
                    black_box(OMG_BODY),
                    Some(black_box(OMG_SIGN)),
                    &omg_ring,
                    now(),
                ));
            },
            || {
                black_box(bare_md5_verify(
                    black_box(OMG_QUERY),
                    black_box(OMG_BODY),
                    black_box(OMG_KEY),
                    black_box(OMG_SIGN),
                ));
            },
        ),
        compare(
            settings,
            "1c Credit Pay sign vs bare HMAC-SHA1",
            || {
                black_box(gameauth_creditpay::sign::sign(
                    &cp_key,
                    black_box(CP_PATH),
                    black_box(CP_BODY),
                ));
            },
            || {
                black_box(bare_hmac_sign(
                    black_box(CP_KEY),
                    black_box(CP_PATH),
                    black_box(CP_BODY),
                ));
            },
        ),
        compare(
            settings,
            "1d Credit Pay verify vs bare HMAC-SHA1 + compare",
            || {
                let _ = black_box(gameauth_creditpay::verify::verify_signature(
                    &cp_ring,
                    now(),
                    black_box(CP_PATH),
                    black_box(CP_BODY),
                    black_box(CP_SIGNATURE),
                ));
            },
            || {
                black_box(bare_hmac_verify(
                    black_box(CP_KEY),
                    black_box(CP_PATH),
                    black_box(CP_BODY),
                    black_box(CP_SIGNATURE),
                ));
            },
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_baselines_reproduce_the_official_vectors() {
        assert_eq!(bare_md5_sign(OMG_QUERY, OMG_BODY, OMG_KEY), OMG_SIGN);
        assert!(bare_md5_verify(OMG_QUERY, OMG_BODY, OMG_KEY, OMG_SIGN));
        assert!(bare_md5_verify(
            OMG_QUERY,
            OMG_BODY,
            OMG_KEY,
            &OMG_SIGN.to_ascii_uppercase()
        ));
        assert!(!bare_md5_verify(OMG_QUERY, b"{}", OMG_KEY, OMG_SIGN));
        assert_eq!(bare_hmac_sign(CP_KEY, CP_PATH, CP_BODY), CP_SIGNATURE);
        assert!(bare_hmac_verify(CP_KEY, CP_PATH, CP_BODY, CP_SIGNATURE));
        assert!(!bare_hmac_verify(CP_KEY, CP_PATH, b"{}", CP_SIGNATURE));
        assert!(!bare_hmac_verify(
            CP_KEY,
            CP_PATH,
            CP_BODY,
            &CP_SIGNATURE[..27]
        ));
    }
}
