//! The `serve` configuration file (TOML) and the embedded demo configuration.

use std::net::SocketAddr;
use std::time::Duration;

use gameauth_vegaslounge::token::ClientSecret;
use gameauth_vegaslounge::{
    Account, Balance, ErrorStyle, ForwardedHeader, HttpLimits, NetworkPolicy, RedirectUriPolicy,
    RegisteredClient, ServerConfig, StoredSecret,
};
use ipnet::IpNet;
use serde::Deserialize;

use super::login::LoginSettings;
use super::redis_config::{
    ClientCacheSection, ClusterSection, RedisSections, RedisUrl, ReplicasSection, SentinelSection,
    TlsSection, redis_config,
};
use crate::error::CliError;

/// The configuration used when no `--config` is given.
pub(crate) const DEMO_CONFIG: &str = r#"
listen = "127.0.0.1:8080"

[store]
kind = "memory"

[tokens]
code_ttl_secs = 60
access_ttl_secs = 3600
refresh_ttl_secs = 2592000
refresh_grace_secs = 10
revoke_on_logout = false

[http]
header_read_timeout_ms = 10000
body_read_timeout_ms = 10000
keep_alive_timeout_ms = 30000
max_connections = 512

[login]
max_failures = 5
window_secs = 900
secure_cookies = true

[security]
allow_ips = ["127.0.0.1/32", "::1/128"]
trusted_proxies = []
account_token_in_query = false
error_style = "vegaslounge"

[[clients]]
client_id = "VL001"
client_secret = "demo-secret"
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
session_id = "HfuXQCzhIn"
avatar_url = "https://img.operator.com/avatar.png"
home_url = "https://www.operator.com"
partner = "partner123"
"#;

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Key prefix of the Redis store unless configured.
const DEFAULT_KEY_PREFIX: &str = "vl:";

/// Deadline of one Redis operation unless configured (`store.timeout_ms`).
const DEFAULT_REDIS_TIMEOUT_MS: u64 = 2000;

/// The longest accepted `store.timeout_ms`.
const MAX_REDIS_TIMEOUT_MS: u64 = 60_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    #[serde(default)]
    store: StoreSection,
    #[serde(default)]
    tokens: TokensSection,
    #[serde(default)]
    http: HttpSection,
    #[serde(default)]
    login: LoginSection,
    #[serde(default)]
    security: SecuritySection,
    #[serde(default)]
    compat: CompatSection,
    #[serde(default)]
    clients: Vec<ClientSection>,
    #[serde(default)]
    players: Vec<PlayerSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreSection {
    #[serde(default)]
    kind: StoreKind,
    url: Option<RedisUrl>,
    key_prefix: Option<String>,
    timeout_ms: Option<u64>,
    // Beyond one plain endpoint: see `redis_config`.
    tls: Option<TlsSection>,
    sentinel: Option<SentinelSection>,
    cluster: Option<ClusterSection>,
    replicas: Option<ReplicasSection>,
    client_cache: Option<ClientCacheSection>,
}

/// Where the server keeps its grants and failure counters.
#[derive(Debug)]
pub(crate) enum StoreSettings {
    /// In process memory: one instance.
    Memory,
    /// In Redis, shared by every instance with the same Redis and key prefix.
    Redis {
        redis: Box<gameauth_vegaslounge::store::redis::RedisConfig>,
        key_prefix: String,
        timeout: Duration,
    },
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StoreKind {
    #[default]
    Memory,
    Redis,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct TokensSection {
    code_ttl_secs: u64,
    access_ttl_secs: u64,
    refresh_ttl_secs: u64,
    refresh_grace_secs: u64,
    revoke_on_logout: bool,
}

impl Default for TokensSection {
    fn default() -> Self {
        Self {
            code_ttl_secs: 60,
            access_ttl_secs: 3600,
            refresh_ttl_secs: 2_592_000,
            refresh_grace_secs: 10,
            revoke_on_logout: false,
        }
    }
}

/// `[http]`: connection deadlines and the connection cap (see `HttpLimits`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct HttpSection {
    header_read_timeout_ms: u64,
    body_read_timeout_ms: u64,
    keep_alive_timeout_ms: u64,
    max_connections: usize,
}

impl Default for HttpSection {
    fn default() -> Self {
        let limits = HttpLimits::default();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            header_read_timeout_ms: ms(limits.header_read_timeout),
            body_read_timeout_ms: ms(limits.body_read_timeout),
            keep_alive_timeout_ms: ms(limits.keep_alive_timeout),
            max_connections: limits.max_connections,
        }
    }
}

/// `[login]`: the demo login's brute-force limit and cookie flags.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LoginSection {
    max_failures: u32,
    window_secs: u64,
    secure_cookies: bool,
}

impl Default for LoginSection {
    fn default() -> Self {
        let login = LoginSettings::default();
        Self {
            max_failures: login.max_failures,
            window_secs: login.window.as_secs(),
            secure_cookies: login.secure_cookies,
        }
    }
}

