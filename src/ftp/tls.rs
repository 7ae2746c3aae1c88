//! The TLS client configuration for explicit FTPS (`AUTH TLS`), over rustls
//! with the ring provider.
//!
//! The server's certificate is checked against the system's root
//! certificates, or against certificates the caller names (a private CA or a
//! self-signed server certificate), and against the configured host name or
//! IP address.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// Which certificates the server's certificate must chain to when `tls` is
/// on.
#[derive(Debug, Clone, Default)]
pub enum TlsTrust {
    /// The root certificates installed on this system.
    #[default]
    SystemRoots,
    /// Only these certificates, DER-encoded (a private CA, or the server's
    /// own self-signed certificate).
    Certificates(Vec<Vec<u8>>),
}

impl TlsTrust {
    /// The certificates of a PEM file: every `CERTIFICATE` block in it.
    ///
    /// # Errors
    /// A phrase when the file cannot be read, a block is malformed, or it
    /// holds no certificate.
    pub fn from_pem_file(path: &std::path::Path) -> Result<TlsTrust, String> {
        use rustls::pki_types::pem::PemObject;

        let shown = path.display();
        let blocks = CertificateDer::pem_file_iter(path)
            .map_err(|error| format!("cannot read the certificates in `{shown}`: {error}"))?;
        let mut certificates = Vec::new();
        for block in blocks {
            let certificate = block
                .map_err(|error| format!("a certificate in `{shown}` is malformed: {error}"))?;
            certificates.push(certificate.as_ref().to_vec());
        }
        if certificates.is_empty() {
            return Err(format!("`{shown}` holds no certificate"));
        }
        Ok(TlsTrust::Certificates(certificates))
    }
}

/// Builds the client configuration, or says in a phrase why it cannot.
pub(crate) fn client_config(trust: &TlsTrust) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    match trust {
        TlsTrust::SystemRoots => {
            // Unreadable certificates among the system's are skipped: one
            // broken file must not stop uploads that do not need it.
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
        TlsTrust::Certificates(certificates) => {
            for certificate in certificates {
                roots
                    .add(CertificateDer::from(certificate.clone()))
                    .map_err(|error| format!("a trusted certificate cannot be used: {error}"))?;
            }
        }
    }
    if roots.is_empty() {
        return Err("no trusted root certificate was found".to_string());
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("tls cannot be configured: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty list of trusted certificates is refused rather than trusting
    /// nothing and failing every handshake with a vaguer message.
    #[test]
    fn an_empty_trust_list_is_refused() {
        let error = client_config(&TlsTrust::Certificates(Vec::new())).unwrap_err();
        assert_eq!(error, "no trusted root certificate was found");
    }

    /// A PEM file without a certificate block is refused with its name.
    #[test]
    fn a_pem_file_without_certificates_is_refused() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("empty.pem");
        std::fs::write(&path, "no certificate here\n").unwrap();
        let error = TlsTrust::from_pem_file(&path).unwrap_err();
        assert!(error.ends_with("holds no certificate"), "{error}");
        let missing = TlsTrust::from_pem_file(&folder.path().join("missing.pem")).unwrap_err();
        assert!(
            missing.starts_with("cannot read the certificates"),
            "{missing}"
        );
    }

    /// Bytes that are no certificate are refused with a phrase.
    #[test]
    fn garbage_certificates_are_refused() {
        let error = client_config(&TlsTrust::Certificates(vec![vec![1, 2, 3]])).unwrap_err();
        assert!(
            error.starts_with("a trusted certificate cannot be used"),
            "{error}"
        );
    }
}
