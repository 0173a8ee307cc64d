//! Registered OAuth clients (Vegas Lounge merchant ids) and how their secrets are checked.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{ConfigError, HookError};
use crate::redirect::RedirectUriPolicy;
use crate::token::ClientSecret;

/// Longest `client_id` the contract allows (TEXT(40)).
pub const MAX_CLIENT_ID_LEN: usize = 40;
/// Longest `client_secret` the contract allows (TEXT(255)).
pub const MAX_CLIENT_SECRET_LEN: usize = 255;
/// Longest `redirect_uri` the contract allows (TEXT(255)).
pub const MAX_REDIRECT_URI_LEN: usize = 255;

/// A client secret as the operator stores it.
#[derive(Clone)]
#[non_exhaustive]
pub enum StoredSecret {
    /// The secret itself.
    Plain(ClientSecret),
    /// The SHA-256 of the secret (so a leaked configuration does not leak the secret).
    Sha256([u8; 32]),
}

impl StoredSecret {
    /// A stored SHA-256 from its hex form (64 hex digits, either case).
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] when `hex_digest` is not exactly 64 hex digits.
    pub fn sha256_hex(hex_digest: &str) -> Result<Self, ConfigError> {
        let mut out = [0u8; 32];
        if hex::decode_to_slice(hex_digest, &mut out).is_err() {
            return Err(ConfigError(
                "a client secret hash must be 64 hex digits (SHA-256)".into(),
            ));
        }
        Ok(Self::Sha256(out))
    }

    /// Whether `presented` is the secret, in constant time.
    ///
    /// Both sides are compared as SHA-256 digests, so neither the content nor the length of the
    /// stored secret leaks through timing.
    pub fn verify(&self, presented: &str) -> bool {
        let presented = gameauth_core::sign::sha256(presented.as_bytes());
        let stored = match self {
            Self::Plain(secret) => gameauth_core::sign::sha256(secret.expose_secret().as_bytes()),
            Self::Sha256(digest) => *digest,
        };
        gameauth_core::secret::ct_eq_bytes(&presented, &stored)
    }
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Plain(_) => f.write_str("Plain([redacted])"),
            Self::Sha256(_) => f.write_str("Sha256([redacted])"),
        }
    }
}

/// A client the operator registered: its id, secret and redirect URIs.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    client_id: String,
    secret: StoredSecret,
    redirect_uris: Vec<String>,
}

impl RegisteredClient {
    /// A client. Fails when the id is empty or longer than 40 characters, when there is no
    /// redirect URI, or when a redirect URI is not an absolute `http(s)` URI without fragment,
    /// whitespace or control characters, at most 255 characters long.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] when `client_id` is empty, longer than [`MAX_CLIENT_ID_LEN`]
    /// (40) bytes or contains a control character; when a [`StoredSecret::Plain`] secret is empty
    /// or longer than [`MAX_CLIENT_SECRET_LEN`] (255) bytes; when `redirect_uris` is empty; or
    /// when a redirect URI is longer than [`MAX_REDIRECT_URI_LEN`] (255) bytes, does not start
    /// with `https://` or `http://`, has a fragment, whitespace or a control character, no host,
    /// or user information.
    pub fn new(
        client_id: impl Into<String>,
        secret: StoredSecret,
        redirect_uris: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, ConfigError> {
        let client_id = client_id.into();
        if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_LEN {
            return Err(ConfigError(format!(
                "client_id must be 1 to {MAX_CLIENT_ID_LEN} characters"
            )));
        }
        if client_id.chars().any(char::is_control) {
            return Err(ConfigError("client_id contains control characters".into()));
        }
        if let StoredSecret::Plain(s) = &secret
            && (s.is_empty() || s.expose_secret().len() > MAX_CLIENT_SECRET_LEN)
        {
            return Err(ConfigError(format!(
                "the secret of client {client_id} must be 1 to {MAX_CLIENT_SECRET_LEN} characters"
            )));
        }
        let redirect_uris: Vec<String> = redirect_uris.into_iter().map(Into::into).collect();
        if redirect_uris.is_empty() {
            return Err(ConfigError(format!(
                "client {client_id} needs at least one redirect URI"
            )));
        }
        for uri in &redirect_uris {
            validate_redirect_uri(uri).map_err(|why| {
                ConfigError(format!("a redirect URI of client {client_id} {why}"))
            })?;
        }
        Ok(Self {
            client_id,
            secret,
            redirect_uris,
        })
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The registered redirect URIs.
    pub fn redirect_uris(&self) -> &[String] {
        &self.redirect_uris
    }

    /// Whether `uri` is registered: plain string equality, nothing else (no prefix, case folding,
    /// normalisation or default ports).
    pub fn redirect_uri_matches(&self, uri: &str) -> bool {
        self.redirect_uri_allowed(uri, RedirectUriPolicy::Exact)
    }

    /// Whether `uri` matches one of the registered URIs under `policy`.
    pub fn redirect_uri_allowed(&self, uri: &str, policy: RedirectUriPolicy) -> bool {
        self.redirect_uris.iter().any(|r| policy.matches(r, uri))
    }

    /// Whether `presented` is this client's secret (constant time).
    pub fn verify_secret(&self, presented: &str) -> bool {
        self.secret.verify(presented)
    }
}

fn validate_redirect_uri(uri: &str) -> Result<(), &'static str> {
    if uri.len() > MAX_REDIRECT_URI_LEN {
        return Err("is longer than 255 characters");
    }
    if !(uri.starts_with("https://") || uri.starts_with("http://")) {
        return Err("must start with https:// or http://");
    }
    if uri.contains('#') {
        return Err("must not have a fragment");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain whitespace or control characters");
    }
    let authority = uri
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or(""))
        .unwrap_or("");
    if authority.is_empty() {
        return Err("must have a host");
    }
    if authority.contains('@') {
        return Err("must not contain user information");
    }
    Ok(())
}