/// The longest accepted `login.window_secs`: one day.
const MAX_LOGIN_WINDOW_SECS: u64 = 24 * 3600;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SecuritySection {
    allow_ips: Vec<String>,
    trusted_proxies: Vec<String>,
    forwarded_header: ForwardedHeaderName,
    account_token_in_query: bool,
    error_style: ErrorStyleName,
    login_url: String,
}

impl Default for SecuritySection {
    fn default() -> Self {
        Self {
            allow_ips: vec!["127.0.0.1/32".into(), "::1/128".into()],
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeaderName::XForwardedFor,
            account_token_in_query: false,
            error_style: ErrorStyleName::Vegaslounge,
            login_url: "/login".into(),
        }
    }
}

/// Departures from Vegas Lounge's documented contract that some integrations need; all off by
/// default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct CompatSection {
    redirect_uri_match: RedirectUriMatch,
    token_json_body: bool,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RedirectUriMatch {
    #[default]
    Exact,
    PathPrefix,
}

#[derive(Debug, Clone, Copy, Deserialize)]
enum ErrorStyleName {
    #[serde(rename = "vegaslounge")]
    Vegaslounge,
    #[serde(rename = "rfc6749")]
    Rfc6749,
}

#[derive(Debug, Clone, Copy, Deserialize)]
enum ForwardedHeaderName {
    #[serde(rename = "x-forwarded-for")]
    XForwardedFor,
    #[serde(rename = "forwarded")]
    Forwarded,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientSection {
    client_id: String,
    client_secret: Option<String>,
    client_secret_env: Option<String>,
    client_secret_sha256: Option<String>,
    redirect_uris: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayerSection {
    username: String,
    password: String,
    player_id: String,
    player_name: String,
    currency: String,
    balance: String,
    language: String,
    player_type: String,
    session_id: Option<String>,
    avatar_url: Option<String>,
    home_url: Option<String>,
    partner: Option<String>,
    #[serde(default)]
    disabled: bool,
}

/// A demo login account and the account data served for it.
#[derive(Clone)]
pub(crate) struct Player {
    pub(crate) username: String,
    pub(crate) password: ClientSecret,
    pub(crate) account: Account,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Player")
            .field("username", &self.username)
            .field("password", &self.password)
            .field("player_id", &self.account.player_id)
            .finish()
    }
}

/// The validated configuration of `serve`.
#[derive(Debug)]
pub(crate) struct ServeConfig {
    pub(crate) listen: SocketAddr,
    pub(crate) store: StoreSettings,
    pub(crate) server: ServerConfig,
    pub(crate) clients: Vec<RegisteredClient>,
    pub(crate) players: Vec<Player>,
    pub(crate) login: LoginSettings,
}

fn config_err(message: impl Into<String>) -> CliError {
    CliError::Config(message.into())
}

/// Parses and validates a configuration. `env` reads environment variables (for
/// `client_secret_env`); `listen_override` is the `--listen` flag.
pub(crate) fn load(
    text: &str,
    listen_override: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<ServeConfig, CliError> {
    let file: FileConfig = toml::from_str(text).map_err(|e| config_err(e.message()))?;
    let store = store(file.store, &env)?;
    let listen_text = listen_override
        .or(file.listen.as_deref())
        .unwrap_or(DEFAULT_LISTEN);
    let listen: SocketAddr = listen_text
        .parse()
        .map_err(|_| config_err(format!("listen address `{listen_text}` is not IP:PORT")))?;

    let mut server = ServerConfig::default();
    let t = &file.tokens;
    server.code_ttl = Duration::from_secs(t.code_ttl_secs);
    server.access_ttl = Duration::from_secs(t.access_ttl_secs);
    server.refresh_ttl = Duration::from_secs(t.refresh_ttl_secs);
    server.refresh_grace = Duration::from_secs(t.refresh_grace_secs);
    server.revoke_on_logout = t.revoke_on_logout;
    let h = &file.http;
    server.http.header_read_timeout = Duration::from_millis(h.header_read_timeout_ms);
    server.http.body_read_timeout = Duration::from_millis(h.body_read_timeout_ms);
    server.http.keep_alive_timeout = Duration::from_millis(h.keep_alive_timeout_ms);
    server.http.max_connections = h.max_connections;
    let s = &file.security;
    server.account_token_in_query = s.account_token_in_query;
    server.error_style = match s.error_style {
        ErrorStyleName::Vegaslounge => ErrorStyle::VegasLounge,
        ErrorStyleName::Rfc6749 => ErrorStyle::Rfc6749,
    };
    server.login_url = s.login_url.clone();
    server.network = NetworkPolicy::new(parse_nets("security.allow_ips", &s.allow_ips)?)
        .with_trusted_proxies(parse_nets("security.trusted_proxies", &s.trusted_proxies)?)
        .with_forwarded_header(match s.forwarded_header {
            ForwardedHeaderName::XForwardedFor => ForwardedHeader::XForwardedFor,
            ForwardedHeaderName::Forwarded => ForwardedHeader::Forwarded,
        });
    server.redirect_uri_policy = match file.compat.redirect_uri_match {
        RedirectUriMatch::Exact => RedirectUriPolicy::Exact,
        RedirectUriMatch::PathPrefix => RedirectUriPolicy::PathPrefix,
    };
    server.token_json_body = file.compat.token_json_body;
    server.validate().map_err(|e| config_err(e.0))?;
    let l = &file.login;
    if l.max_failures == 0 || !(1..=MAX_LOGIN_WINDOW_SECS).contains(&l.window_secs) {
        return Err(config_err(format!(
            "login.max_failures must be at least 1 and login.window_secs between 1 and {MAX_LOGIN_WINDOW_SECS}"
        )));
    }
    let login = LoginSettings {
        max_failures: l.max_failures,
        window: Duration::from_secs(l.window_secs),
        secure_cookies: l.secure_cookies,
    };

    if file.clients.is_empty() {
        return Err(config_err("at least one [[clients]] entry is required"));
    }
    let clients = file
        .clients
        .into_iter()
        .map(|c| client(c, &env))
        .collect::<Result<Vec<_>, _>>()?;
    let mut players = Vec::new();
    for p in file.players {
        if players.iter().any(|q: &Player| q.username == p.username) {
            return Err(config_err(format!(
                "player `{}` is listed twice",
                p.username
            )));
        }
        players.push(player(p)?);
    }
    Ok(ServeConfig {
        listen,
        store,
        server,
        clients,
        players,
        login,
    })
}

fn store(
    section: StoreSection,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<StoreSettings, CliError> {
    let redis = RedisSections {
        url: section.url,
        tls: section.tls,
        sentinel: section.sentinel,
        cluster: section.cluster,
        replicas: section.replicas,
        client_cache: section.client_cache,
    };
    if section.kind == StoreKind::Memory {
        if redis.any() || section.key_prefix.is_some() || section.timeout_ms.is_some() {
            return Err(config_err(
                "store.url, store.key_prefix, store.timeout_ms and the [store.*] tables apply only to kind = \"redis\"",
            ));
        }
        return Ok(StoreSettings::Memory);
    }
    let key_prefix = section
        .key_prefix
        .unwrap_or_else(|| DEFAULT_KEY_PREFIX.to_owned());
    gameauth_vegaslounge::store::redis::validate_key_prefix(&key_prefix)
        .map_err(|e| config_err(format!("store.key_prefix: {}", e.detail())))?;
    let timeout_ms = section.timeout_ms.unwrap_or(DEFAULT_REDIS_TIMEOUT_MS);
    if !(1..=MAX_REDIS_TIMEOUT_MS).contains(&timeout_ms) {
        return Err(config_err(format!(
            "store.timeout_ms must be between 1 and {MAX_REDIS_TIMEOUT_MS}"
        )));
    }
    let timeout = Duration::from_millis(timeout_ms);
    Ok(StoreSettings::Redis {
        redis: Box::new(redis_config(redis, timeout, env)?),
        key_prefix,
        timeout,
    })
}

fn parse_nets(key: &str, items: &[String]) -> Result<Vec<IpNet>, CliError> {
    items
        .iter()
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    config_err(format!("{key}: `{s}` is not an IP address or CIDR network"))
                })
        })
        .collect()
}

