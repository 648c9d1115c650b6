//! TLS set-up shared by the upload client ([`crate::sync`]) and the office server
//! ([`crate::server`]): one crypto provider (ring, no system OpenSSL) for the whole process.

/// Installs the process-wide TLS crypto provider (ring); harmless when already installed.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The office server's TLS configuration from PEM files: the certificate chain and its key.
pub fn server_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> std::io::Result<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |what: &dyn std::fmt::Display| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid(&format_args!("{}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(invalid(&format_args!("{}: no certificate", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| invalid(&format_args!("{}: {e}", key.display())))?;
    install_crypto_provider();
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| invalid(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
