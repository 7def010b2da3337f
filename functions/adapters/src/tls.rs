//! The CA certificates the functions' HTTPS clients trust (the AWS SDK's and the authority's).
//!
//! Left to themselves both load the platform's roots through rustls-native-certs, which reads
//! the system's CA bundle *and* every file of the certificate directory beside it: the same
//! certificates again, one file each (hundreds on Debian). Measured here, that directory scan
//! was 6 ms of each function's cold start; the bundle alone holds every certificate.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::OnceLock;

/// The system's CA bundle (PEM), read once per cold start: `SSL_CERT_FILE` or the platform's
/// usual file. `None` — no such file, or a certificate in it rustls cannot take as a root —
/// leaves the clients to the platform's native roots.
pub fn system_ca_bundle() -> Option<&'static [u8]> {
    static BUNDLE: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    BUNDLE
        .get_or_init(|| {
            let pem = std::fs::read(openssl_probe::probe().cert_file?).ok()?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                roots.add(cert.ok()?).ok()?;
            }
            (!roots.is_empty()).then_some(pem)
        })
        .as_deref()
}

/// An HTTPS client for calls outside AWS (the authority's intake), trusting the system bundle
/// and giving up after `timeout`.
pub fn http_client(timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    // reqwest is built without a crypto provider of its own: install ring, which the SDK's
    // client uses too, as the process's default (a second call finds it there).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = reqwest::Client::builder().timeout(timeout);
    let builder = match system_ca_bundle() {
        Some(pem) => reqwest::Certificate::from_pem_bundle(pem)?
            .into_iter()
            .fold(builder.tls_built_in_root_certs(false), |b, cert| {
                b.add_root_certificate(cert)
            }),
        None => builder,
    };
    builder.build()
}
