//! The runtime-validated builder.

use std::time::Duration;

use gameauth_core::secrecy::SecretString;
use gameauth_hive::{BreakerConfig, Client, Environment, Error, VerifyAccessToken};

use crate::support::*;

fn config_error(result: Result<Client, Error>) -> String {
    match result {
        Err(Error::Config(m)) => m,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn an_environment_or_a_primary_url_is_required_but_not_both() {
    config_error(builder().build());
    config_error(
        builder()
            .environment(Environment::Production)
            .primary_url("http://127.0.0.1:1")
            .build(),
    );
    config_error(
        builder()
            .environment(Environment::Sandbox)
            .fallback_url("http://127.0.0.1:1")
            .build(),
    );
    assert!(
        builder()
            .environment(Environment::Production)
            .build()
            .is_ok()
    );
    assert!(builder().environment(Environment::Sandbox).build().is_ok());
}

#[test]
fn custom_urls_are_scheme_host_and_port_only() {
    for bad in [
        "ftp://h",
        "https://h/path",
        "https://h?q=1",
        "not a url",
        // The client secret would travel in clear: plain http only for a loopback host.
        "http://h",
        "http://10.0.0.1:8080",
    ] {
        config_error(builder().primary_url(bad).build());
        config_error(builder().primary_url("https://h").fallback_url(bad).build());
        config_error(builder().primary_url("https://h").oauth_url(bad).build());
    }
    assert!(builder().primary_url("https://h").build().is_ok());
    assert!(
        builder()
            .primary_url("http://localhost:8080")
            .build()
            .is_ok()
    );
}

#[test]
fn appid_and_credentials_are_checked() {
    let url = "http://127.0.0.1:1";
    config_error(Client::builder().primary_url(url).build());
    config_error(Client::builder().primary_url(url).appid(" ").build());
    config_error(
        Client::builder()
            .primary_url(url)
            .appid(APPID)
            .client_credentials("", SecretString::from("s"))
            .build(),
    );
    config_error(
        Client::builder()
            .primary_url(url)
            .appid(APPID)
            .client_credentials("id", SecretString::from(""))
            .build(),
    );
    config_error(
        Client::builder()
            .primary_url(url)
            .appid(APPID)
            .certification_key(SecretString::from(""))
            .build(),
    );
}

#[test]
fn timeouts_and_breaker_settings_are_checked() {
    let base = || builder().primary_url("http://127.0.0.1:1");
    config_error(base().primary_timeout(Duration::ZERO).build());
    config_error(base().fallback_timeout(Duration::ZERO).build());
    config_error(base().deadline(Duration::ZERO).build());
    config_error(base().oauth_attempt_timeout(Duration::ZERO).build());
    config_error(base().oauth_deadline(Duration::ZERO).build());
    let breaker = BreakerConfig::default();
    config_error(
        base()
            .breaker(BreakerConfig {
                failure_threshold: 0,
                ..breaker
            })
            .build(),
    );
    config_error(
        base()
            .breaker(BreakerConfig {
                max_cooldown: Duration::from_secs(1),
                ..breaker
            })
            .build(),
    );
}

#[test]
fn client_credentials_are_needed_only_by_the_server_token_mode() {
    let bare = || {
        Client::builder()
            .primary_url("http://127.0.0.1:1")
            .appid(APPID)
    };
    let client = bare().build().unwrap();
    assert_eq!(client.verify_access_token(), VerifyAccessToken::Player);
    let message = config_error(
        bare()
            .verify_access_token(VerifyAccessToken::Server)
            .build(),
    );
    assert!(message.contains("client_credentials"), "{message}");
    let client = server_builder()
        .primary_url("http://127.0.0.1:1")
        .build()
        .unwrap();
    assert_eq!(client.verify_access_token(), VerifyAccessToken::Server);
}