/// Looks up clients by id (the operator's merchant configuration).
#[async_trait]
pub trait ClientRegistry: Send + Sync {
    /// The client with this id, or `None` when there is none.
    ///
    /// # Errors
    ///
    /// An implementation returns a [`HookError`] when it cannot look the client up (its
    /// database is unreachable); the server answers `server_error`
    /// ([`Reason::HookFailed`](crate::error::Reason::HookFailed)), never `invalid_client`.
    async fn client(&self, client_id: &str) -> Result<Option<Arc<RegisteredClient>>, HookError>;
}

/// A fixed set of clients held in memory.
#[derive(Debug, Clone, Default)]
pub struct StaticClients {
    clients: HashMap<String, Arc<RegisteredClient>>,
}

impl StaticClients {
    /// A registry of `clients`; fails on a duplicated client id.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] when two clients have the same id.
    pub fn new(clients: impl IntoIterator<Item = RegisteredClient>) -> Result<Self, ConfigError> {
        let mut map = HashMap::new();
        for c in clients {
            let id = c.client_id.clone();
            if map.insert(id.clone(), Arc::new(c)).is_some() {
                return Err(ConfigError(format!("client {id} is registered twice")));
            }
        }
        Ok(Self { clients: map })
    }
}

#[async_trait]
impl ClientRegistry for StaticClients {
    async fn client(&self, client_id: &str) -> Result<Option<Arc<RegisteredClient>>, HookError> {
        Ok(self.clients.get(client_id).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(uris: &[&str]) -> Result<RegisteredClient, ConfigError> {
        RegisteredClient::new(
            "VL001",
            StoredSecret::Plain(ClientSecret::new("s3cret")),
            uris.iter().copied(),
        )
    }

    #[test]
    fn client_secrets_compare_plain_and_hashed() {
        let plain = StoredSecret::Plain(ClientSecret::new("s3cret"));
        assert!(plain.verify("s3cret"));
        assert!(!plain.verify("s3cre"));
        assert!(!plain.verify("s3cret "));
        let hashed =
            StoredSecret::sha256_hex(&hex::encode_upper(gameauth_core::sign::sha256(b"s3cret")))
                .unwrap();
        assert!(hashed.verify("s3cret"));
        assert!(!hashed.verify("S3cret"));
        assert!(StoredSecret::sha256_hex("abc").is_err());
        assert!(StoredSecret::sha256_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn stored_secret_debug_is_pinned() {
        let c = client(&["https://fl.vegaslounge.live"]).unwrap();
        let dbg = format!("{c:?}");
        assert!(dbg.contains("Plain([redacted])"), "{dbg}");
        assert!(!dbg.contains("s3cret"));
        assert_eq!(
            format!("{:?}", StoredSecret::Sha256([0; 32])),
            "Sha256([redacted])"
        );
    }

    #[test]
    fn registered_redirect_uris_are_validated() {
        assert!(client(&["https://fl.vegaslounge.live"]).is_ok());
        assert!(client(&[]).is_err());
        assert!(client(&["https://fl.vegaslounge.live/#x"]).is_err());
        assert!(client(&["fl.vegaslounge.live"]).is_err());
        assert!(client(&["https://user@fl.vegaslounge.live"]).is_err());
        assert!(client(&["https:///path"]).is_err());
        assert!(client(&[&format!("https://a.b/{}", "x".repeat(250))]).is_err());
        assert!(
            RegisteredClient::new(
                "x".repeat(41),
                StoredSecret::Plain(ClientSecret::new("s")),
                ["https://a.b"]
            )
            .is_err()
        );
    }

    #[tokio::test]
    async fn duplicate_client_ids_are_refused() {
        let a = client(&["https://a.b"]).unwrap();
        assert!(StaticClients::new([a.clone(), a.clone()]).is_err());
        let reg = StaticClients::new([a]).unwrap();
        assert!(reg.client("VL001").await.unwrap().is_some());
        assert!(reg.client("vl001").await.unwrap().is_none());
    }
}
