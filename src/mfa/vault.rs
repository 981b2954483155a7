//! Encryption at rest for TOTP seeds enrolled by chat: XChaCha20-Poly1305 under
//! the configured 32-byte key (`mfa.encryption_key`).
//!
//! XChaCha's 192-bit nonce is drawn at random for every seal, so nonces never
//! need a counter that survives restarts or is shared between replicas. The
//! user's name is the associated data: a ciphertext copied into another user's
//! row fails authentication instead of handing that user someone else's seed.
//! The store's columns are TEXT, so a sealed value is text:
//! `xc1:` + lower-case hex of nonce ‖ ciphertext ‖ tag. The prefix names the
//! format so a later one (another algorithm, a rotated key) can sit beside it.

use std::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};

/// The format tag at the start of every sealed value.
const PREFIX: &str = "xc1:";
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
/// Larger sealed values are refused unread: seeds are tens of bytes, and a
/// damaged row should not make us decode megabytes.
const MAX_SEALED_CHARS: usize = 4096;
/// Domain separation: these keys and ciphertexts are for MFA seeds only.
const AAD_CONTEXT: &[u8] = b"switchyard mfa seed v1\0";

/// Seals and opens seeds. `Debug` never shows the key.
#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
}

/// Why sealing or opening failed. Never carries key, seed or ciphertext bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("the key must be 64 hex digits (32 bytes)")]
    BadKey,
    #[error("encryption failed")]
    Seal,
    #[error("the stored value is not in a known format")]
    Malformed,
    /// Wrong key, another user's ciphertext, or a modified one: the AEAD cannot
    /// tell these apart, and neither should an attacker.
    #[error("the stored value does not decrypt with this key for this user")]
    Open,
}

impl Vault {
    /// A vault keyed by 64 hex digits, as `mfa.encryption_key` holds them.
    pub fn from_hex(hex: &str) -> Result<Vault, VaultError> {
        let bytes = decode_hex(hex.trim()).ok_or(VaultError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| VaultError::BadKey)?;
        Ok(Vault::new(&key))
    }

    pub fn new(key: &[u8; 32]) -> Vault {
        Vault {
            cipher: XChaCha20Poly1305::new(&Key::from(*key)),
        }
    }

    /// Encrypts `plaintext` for `user` under a fresh random nonce.
    pub fn seal(&self, user: &str, plaintext: &[u8]) -> Result<String, VaultError> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::fill(&mut nonce[..]);
        let aad = associated_data(user);
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Seal)?;
        let mut out = String::with_capacity(PREFIX.len() + 2 * (NONCE_BYTES + sealed.len()));
        out.push_str(PREFIX);
        encode_hex(&nonce, &mut out);
        encode_hex(&sealed, &mut out);
        Ok(out)
    }

    /// Decrypts what [`Vault::seal`] produced for the same `user`.
    pub fn open(&self, user: &str, sealed: &str) -> Result<Vec<u8>, VaultError> {
        if sealed.len() > MAX_SEALED_CHARS {
            return Err(VaultError::Malformed);
        }
        let hex = sealed.strip_prefix(PREFIX).ok_or(VaultError::Malformed)?;
        let bytes = decode_hex(hex).ok_or(VaultError::Malformed)?;
        if bytes.len() < NONCE_BYTES + TAG_BYTES {
            return Err(VaultError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| VaultError::Malformed)?;
        let aad = associated_data(user);
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Open)
    }
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Vault { key: [redacted] }")
    }
}

/// The context tag, then the user name: binds a ciphertext to its owner.
fn associated_data(user: &str) -> Vec<u8> {
    [AAD_CONTEXT, user.as_bytes()].concat()
}

fn encode_hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// Hex of either case; `None` for an odd length or a non-hex character.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    text.chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::new(&[7u8; 32])
    }

    #[test]
    fn a_sealed_value_opens_for_its_user_only() {
        let sealed = vault().seal("alice", b"seed bytes").expect("seals");
        assert!(sealed.starts_with(PREFIX));
        assert_eq!(
            vault().open("alice", &sealed).expect("opens"),
            b"seed bytes"
        );
        assert_eq!(vault().open("bob", &sealed), Err(VaultError::Open));
        assert_eq!(
            Vault::new(&[8u8; 32]).open("alice", &sealed),
            Err(VaultError::Open)
        );
    }

    #[test]
    fn every_seal_uses_a_new_nonce() {
        let (a, b) = (
            vault().seal("alice", b"x").unwrap(),
            vault().seal("alice", b"x").unwrap(),
        );
        assert_ne!(a, b);
    }

    #[test]
    fn damaged_values_are_refused_not_panicked_on() {
        let sealed = vault().seal("alice", b"seed bytes").unwrap();
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(vault().open("alice", &flipped), Err(VaultError::Open));
        for bad in [
            "",
            "xc1:",
            "xc1:abc",
            "xc1:zz",
            "JBSWY3DPEHPK3PXP",
            &"xc1:00".repeat(2000),
        ] {
            assert_eq!(
                vault().open("alice", bad),
                Err(VaultError::Malformed),
                "{bad:.20}"
            );
        }
    }

    #[test]
    fn keys_are_64_hex_digits() {
        assert!(Vault::from_hex(&"aB".repeat(32)).is_ok());
        assert_eq!(
            Vault::from_hex(&"ab".repeat(31)).unwrap_err(),
            VaultError::BadKey
        );
        assert_eq!(
            Vault::from_hex(&"zz".repeat(32)).unwrap_err(),
            VaultError::BadKey
        );
        assert_eq!(format!("{:?}", vault()), "Vault { key: [redacted] }");
    }
}
