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
