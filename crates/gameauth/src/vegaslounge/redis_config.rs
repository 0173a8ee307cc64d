//! The Redis part of the `serve` file: one endpoint (`store.url`), `[store.sentinel]` or
//! `[store.cluster]`, with `[store.tls]` certificates, `[store.replicas]` confirmation and a
//! `[store.client_cache]`, checked and turned into one [`RedisConfig`].

use std::path::PathBuf;
use std::time::Duration;

use gameauth_vegaslounge::store::redis::{
    ClientCache, RedisConfig, ReplicaAcks, SentinelConfig, TlsConfig,
};
use serde::Deserialize;

use crate::error::CliError;

/// A Redis URL. It may carry a password, so `Debug` hides it and errors never quote it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct RedisUrl(String);

impl RedisUrl {
    /// The URL, for connecting only.
    pub(crate) fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisUrl([redacted])")
    }
}

/// `[store.tls]`: certificates for every TLS connection (`rediss://`, or `tls = true` under
/// `[store.sentinel]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsSection {
    /// PEM file of the CA certificates to trust instead of the system roots.
    ca_file: Option<PathBuf>,
    /// PEM file of the client certificate chain (mutual TLS).
    client_cert_file: Option<PathBuf>,
    /// PEM file of the client's private key.
    client_key_file: Option<PathBuf>,
}

/// `[store.sentinel]`: a primary found through Redis Sentinel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SentinelSection {
    service_name: String,
    /// `host:port` of each sentinel.
    sentinels: Vec<String>,
    #[serde(default)]
    sentinel_tls: bool,
    sentinel_username: Option<String>,
    /// Name of the environment variable holding the sentinels' password.
    sentinel_password_env: Option<String>,
    /// TLS to the primary.
    #[serde(default)]
    tls: bool,
    username: Option<String>,
    /// Name of the environment variable holding the primary's password.
    password_env: Option<String>,
    #[serde(default)]
    db: i64,
}

/// `[store.cluster]`: a Redis Cluster.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClusterSection {
    /// URLs of some of the cluster's nodes (`redis://` or `rediss://`, with the password).
    nodes: Vec<RedisUrl>,
}

/// `[store.replicas]`: decisions confirmed by replicas before they are answered.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplicasSection {
    /// How many replicas must acknowledge.
    wait_for: u32,
    /// How long to wait for them (shorter than `store.timeout_ms`).
    timeout_ms: u64,
}

/// `[store.client_cache]`: `/account` answers kept on the instance until Redis reports a change
/// (see `ClientCache`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientCacheSection {
    /// How many answers it holds at most (at least 1).
    entries: usize,
    /// How long an answer is kept at most, even without an invalidation.
    max_age_ms: Option<u64>,
}

/// The Redis settings of a `[store]` section with `kind = "redis"`.
#[derive(Debug, Default)]
pub(crate) struct RedisSections {
    pub(crate) url: Option<RedisUrl>,
    pub(crate) tls: Option<TlsSection>,
    pub(crate) sentinel: Option<SentinelSection>,
    pub(crate) cluster: Option<ClusterSection>,
    pub(crate) replicas: Option<ReplicasSection>,
    pub(crate) client_cache: Option<ClientCacheSection>,
}

impl RedisSections {
    /// Whether any Redis-only setting is present.
    pub(crate) fn any(&self) -> bool {
        self.url.is_some()
            || self.tls.is_some()
            || self.sentinel.is_some()
            || self.cluster.is_some()
            || self.replicas.is_some()
            || self.client_cache.is_some()
    }
}

fn config_err(message: impl Into<String>) -> CliError {
    CliError::Config(message.into())
}

