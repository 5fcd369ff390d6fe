//! Webhook signatures as cxone-dedup checks them: the lowercase hex HMAC-SHA256 of the
//! raw request body, or of `<prefix><body>` when the sender signs a timestamp too
//! (`prefix` = `"<timestamp>."`). Plain Rust, no N-API: the addon's face calls it so the
//! request path does not pay Node's per-call crypto object overhead (several µs).
//!
//! SHA-256 uses the CPU's SHA extensions when present (detected at run time by `sha2`).
#![forbid(unsafe_code)]

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Bytes in a SHA-256 digest.
pub const DIGEST_LEN: usize = 32;
/// Hex digits in a signature.
pub const HEX_LEN: usize = 2 * DIGEST_LEN;

type HmacSha256 = Hmac<Sha256>;

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (long ones are hashed first): this cannot fail.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// HMAC-SHA256 of `prefix` followed by `message`, keyed with `key`.
pub fn sign(key: &[u8], prefix: &[u8], message: &[u8]) -> [u8; DIGEST_LEN] {
    let mut mac = keyed(key);
    mac.update(prefix);
    mac.update(message);
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// The 32 bytes written as exactly 64 hex digits (either case), or None.
/// Looks only at the claimed signature, never at the key, so an early None leaks nothing.
pub fn decode_hex(hex: &[u8]) -> Option<[u8; DIGEST_LEN]> {
    if hex.len() != HEX_LEN {
        return None;
    }
    let mut out = [0u8; DIGEST_LEN];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex of a digest.
pub fn encode_hex(digest: &[u8; DIGEST_LEN]) -> [u8; HEX_LEN] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; HEX_LEN];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = DIGITS[(b >> 4) as usize];
        out[2 * i + 1] = DIGITS[(b & 15) as usize];
    }
    out
}

/// A key made ready once: its HMAC pads are absorbed when it is made, so each check hashes only
/// the prefix and the message (two SHA-256 blocks fewer per call than [`verify_hex`]).
#[derive(Clone)]
pub struct KeyedHmac {
    mac: HmacSha256,
}

impl KeyedHmac {
    pub fn new(key: &[u8]) -> Self {
        KeyedHmac { mac: keyed(key) }
    }

    /// [`verify_hex`] with this key.
    pub fn verify_hex(&self, prefix: &[u8], message: &[u8], signature_hex: &[u8]) -> bool {
        verify_with(|| self.mac.clone(), prefix, message, signature_hex)
    }
}

/// True when `signature_hex` is the HMAC of `prefix ‖ message`. The digest comparison is
/// constant-time (`hmac`'s `verify_slice`); a malformed signature is rejected before any
/// HMAC work.
pub fn verify_hex(key: &[u8], prefix: &[u8], message: &[u8], signature_hex: &[u8]) -> bool {
    verify_with(|| keyed(key), prefix, message, signature_hex)
}

/// Both `verify_hex`es: the signature is decoded before `mac` is asked for, so a malformed one
/// costs no HMAC work.
#[inline]
fn verify_with(mac: impl FnOnce() -> HmacSha256, prefix: &[u8], message: &[u8], signature_hex: &[u8]) -> bool {
    let Some(claimed) = decode_hex(signature_hex) else {
        return false;
    };
    let mut mac = mac();
    mac.update(prefix);
    mac.update(message);
    mac.verify_slice(&claimed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_hmac_answers_as_verify_hex() {
        let key = b"bench-secret-0123456789abcdef";
        let k = KeyedHmac::new(key);
        for (prefix, message) in [(&b""[..], &b"body"[..]), (b"1767225600.", b"{\"a\":1}"), (b"", b"")] {
            let sig = encode_hex(&sign(key, prefix, message));
            assert!(k.verify_hex(prefix, message, &sig));
            assert!(verify_hex(key, prefix, message, &sig));
            let mut bad = sig;
            bad[0] = if bad[0] == b'0' { b'1' } else { b'0' };
            assert!(!k.verify_hex(prefix, message, &bad));
            assert!(!k.verify_hex(b"x", message, &sig), "the prefix is signed");
        }
        assert!(!k.verify_hex(b"", b"body", b"short"));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 4231 test cases 1, 2, 3, 4, 6 and 7 (HMAC-SHA-256 column).
    fn rfc4231() -> Vec<(Vec<u8>, Vec<u8>, &'static str)> {
        vec![
            (vec![0x0b; 20], b"Hi There".to_vec(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe".to_vec(), b"what do ya want for nothing?".to_vec(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (vec![0xaa; 20], vec![0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), vec![0xcd; 50], "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            (vec![0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ]
    }

    #[test]
    fn matches_rfc_4231() {
        for (key, data, expected) in rfc4231() {
            assert_eq!(encode_hex(&sign(&key, b"", &data)).as_slice(), expected.as_bytes());
            assert!(verify_hex(&key, b"", &data, expected.as_bytes()));
            assert!(verify_hex(&key, b"", &data, expected.to_uppercase().as_bytes()));
        }
    }

    #[test]
    fn prefix_is_concatenated() {
        let key = b"webhook-secret-0123456789";
        let joined = sign(key, b"", b"1767225600.{\"a\":1}");
        assert_eq!(sign(key, b"1767225600.", b"{\"a\":1}"), joined);
        assert!(verify_hex(key, b"1767225600.", b"{\"a\":1}", &encode_hex(&joined)));
        // The boundary does not matter, the bytes do.
        assert_eq!(sign(key, b"1767225600", b".{\"a\":1}"), joined);
        assert_ne!(sign(key, b"1767225601.", b"{\"a\":1}"), joined);
    }

    #[test]
    fn rejects_wrong_or_malformed_signatures() {
        let key = b"k";
        let good = encode_hex(&sign(key, b"", b"body"));
        assert!(verify_hex(key, b"", b"body", &good));
        assert!(!verify_hex(key, b"", b"body!", &good));
        assert!(!verify_hex(b"other", b"", b"body", &good));
        let mut flipped = good;
        flipped[63] = if flipped[63] == b'0' { b'1' } else { b'0' };
        assert!(!verify_hex(key, b"", b"body", &flipped));
        assert!(!verify_hex(key, b"", b"body", &good[..63]));
        let mut long = good.to_vec();
        long.push(b'0');
        assert!(!verify_hex(key, b"", b"body", &long));
        assert!(!verify_hex(key, b"", b"body", b""));
        let mut bad = good;
        bad[0] = b'g';
        assert!(!verify_hex(key, b"", b"body", &bad));
        assert_eq!(decode_hex(b"zz"), None);
    }

    #[test]
    fn empty_key_and_message_are_fine() {
        // HMAC-SHA256("", "") — a well-known value.
        assert_eq!(
            encode_hex(&sign(b"", b"", b"")).as_slice(),
            b"b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"
        );
    }
}
