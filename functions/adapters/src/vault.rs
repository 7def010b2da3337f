//! AES-256-GCM sealing of license passwords between submit and verify, and keyed fingerprints
//! of request bodies. The key is derived from a secret held in Secrets Manager.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use icp_domain::ports::Vault;
use icp_domain::validation::body_fingerprint;
use rand::RngCore;
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

pub struct AesVault {
    cipher: Aes256Gcm,
    fingerprint_key: [u8; 32],
}

impl AesVault {
    /// Separate keys for sealing and fingerprinting, both derived from the one secret.
    pub fn from_secret(secret: &str) -> AesVault {
        let derive = |purpose: &str| -> [u8; 32] {
            Sha256::new()
                .chain_update(purpose.as_bytes())
                .chain_update(secret.as_bytes())
                .finalize()
                .into()
        };
        AesVault {
            cipher: Aes256Gcm::new(&derive("icp-seal").into()),
            fingerprint_key: derive("icp-fingerprint"),
        }
    }
}

impl Vault for AesVault {
    fn seal(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a short message cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        B64.encode(out)
    }

    fn open(&self, sealed: &str, context: &str) -> Option<String> {
        let raw = B64.decode(sealed).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }

    fn fingerprint(&self, body: &[u8]) -> String {
        body_fingerprint(&self.fingerprint_key, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_under_their_context_and_key() {
        let vault = AesVault::from_secret("s3cret");
        let sealed = vault.seal("pässword", "r1#1");
        assert!(!sealed.contains("pässword"));
        assert_eq!(vault.open(&sealed, "r1#1").as_deref(), Some("pässword"));
        assert_eq!(vault.open(&sealed, "r1#2"), None);
        assert_eq!(AesVault::from_secret("other").open(&sealed, "r1#1"), None);
        assert_eq!(vault.open("bm90IHNlYWxlZA==", "r1#1"), None);
        assert_ne!(
            vault.seal("x", "c"),
            vault.seal("x", "c"),
            "fresh nonce each time"
        );
    }

    #[test]
    fn fingerprints_depend_on_body_and_key() {
        let a = AesVault::from_secret("a");
        assert_eq!(a.fingerprint(b"{}"), a.fingerprint(b"{}"));
        assert_ne!(a.fingerprint(b"{}"), a.fingerprint(b"{ }"));
        assert_ne!(
            a.fingerprint(b"{}"),
            AesVault::from_secret("b").fingerprint(b"{}")
        );
    }
}
