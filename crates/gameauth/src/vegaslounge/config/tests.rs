//! Tests of the `serve` configuration.
use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn demo_configuration_is_valid() {
    let c = load(DEMO_CONFIG, None, no_env).unwrap();
    assert_eq!(c.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(c.clients.len(), 1);
    assert_eq!(c.clients[0].client_id(), "VL001");
    assert_eq!(c.players[0].account.player_id, "a3u");
    assert_eq!(c.server.code_ttl, Duration::from_secs(60));
}

#[test]
fn listen_flag_overrides_the_file() {
    let c = load(DEMO_CONFIG, Some("127.0.0.1:0"), no_env).unwrap();
    assert_eq!(c.listen.port(), 0);
    assert!(load(DEMO_CONFIG, Some("localhost"), no_env).is_err());
}

fn with_store(section: &str) -> String {
    DEMO_CONFIG.replace("kind = \"memory\"", section)
}

#[test]
fn redis_store_takes_url_key_prefix_and_timeout() {
    let text = with_store(
        "kind = \"redis\"\nurl = \"redis://:pw-sentinel@127.0.0.1:6379/0\"\nkey_prefix = \"prod:vl:\"\ntimeout_ms = 750",
    );
    let c = load(&text, None, no_env).unwrap();
    let StoreSettings::Redis {
        redis,
        key_prefix,
        timeout,
    } = &c.store
    else {
        panic!("{:?}", c.store);
    };
    assert_eq!(redis.configured_timeout(), Duration::from_millis(750));
    assert_eq!(key_prefix, "prod:vl:");
    assert_eq!(*timeout, Duration::from_millis(750));
    let debug = format!("{c:?}");
    assert!(!debug.contains("pw-sentinel"), "{debug}");
    assert!(debug.contains("topology: \"single\""), "{debug}");

    let defaults = load(
        &with_store("kind = \"redis\"\nurl = \"redis://127.0.0.1/\""),
        None,
        no_env,
    )
    .unwrap();
    assert!(matches!(
        defaults.store,
        StoreSettings::Redis { ref key_prefix, timeout, .. }
            if key_prefix == "vl:" && timeout == Duration::from_secs(2)
    ));
    assert!(matches!(
        load(DEMO_CONFIG, None, no_env).unwrap().store,
        StoreSettings::Memory
    ));
}

#[test]
fn bad_store_settings_are_configuration_errors_without_the_url() {
    for (section, expected) in [
        ("kind = \"redis\"", "needs store.url"),
        (
            "kind = \"redis\"\nurl = \"rediss://:pw-sentinel@h/#insecure\"",
            "certificate verification cannot be turned off",
        ),
        (
            "kind = \"redis\"\nurl = \"http://:pw-sentinel@h/\"",
            "must start with redis://",
        ),
        (
            "kind = \"redis\"\nurl = \"redis://h/\"\nkey_prefix = \"vl{\"",
            "store.key_prefix",
        ),
        (
            "kind = \"redis\"\nurl = \"redis://h/\"\ntimeout_ms = 0",
            "store.timeout_ms",
        ),
        (
            "kind = \"memory\"\nurl = \"redis://h/\"",
            "apply only to kind = \"redis\"",
        ),
        (
            "kind = \"memory\"\n[store.cluster]\nnodes = [\"redis://h:1\"]",
            "apply only to kind = \"redis\"",
        ),
        ("kind = \"etcd\"", "unknown variant"),
    ] {
        let err = load(&with_store(section), None, no_env).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(text.contains(expected), "{section}: {text}");
        assert!(!text.contains("pw-sentinel"), "{text}");
    }
}

#[test]
fn client_secret_env_reads_the_named_variable() {
    let text = DEMO_CONFIG.replace(
        "client_secret = \"demo-secret\"",
        "client_secret_env = \"VL001_SECRET\"",
    );
    let c = load(&text, None, |k| {
        (k == "VL001_SECRET").then(|| "from-env".to_owned())
    })
    .unwrap();
    assert!(c.clients[0].verify_secret("from-env"));
    let err = load(&text, None, no_env).unwrap_err();
    assert!(err.to_string().contains("VL001_SECRET"), "{err}");
}

#[test]
fn client_secret_may_be_stored_as_sha256() {
    let hex = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
    let text = DEMO_CONFIG.replace(
        "client_secret = \"demo-secret\"",
        &format!("client_secret_sha256 = \"{hex}\""),
    );
    let c = load(&text, None, no_env).unwrap();
    assert!(c.clients[0].verify_secret("password"));
}

#[test]
fn bad_values_are_configuration_errors() {
    for (from, to) in [
        ("code_ttl_secs = 60", "code_ttl_secs = 601"),
        ("\"127.0.0.1/32\"", "\"not-an-ip\""),
        ("error_style = \"vegaslounge\"", "error_style = \"json\""),
        ("balance = \"405.64\"", "balance = \"4e2\""),
        ("listen = ", "lisen = "),
        (
            "[\"https://fl.vegaslounge.live\"]",
            "[\"https://fl.vegaslounge.live#x\"]",
        ),
    ] {
        let text = DEMO_CONFIG.replace(from, to);
        assert!(load(&text, None, no_env).is_err(), "{to}");
    }
}

#[test]
fn compat_settings_are_off_by_default_and_settable() {
    let c = load(DEMO_CONFIG, None, no_env).unwrap();
    assert_eq!(c.server.redirect_uri_policy, RedirectUriPolicy::Exact);
    assert!(!c.server.token_json_body);
    let text = format!(
        "{DEMO_CONFIG}\n[compat]\nredirect_uri_match = \"path_prefix\"\ntoken_json_body = true\n"
    );
    let c = load(&text, None, no_env).unwrap();
    assert_eq!(c.server.redirect_uri_policy, RedirectUriPolicy::PathPrefix);
    assert!(c.server.token_json_body);
    for bad in [
        "[compat]\nredirect_uri_match = \"prefix\"\n",
        "[compat]\nredirect_uri_match = \"PATH_PREFIX\"\n",
        "[compat]\ntoken_json_body = \"yes\"\n",
        "[compat]\njson = true\n",
    ] {
        let err = load(&format!("{DEMO_CONFIG}\n{bad}"), None, no_env).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{bad}");
    }
}

#[test]
fn http_section_sets_the_connection_deadlines_and_cap() {
    let c = load(DEMO_CONFIG, None, no_env).unwrap();
    assert_eq!(c.server.http, HttpLimits::default());
    let text = DEMO_CONFIG
        .replace(
            "header_read_timeout_ms = 10000",
            "header_read_timeout_ms = 2500",
        )
        .replace("max_connections = 512", "max_connections = 64");
    let c = load(&text, None, no_env).unwrap();
    assert_eq!(
        c.server.http.header_read_timeout,
        Duration::from_millis(2500)
    );
    assert_eq!(c.server.http.max_connections, 64);
    for bad in [
        "header_read_timeout_ms = 0",
        "body_read_timeout_ms = 600001",
        "max_connections = 0",
    ] {
        let key = bad.split(' ').next().unwrap();
        let text = DEMO_CONFIG
            .lines()
            .map(|l| if l.starts_with(key) { bad } else { l })
            .collect::<Vec<_>>()
            .join("\n");
        let err = load(&text, None, no_env).unwrap_err().to_string();
        let name = key.trim_end_matches("_ms");
        assert!(err.contains(name), "{bad}: {err}");
    }
}

#[test]
fn login_section_sets_the_brute_force_limit_and_cookie_flags() {
    let c = load(DEMO_CONFIG, None, no_env).unwrap();
    assert_eq!(c.login, LoginSettings::default());
    assert!(c.login.secure_cookies);
    let text = DEMO_CONFIG
        .replace("max_failures = 5", "max_failures = 3")
        .replace("secure_cookies = true", "secure_cookies = false");
    let c = load(&text, None, no_env).unwrap();
    assert_eq!((c.login.max_failures, c.login.secure_cookies), (3, false));
    for bad in ["max_failures = 0", "window_secs = 0", "window_secs = 86401"] {
        let key = bad.split(' ').next().unwrap();
        let text = DEMO_CONFIG
            .lines()
            .map(|l| if l.starts_with(key) { bad } else { l })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(load(&text, None, no_env).is_err(), "{bad}");
    }
}

#[test]
fn player_debug_hides_the_password() {
    let c = load(DEMO_CONFIG, None, no_env).unwrap();
    let dbg = format!("{:?}", c.players[0]);
    assert!(!dbg.contains("alice-pass"), "{dbg}");
}

/// Every leaf setting of a TOML table as (`GAMEAUTH_VL__…` name, value as an operator would
/// write it: text unquoted, anything else as TOML).
fn as_env_vars(prefix: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                as_env_vars(&format!("{prefix}__{}", k.to_ascii_uppercase()), v, out);
            }
        }
        toml::Value::Array(a) if a.iter().all(toml::Value::is_table) => {
            for (i, v) in a.iter().enumerate() {
                as_env_vars(&format!("{prefix}__{i}"), v, out);
            }
        }
        toml::Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

