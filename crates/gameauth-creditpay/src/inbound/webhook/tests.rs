//! Unit tests of webhook decoding, de-duplication and handling.

use super::*;
use gameauth_core::ManualClock;

#[test]
fn every_documented_type_round_trips_and_unknown_types_are_kept() {
    for t in EventType::DOCUMENTED {
        assert_eq!(EventType::from_wire(t.as_str()), t);
    }
    assert_eq!(
        EventType::from_wire("PAY_CANCELLED"),
        EventType::Unknown("PAY_CANCELLED".into())
    );
    assert_eq!(EventType::Unknown("X".into()).as_str(), "X");
}

#[test]
fn camel_case_and_snake_case_data_keys_decode_alike() {
    let camel = br#"{"type":"PAY_SUCCESS","platform_id":"p1","retry":0,"event_id":"e1","data":{"orderNo":"O1","tradeTime":1732521424191,"merchantName":"M","chargeOrderNo":"C1","realIp":"1.2.3.4","amount":"10.50","currency":"CNY","payChannel":"alipay"}}"#;
    let snake = br#"{"type":"PAY_SUCCESS","platform_id":"p1","retry":0,"event_id":"e1","data":{"order_no":"O1","trade_time":1732521424191,"merchant_name":"M","charge_order_no":"C1","real_ip":"1.2.3.4","amount":10.50,"currency":"CNY","pay_channel":"alipay"}}"#;
    let a = decode_event(camel).unwrap();
    let b = decode_event(snake).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.data.order_no.as_deref(), Some("O1"));
    assert_eq!(a.data.trade_time.as_deref(), Some("1732521424191"));
    assert_eq!(a.data.amount.as_deref(), Some("10.50"));
    assert_eq!(
        a.data.other.get("pay_channel").map(String::as_str),
        Some("alipay")
    );
}

