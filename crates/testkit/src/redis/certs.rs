//! Certificates made at test time: a private CA, a server certificate for `127.0.0.1` and
//! `localhost`, and a client certificate, written as PEM files into a private directory.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use super::private_dir;

/// A CA with one server and one client certificate, as PEM files (removed on drop).
#[derive(Debug)]
pub struct TestCertificates {
    dir: PathBuf,
}

impl TestCertificates {
    /// Makes a fresh CA, a server certificate (`127.0.0.1`, `::1`, `localhost`) and a client
    /// certificate, both signed by the CA.
    ///
    /// # Panics
    /// When a certificate cannot be made or written.
    pub fn generate() -> Self {
        let dir = private_dir("certs");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "gameauth test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key"))
            .expect("self-signed CA");

        let leaf = |names: Vec<String>, common_name: &str, purpose: ExtendedKeyUsagePurpose| {
            let mut params = CertificateParams::new(names).expect("leaf parameters");
            params
                .distinguished_name
                .push(DnType::CommonName, common_name);
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![purpose];
            let key = KeyPair::generate().expect("leaf key");
            let cert = params.signed_by(&key, &ca).expect("leaf certificate");
            (cert.pem(), key.serialize_pem())
        };
        let (server, server_key) = leaf(
            vec!["127.0.0.1".into(), "::1".into(), "localhost".into()],
            "redis test server",
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client, client_key) = leaf(
            Vec::new(),
            "gameauth test client",
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        for (name, pem) in [
            ("ca.crt", ca.pem()),
            ("server.crt", server),
            ("server.key", server_key),
            ("client.crt", client),
            ("client.key", client_key),
        ] {
            std::fs::write(dir.join(name), pem).expect("write a test certificate");
        }
        Self { dir }
    }

    /// The CA certificate (PEM).
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The server certificate (PEM).
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.crt")
    }

    /// The server's private key (PEM).
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    /// The client certificate (PEM).
    pub fn client_cert(&self) -> PathBuf {
        self.dir.join("client.crt")
    }

    /// The client's private key (PEM).
    pub fn client_key(&self) -> PathBuf {
        self.dir.join("client.key")
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Client TLS settings trusting this CA and presenting the client certificate.
    ///
    /// # Panics
    /// When the files cannot be read (they were written by [`generate`](Self::generate)).
    pub fn client_tls(&self) -> gameauth_core::redis::TlsConfig {
        gameauth_core::redis::TlsConfig::system_roots()
            .with_ca_file(self.ca())
            .and_then(|t| t.with_client_certificate_files(self.client_cert(), self.client_key()))
            .expect("test certificates are valid")
    }
}

impl Drop for TestCertificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_pem_and_accepted_by_the_client_settings() {
        let certs = TestCertificates::generate();
        for path in [certs.ca(), certs.server_cert(), certs.client_cert()] {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.starts_with("-----BEGIN CERTIFICATE-----"), "{path:?}");
        }
        let tls = certs.client_tls();
        assert!(!tls.uses_system_roots() && tls.has_client_certificate());
        let dir = certs.dir().to_owned();
        drop(certs);
        assert!(!dir.exists());
    }
}