fn client(
    c: ClientSection,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<RegisteredClient, CliError> {
    let id = c.client_id.clone();
    let secret = match (c.client_secret, c.client_secret_env, c.client_secret_sha256) {
        (Some(s), None, None) => StoredSecret::Plain(ClientSecret::new(s)),
        (None, Some(var), None) => match env(&var) {
            Some(s) if !s.is_empty() => StoredSecret::Plain(ClientSecret::new(s)),
            _ => {
                return Err(config_err(format!(
                    "client {id}: environment variable {var} (client_secret_env) is not set"
                )));
            }
        },
        (None, None, Some(hex)) => StoredSecret::sha256_hex(&hex)
            .map_err(|e| config_err(format!("client {id}: {}", e.0)))?,
        _ => {
            return Err(config_err(format!(
                "client {id}: set exactly one of client_secret, client_secret_env, client_secret_sha256"
            )));
        }
    };
    RegisteredClient::new(c.client_id, secret, c.redirect_uris).map_err(|e| config_err(e.0))
}

fn player(p: PlayerSection) -> Result<Player, CliError> {
    let balance =
        Balance::new(p.balance).map_err(|e| config_err(format!("player `{}`: {e}", p.username)))?;
    if p.username.is_empty() || p.password.is_empty() || p.player_id.is_empty() {
        return Err(config_err(
            "players need a username, a password and a player_id",
        ));
    }
    let mut account = Account::new(
        p.player_id,
        p.player_name,
        p.currency,
        balance,
        p.language,
        p.player_type,
    )
    .with_disabled(p.disabled);
    if let Some(v) = p.session_id {
        account = account.with_session_id(v);
    }
    if let Some(v) = p.avatar_url {
        account = account.with_avatar_url(v);
    }
    if let Some(v) = p.home_url {
        account = account.with_home_url(v);
    }
    if let Some(v) = p.partner {
        account = account.with_partner(v);
    }
    Ok(Player {
        username: p.username,
        password: ClientSecret::new(p.password),
        account,
    })
}

#[cfg(test)]
mod tests {
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
}