/// Checks the sections and builds the connection settings (TLS files are read here, so a
/// missing certificate is a configuration error at start-up). `env` reads the password
/// variables.
pub(crate) fn redis_config(
    sections: RedisSections,
    timeout: Duration,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<RedisConfig, CliError> {
    let mut config = match (sections.url, sections.sentinel, sections.cluster) {
        (Some(url), None, None) => {
            let scheme = url.expose_secret().split_once("://").map(|(s, _)| s);
            if !matches!(scheme, Some("redis" | "rediss" | "redis+unix" | "unix")) {
                return Err(config_err(
                    "store.url must start with redis://, rediss://, redis+unix:// or unix://",
                ));
            }
            RedisConfig::single(url.expose_secret())
        }
        (None, Some(s), None) => RedisConfig::sentinel(sentinel(s, env)?),
        (None, None, Some(c)) => {
            RedisConfig::cluster(c.nodes.iter().map(|n| n.expose_secret().to_owned()))
        }
        (None, None, None) => {
            return Err(config_err(
                "kind = \"redis\" needs store.url, [store.sentinel] or [store.cluster]",
            ));
        }
        _ => {
            return Err(config_err(
                "give exactly one of store.url, [store.sentinel] and [store.cluster]",
            ));
        }
    };
    config = config.timeout(timeout);
    if let Some(tls) = sections.tls {
        config = config.tls(tls_config(tls)?);
    }
    if let Some(r) = sections.replicas {
        let acks = ReplicaAcks::new(r.wait_for, Duration::from_millis(r.timeout_ms))
            .map_err(|e| config_err(format!("store.replicas: {}", e.detail())))?;
        if acks.timeout() >= timeout {
            return Err(config_err(
                "store.replicas.timeout_ms must be shorter than store.timeout_ms",
            ));
        }
        config = config.replica_acks(acks);
    }
    if let Some(c) = sections.client_cache {
        let mut cache = ClientCache::new(c.entries)
            .map_err(|e| config_err(format!("store.client_cache: {}", e.detail())))?;
        if let Some(ms) = c.max_age_ms {
            cache = cache
                .max_age(Duration::from_millis(ms))
                .map_err(|e| config_err(format!("store.client_cache: {}", e.detail())))?;
        }
        config = config.client_cache(cache);
    }
    config
        .validate()
        .map_err(|e| config_err(format!("store: {}", e.detail())))?;
    Ok(config)
}

fn sentinel(
    s: SentinelSection,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<SentinelConfig, CliError> {
    let password = |key: &str, var: &str| {
        env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
            config_err(format!(
                "store.sentinel: environment variable {var} ({key}) is not set"
            ))
        })
    };
    let mut config = SentinelConfig::new(s.service_name, s.sentinels)
        .sentinel_tls(s.sentinel_tls)
        .primary_tls(s.tls)
        .database(s.db);
    if let Some(user) = s.sentinel_username {
        config = config.sentinel_username(user);
    }
    if let Some(var) = s.sentinel_password_env {
        config = config.sentinel_password(password("sentinel_password_env", &var)?);
    }
    if let Some(user) = s.username {
        config = config.primary_username(user);
    }
    if let Some(var) = s.password_env {
        config = config.primary_password(password("password_env", &var)?);
    }
    Ok(config)
}