#[test]
fn any_repeated_key_is_refused_same_value_or_not() {
    for body in [
        &br#"{"type":"REFUND","event_id":"e","data":{"orderNo":"A","order_no":"B"}}"#[..],
        br#"{"type":"REFUND","event_id":"e","data":{"orderNo":"A","order_no":"A"}}"#,
        br#"{"type":"REFUND","event_id":"e","data":{"order_no":"A","order_no":"A"}}"#,
        br#"{"type":"REFUND","event_id":"e","data":{"order_no":"A","order_no":"B"}}"#,
    ] {
        let err = decode_event(body).unwrap_err();
        assert!(
            matches!(&err, Error::Decode(d) if d.path == "data.order_no" && d.reason == "a key is repeated"),
            "{}: {err:?}",
            String::from_utf8_lossy(body)
        );
    }
    for body in [
        &br#"{"type":"REFUND","type":"REFUND","event_id":"e","data":{}}"#[..],
        br#"{"type":"REFUND","event_id":"e","event_id":"f","data":{}}"#,
        br#"{"type":"REFUND","event_id":"e","x":1,"x":1,"data":{}}"#,
    ] {
        assert!(
            matches!(decode_event(body), Err(Error::Decode(d)) if d.reason == "a key is repeated"),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn event_id_and_type_must_be_short_printable_text() {
    let body = |kind: &str, id: &str| {
        serde_json::json!({"type": kind, "event_id": id, "data": {}}).to_string()
    };
    let id_128 = "e".repeat(MAX_EVENT_ID_BYTES);
    assert!(decode_event(body("REFUND", &id_128).as_bytes()).is_ok());
    assert!(decode_event(body("NEW_KIND-2", "6f1c-9a").as_bytes()).is_ok());
    for (kind, id, field) in [
        ("REFUND", "e1\nFAKE LOG LINE", "event_id"),
        ("REFUND", "e 1", "event_id"),
        ("REFUND", "é1", "event_id"),
        ("REFUND", &*format!("{id_128}e"), "event_id"),
        ("X\u{1b}[2J", "e1", "type"),
        (&*"T".repeat(MAX_EVENT_TYPE_BYTES + 1), "e1", "type"),
    ] {
        let outcome = decode_event(body(kind, id).as_bytes());
        assert!(
            matches!(&outcome, Err(Error::Decode(d)) if d.path == field),
            "{kind:?} {id:?}: {outcome:?}"
        );
    }
}

#[test]
fn event_id_is_required_and_amounts_stay_exact() {
    assert!(decode_event(br#"{"type":"REFUND","data":{}}"#).is_err());
    assert!(decode_event(br#"{"type":"REFUND","event_id":" ","data":{}}"#).is_err());
    assert!(decode_event(br#"{"type":"REFUND","event_id":"e","data":{"amount":"ten"}}"#).is_err());
    let e = decode_event(
        br#"{"type":"REFUND","event_id":"e","data":{"amount":12345678901234567.1234}}"#,
    )
    .unwrap();
    assert_eq!(e.data.amount.as_deref(), Some("12345678901234567.1234"));
}

#[test]
fn event_data_debug_hides_unknown_values() {
    let e = decode_event(
        br#"{"type":"SESSION_RENEWAL","event_id":"e","data":{"newToken":"sentinel-token"}}"#,
    )
    .unwrap();
    let text = format!("{e:?}");
    assert!(!text.contains("sentinel"), "{text}");
    assert!(text.contains("new_token"), "{text}");
}

#[test]
fn snake_case_conversion() {
    assert_eq!(snake_case("chargeOrderNo"), "charge_order_no");
    assert_eq!(snake_case("order_no"), "order_no");
    assert_eq!(snake_case("realIp"), "real_ip");
}

#[tokio::test]
async fn memory_store_claims_then_remembers_until_the_ttl_expires() {
    let clock = ManualClock::at_unix_seconds(1_700_000_000);
    let store = MemoryDedupStore::new(Arc::new(clock.clone()));
    let lease = DEFAULT_PROCESSING_LEASE;
    assert_eq!(store.claim("e1", lease).await.unwrap(), Recorded::New);
    assert_eq!(
        store.claim("e1", lease).await.unwrap(),
        Recorded::InProgress
    );
    store.complete("e1", MIN_DEDUP_TTL).await.unwrap();
    assert_eq!(store.claim("e1", lease).await.unwrap(), Recorded::Duplicate);
    store.forget("e1").await.unwrap();
    assert_eq!(
        store.claim("e1", lease).await.unwrap(),
        Recorded::Duplicate,
        "forget never drops a processed record"
    );
    clock.advance(MIN_DEDUP_TTL - Duration::from_secs(1));
    assert_eq!(store.claim("e1", lease).await.unwrap(), Recorded::Duplicate);
    clock.advance(Duration::from_secs(1));
    assert_eq!(store.claim("e1", lease).await.unwrap(), Recorded::New);
}

#[tokio::test]
async fn memory_store_claims_lapse_or_are_dropped() {
    let clock = ManualClock::at_unix_seconds(1_700_000_000);
    let store = MemoryDedupStore::new(Arc::new(clock.clone()));
    let lease = Duration::from_secs(60);
    assert_eq!(store.claim("e1", lease).await.unwrap(), Recorded::New);
    store.forget("e1").await.unwrap();
    assert_eq!(store.claim("e1", lease).await.unwrap(), Recorded::New);
    // A claim nobody dropped (the forget failed, the instance died) lapses.
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        store.claim("e1", lease).await.unwrap(),
        Recorded::InProgress
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(store.claim("e1", lease).await.unwrap(), Recorded::New);
}

#[tokio::test]
async fn memory_store_purges_expired_records() {
    let clock = ManualClock::at_unix_seconds(1_700_000_000);
    let store = MemoryDedupStore::new(Arc::new(clock.clone()));
    for i in 0..1500 {
        store.claim(&format!("e{i}"), MIN_DEDUP_TTL).await.unwrap();
    }
    clock.advance(MIN_DEDUP_TTL * 2);
    for i in 0..600 {
        store.claim(&format!("f{i}"), MIN_DEDUP_TTL).await.unwrap();
    }
    assert!(store.len() < 1500, "{}", store.len());
}

#[test]
fn dedup_ttl_below_24_hours_and_leases_out_of_range_are_refused() {
    struct Nop;
    #[async_trait]
    impl WebhookSink for Nop {
        async fn handle(&self, _: &WebhookDelivery) -> Result<(), AuthError> {
            Ok(())
        }
    }
    let verifier = InboundVerifier::new("/hook", gameauth_core::KeyRing::new("k".into())).unwrap();
    let b = || {
        WebhookHandler::builder()
            .verifier(verifier.clone())
            .sink(Arc::new(Nop))
    };
    assert!(matches!(
        b().dedup_ttl(Duration::from_secs(3600)).build(),
        Err(Error::Config(_))
    ));
    assert!(b().build().is_ok());
    for lease in [
        Duration::from_millis(999),
        MIN_DEDUP_TTL + Duration::from_secs(1),
    ] {
        assert!(
            matches!(b().processing_lease(lease).build(), Err(Error::Config(_))),
            "{lease:?}"
        );
    }
    assert!(
        b().processing_lease(Duration::from_secs(600))
            .build()
            .is_ok()
    );
    assert!(
        WebhookHandler::builder()
            .sink(Arc::new(Nop))
            .build()
            .is_err()
    );
}