#[test]
fn every_setting_of_the_demo_configuration_can_come_from_the_environment() {
    let table: toml::Value = toml::from_str(DEMO_CONFIG).unwrap();
    let mut vars = Vec::new();
    as_env_vars("GAMEAUTH_VL", &table, &mut vars);
    assert!(vars.len() > 30, "{vars:?}");
    assert!(
        vars.iter()
            .any(|(k, v)| k == "GAMEAUTH_VL__PLAYERS__0__BALANCE" && v == "405.64")
    );
    let from_env = load_with("", &Flags::default(), &vars, no_env).unwrap();
    let from_file = load(DEMO_CONFIG, None, no_env).unwrap();
    assert_eq!(format!("{from_env:?}"), format!("{from_file:?}"));
}

#[test]
fn the_environment_overrides_the_file_and_flags_override_the_environment() {
    let vars: Vec<(String, String)> = [
        ("GAMEAUTH_VL__LISTEN", "127.0.0.1:9001"),
        ("GAMEAUTH_VL__METRICS_LISTEN", "127.0.0.1:9464"),
        ("GAMEAUTH_VL__LOG_FORMAT", "json"),
        ("GAMEAUTH_VL__HEALTH__DRAIN_DELAY_MS", "1500"),
        ("GAMEAUTH_VL__TOKENS__CODE_TTL_SECS", "30"),
        ("GAMEAUTH_VL__SECURITY__ALLOW_IPS", "[\"10.0.0.0/8\"]"),
        ("GAMEAUTH_VL__PLAYERS__0__PLAYER_ID", "123"),
        (
            "GAMEAUTH_VL__CLIENTS__0__CLIENT_SECRET",
            "from-the-environment",
        ),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let c = load_with(DEMO_CONFIG, &Flags::default(), &vars, no_env).unwrap();
    assert_eq!(c.listen, "127.0.0.1:9001".parse().unwrap());
    assert_eq!(
        c.ops.metrics_listen,
        Some("127.0.0.1:9464".parse().unwrap())
    );
    assert_eq!(c.ops.log_format, LogFormat::Json);
    assert_eq!(c.ops.drain_delay, Duration::from_millis(1500));
    assert_eq!(c.server.code_ttl, Duration::from_secs(30));
    assert_eq!(c.players[0].account.player_id, "123");
    assert!(c.clients[0].verify_secret("from-the-environment"));
    let peer: std::net::SocketAddr = "10.1.2.3:5000".parse().unwrap();
    assert!(c.server.network.allows(peer, &http::HeaderMap::new()));

    let flags = Flags {
        listen: Some("127.0.0.1:9002"),
        metrics_listen: Some("127.0.0.1:9465"),
        log_format: Some(LogFormat::Text),
    };
    let c = load_with(DEMO_CONFIG, &flags, &vars, no_env).unwrap();
    assert_eq!(c.listen.port(), 9002);
    assert_eq!(c.ops.metrics_listen.unwrap().port(), 9465);
    assert_eq!(c.ops.log_format, LogFormat::Text);
}

#[test]
fn bad_environment_settings_are_errors_that_name_the_variable() {
    for (name, value, expected) in [
        ("GAMEAUTH_VL__TOKENS__CODE_TTL_SECS", "soon", "invalid type"),
        ("GAMEAUTH_VL__TOKENS__CODE_TTL_SECS", "601", "code_ttl"),
        ("GAMEAUTH_VL__LOG_FORMAT", "xml", "unknown variant"),
        (
            "GAMEAUTH_VL__METRICS_LISTEN",
            "everywhere",
            "metrics_listen",
        ),
        (
            "GAMEAUTH_VL__TOKENS__CODE_TTL",
            "60",
            "unknown field `code_ttl`",
        ),
        (
            "GAMEAUTH_VL__HEALTH__READINESS_TIMEOUT_MS",
            "0",
            "health.readiness_timeout_ms",
        ),
    ] {
        let vars = vec![(name.to_owned(), value.to_owned())];
        let err = load_with(DEMO_CONFIG, &Flags::default(), &vars, no_env).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(text.contains(expected), "{name}={value}: {text}");
        if expected != "code_ttl" && !expected.starts_with("health") && expected != "metrics_listen"
        {
            assert!(text.contains(name), "{name}={value}: {text}");
        }
    }
}