fn tls_config(tls: TlsSection) -> Result<TlsConfig, CliError> {
    let err = |e: gameauth_vegaslounge::store::redis::RedisFailure| {
        config_err(format!("store.tls: {}", e.detail()))
    };
    let mut config = TlsConfig::system_roots();
    if let Some(ca) = tls.ca_file {
        config = config.with_ca_file(ca).map_err(err)?;
    }
    match (tls.client_cert_file, tls.client_key_file) {
        (Some(cert), Some(key)) => {
            config = config
                .with_client_certificate_files(cert, key)
                .map_err(err)?;
        }
        (None, None) => {}
        _ => {
            return Err(config_err(
                "store.tls: client_cert_file and client_key_file go together",
            ));
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn sections(toml_text: &str) -> RedisSections {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Store {
            url: Option<RedisUrl>,
            tls: Option<TlsSection>,
            sentinel: Option<SentinelSection>,
            cluster: Option<ClusterSection>,
            replicas: Option<ReplicasSection>,
            client_cache: Option<ClientCacheSection>,
        }
        let s: Store = toml::from_str(toml_text).unwrap();
        RedisSections {
            url: s.url,
            tls: s.tls,
            sentinel: s.sentinel,
            cluster: s.cluster,
            replicas: s.replicas,
            client_cache: s.client_cache,
        }
    }

    const TWO_SECONDS: Duration = Duration::from_secs(2);

    #[test]
    fn sentinel_and_cluster_sections_build_their_topology() {
        let config = redis_config(
            sections(
                "[sentinel]\nservice_name = \"vl\"\nsentinels = [\"10.0.0.1:26379\", \"10.0.0.2:26379\"]\n\
                 password_env = \"PW\"\n[replicas]\nwait_for = 1\ntimeout_ms = 500",
            ),
            TWO_SECONDS,
            &|k| (k == "PW").then(|| "node-secret".to_owned()),
        )
        .unwrap();
        let text = format!("{config:?}");
        assert!(text.contains("service_name: \"vl\""), "{text}");
        assert!(text.contains("primary_auth: true"), "{text}");
        assert!(!text.contains("node-secret"), "{text}");
        assert_eq!(
            config.configured_replica_acks().map(|a| a.replicas()),
            Some(1)
        );
        let cluster = redis_config(
            sections("[cluster]\nnodes = [\"redis://:pw-secret@10.0.0.1:7000\"]"),
            TWO_SECONDS,
            &no_env,
        )
        .unwrap();
        let text = format!("{cluster:?}");
        assert!(
            text.contains("cluster_nodes: 1") && !text.contains("pw-secret"),
            "{text}"
        );
    }

    #[test]
    fn a_client_cache_section_turns_the_cache_on() {
        let config = redis_config(
            sections("url = \"redis://h/\"\n[client_cache]\nentries = 500\nmax_age_ms = 250"),
            TWO_SECONDS,
            &no_env,
        )
        .unwrap();
        let cache = config.configured_client_cache().expect("a client cache");
        assert_eq!(cache.entries(), 500);
        assert_eq!(cache.configured_max_age(), Duration::from_millis(250));
        let plain = redis_config(sections("url = \"redis://h/\""), TWO_SECONDS, &no_env).unwrap();
        assert!(plain.configured_client_cache().is_none(), "off by default");
    }

    #[test]
    fn wrong_combinations_are_configuration_errors_without_secrets() {
        for (text, expected) in [
            ("", "needs store.url, [store.sentinel] or [store.cluster]"),
            (
                "url = \"redis://h/\"\n[cluster]\nnodes = [\"redis://h:1\"]",
                "exactly one of",
            ),
            (
                "url = \"redis://:pw-secret@h/\"\n[tls]\nca_file = \"/nonexistent/ca.pem\"",
                "store.tls: cannot read",
            ),
            (
                "url = \"redis://:pw-secret@h/\"\n[tls]\n",
                "no Redis address uses TLS",
            ),
            (
                "url = \"rediss://:pw-secret@h/\"\n[tls]\nclient_cert_file = \"/x\"",
                "go together",
            ),
            (
                "url = \"redis://h/\"\n[replicas]\nwait_for = 0\ntimeout_ms = 100",
                "at least one replica",
            ),
            (
                "url = \"redis://h/\"\n[replicas]\nwait_for = 1\ntimeout_ms = 2000",
                "shorter than store.timeout_ms",
            ),
            (
                "[sentinel]\nservice_name = \"vl\"\nsentinels = [\"h:1\"]\npassword_env = \"MISSING\"",
                "MISSING (password_env) is not set",
            ),
            (
                "[sentinel]\nservice_name = \"vl\"\nsentinels = [\"redis://h:1\"]",
                "is not host:port",
            ),
            (
                "[cluster]\nnodes = [\"rediss://:pw-secret@h:1/#insecure\"]",
                "cannot be turned off",
            ),
            ("url = \"http://:pw-secret@h/\"", "must start with redis://"),
            (
                "url = \"redis://h/\"\n[client_cache]\nentries = 0",
                "store.client_cache: the Redis client cache needs room for at least one entry",
            ),
            (
                "url = \"redis://h/\"\n[client_cache]\nentries = 10\nmax_age_ms = 0",
                "store.client_cache: the Redis client cache's max age must be between",
            ),
        ] {
            let err = redis_config(sections(text), TWO_SECONDS, &no_env).unwrap_err();
            let message = err.to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(!message.contains("pw-secret"), "{message}");
            assert_eq!(err.exit_code(), 2);
        }
    }
}
