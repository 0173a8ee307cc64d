//! TLS settings for `rediss://` connections: which roots to trust and an optional client
//! certificate, checked when the settings are made so a bad file fails at start-up.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::{ExposeSecret, SecretSlice};

use super::RedisFailure;

/// Which server certificates to trust on `rediss://` connections, and the client certificate
/// to present when the server asks for one (mutual TLS).
///
/// The default trusts the operating system's roots and presents no client certificate. Server
/// certificates are always verified, host name included; there is no switch to turn that off
/// (a `#insecure` URL is refused).
///
/// ```no_run
/// # fn run() -> Result<(), gameauth_core::redis::RedisFailure> {
/// use gameauth_core::redis::TlsConfig;
///
/// let tls = TlsConfig::system_roots()
///     .with_ca_file("/etc/gameauth/redis-ca.pem")?
///     .with_client_certificate_files("/etc/gameauth/redis-client.pem", "/etc/gameauth/redis-client.key")?;
/// # let _ = tls;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct TlsConfig {
    ca_pem: Option<Vec<u8>>,
    client: Option<ClientCertificate>,
}

#[derive(Clone)]
struct ClientCertificate {
    chain_pem: Vec<u8>,
    key_pem: Arc<SecretSlice<u8>>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field(
                "roots",
                &if self.ca_pem.is_some() {
                    "configured CA"
                } else {
                    "system"
                },
            )
            .field("client_certificate", &self.client.is_some())
            .finish()
    }
}

impl TlsConfig {
    /// Trust the operating system's root certificates; no client certificate.
    pub fn system_roots() -> Self {
        Self::default()
    }

    /// Trust only the certificates in `pem` (one or more `CERTIFICATE` blocks) instead of the
    /// system roots.
    ///
    /// # Errors
    /// [`RedisFailure::Config`] when `pem` holds no certificate or a malformed one.
    pub fn with_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Result<Self, RedisFailure> {
        let pem = pem.into();
        check_certificates(&pem, "the CA")?;
        self.ca_pem = Some(pem);
        Ok(self)
    }

    /// [`with_ca_pem`](Self::with_ca_pem) with the contents of the file at `path`.
    ///
    /// # Errors
    /// [`RedisFailure::Config`] when the file cannot be read or holds no certificate.
    pub fn with_ca_file(self, path: impl AsRef<Path>) -> Result<Self, RedisFailure> {
        let pem = read(path.as_ref(), "CA file")?;
        self.with_ca_pem(pem)
    }

    /// Present this client certificate (`chain_pem`: the certificate, then any intermediates)
    /// with its private key (`key_pem`: PKCS#8, PKCS#1 or SEC1) when the server asks for one.
    ///
    /// # Errors
    /// [`RedisFailure::Config`] when either is malformed. The key's contents are never quoted.
    pub fn with_client_certificate(
        mut self,
        chain_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Result<Self, RedisFailure> {
        let chain_pem = chain_pem.into();
        check_certificates(&chain_pem, "the client certificate")?;
        let key_pem: SecretSlice<u8> = key_pem.into().into();
        if PrivateKeyDer::from_pem_slice(key_pem.expose_secret()).is_err() {
            return Err(RedisFailure::Config(
                "the client key holds no PEM private key (PKCS#8, PKCS#1 or SEC1)".into(),
            ));
        }
        self.client = Some(ClientCertificate {
            chain_pem,
            key_pem: Arc::new(key_pem),
        });
        Ok(self)
    }

    /// [`with_client_certificate`](Self::with_client_certificate) with the contents of two files.
    ///
    /// # Errors
    /// [`RedisFailure::Config`] when a file cannot be read or is malformed.
    pub fn with_client_certificate_files(
        self,
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, RedisFailure> {
        let chain = read(chain.as_ref(), "client certificate file")?;
        let key = read(key.as_ref(), "client key file")?;
        self.with_client_certificate(chain, key)
    }

    /// Whether the trusted roots are the system's.
    pub fn uses_system_roots(&self) -> bool {
        self.ca_pem.is_none()
    }

    /// Whether a client certificate is configured.
    pub fn has_client_certificate(&self) -> bool {
        self.client.is_some()
    }

    /// The certificates in the form the `redis` crate takes, or `None` when the defaults (system
    /// roots, no client certificate) apply.
    pub(crate) fn certificates(&self) -> Option<::redis::TlsCertificates> {
        if self.ca_pem.is_none() && self.client.is_none() {
            return None;
        }
        Some(::redis::TlsCertificates {
            client_tls: self.client.as_ref().map(|c| ::redis::ClientTlsConfig {
                client_cert: c.chain_pem.clone(),
                client_key: c.key_pem.expose_secret().to_vec(),
            }),
            root_cert: self.ca_pem.clone(),
        })
    }
}

fn check_certificates(pem: &[u8], what: &str) -> Result<(), RedisFailure> {
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        if cert.is_err() {
            return Err(RedisFailure::Config(format!(
                "{what} holds a malformed PEM certificate"
            )));
        }
        count += 1;
    }
    if count == 0 {
        return Err(RedisFailure::Config(format!(
            "{what} holds no PEM certificate"
        )));
    }
    Ok(())
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, RedisFailure> {
    std::fs::read(path).map_err(|e| {
        RedisFailure::Config(format!(
            "cannot read the Redis TLS {what} {}: {}",
            path.display(),
            e.kind()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_or_empty_pem_is_refused_without_quoting_the_key() {
        assert!(TlsConfig::system_roots().with_ca_pem("not pem").is_err());
        let broken = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        assert!(TlsConfig::system_roots().with_ca_pem(broken).is_err());
        let err = TlsConfig::system_roots()
            .with_client_certificate(broken, "secret-key-material")
            .unwrap_err();
        assert!(!err.to_string().contains("secret-key-material"), "{err}");
        let err = TlsConfig::system_roots()
            .with_ca_file("/nonexistent/ca.pem")
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn defaults_need_no_certificates_and_debug_shows_no_material() {
        let tls = TlsConfig::system_roots();
        assert!(tls.certificates().is_none());
        assert!(tls.uses_system_roots());
        assert_eq!(
            format!("{tls:?}"),
            "TlsConfig { roots: \"system\", client_certificate: false }"
        );
    }
}
