//! TLS set-up shared by the upload client ([`crate::sync`]) and the office server
//! ([`crate::server`]): one crypto provider (ring, no system OpenSSL) for the whole process.

/// Installs the process-wide TLS crypto provider (ring); harmless when already installed.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
