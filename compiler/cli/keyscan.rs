//! The private-key scan of build-context inputs, fed in chunks while the
//! same bytes are hashed (`digests.rs`), so a file of any size is read once
//! and scanned whole. A key that would land in an image layer is refused.
//!
//! What counts as a private key (each found wherever it starts, also across
//! chunk boundaries):
//!
//! * PEM / RFC 7468 armour whose label names a private key: every
//!   `-----BEGIN <LABEL>-----` with a label ending in `PRIVATE KEY` (`RSA`,
//!   `EC`, `DSA`, `ENCRYPTED`, `OPENSSH`, `ANY`, plain PKCS#8, ...), and
//!   OpenPGP's `-----BEGIN PGP PRIVATE KEY BLOCK-----` (RFC 4880 §6.2).
//! * The ssh.com / SECSH armour `---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----`
//!   and PuTTY's `PuTTY-User-Key-File-N:` (both read by PuTTY's `import.c`
//!   and `sshpubk.c`, github.com/github/putty).
//! * An OpenSSH key in binary (de-armoured) form: the magic
//!   `openssh-key-v1\0` (OpenSSH's `PROTOCOL.key`).
//! * DER-encoded keys, recognised by their whole ASN.1 structure (a prefix
//!   alone would match random data about once per 16 MiB):
//!   - PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey` (RFC 5208 §5, RFC 5958
//!     §2): `SEQUENCE { INTEGER 0|1, SEQUENCE { OID, ... }, OCTET STRING,
//!     [0] attributes OPTIONAL, [1] publicKey OPTIONAL }`;
//!   - PKCS#8 `EncryptedPrivateKeyInfo` (RFC 5208 §6): `SEQUENCE {
//!     SEQUENCE { OID, ... }, OCTET STRING }` whose algorithm is PBES1 or
//!     PBES2 (RFC 8018 A.3, A.4: 1.2.840.113549.1.5.*) or a PKCS#12 PBE
//!     scheme (RFC 7292 Appendix C: 1.2.840.113549.1.12.1.*); this also
//!     finds the shrouded key bags inside PKCS#12 (`.p12`, `.pfx`) files;
//!   - PKCS#1 `RSAPrivateKey` (RFC 8017 A.1.2): `SEQUENCE { INTEGER 0|1`
//!     and eight more INTEGERs, the modulus at least 512 bits, `[ otherPrimeInfos ] }`;
//!   - SEC1 `ECPrivateKey` (RFC 5915 §3): `SEQUENCE { INTEGER 1, OCTET
//!     STRING (16 to 66 bytes), [0] parameters, [1] publicKey }` with at
//!     least one of the two tagged fields (OpenSSL writes both);
//!   - OpenSSL's DSA private key (`DSAPrivateKey` in OpenSSL's
//!     `crypto/dsa/dsa_asn1.c`): `SEQUENCE` of six INTEGERs, the first 0.
//!
//!   Every element must be well-formed DER (definite, minimal lengths) and
//!   the elements must fill the outer `SEQUENCE` exactly. Certificates,
//!   public keys, CMS and PKCS#12 envelopes have other shapes (an X.509
//!   `TBSCertificate` has a version `[0]` or a serial then SEQUENCEs, not an
//!   OCTET STRING; CMS has a SET after its version) and are not matched.
//!   Structures larger than [`MAX_DER`] are not considered keys (a
//!   16384-bit RSA key is under 10 KiB).
//!
//! Not recognised: unarmoured binary OpenPGP secret-key packets (their
//! header is a few bytes with no structure to check), and DER over `MAX_DER`.
//!
//! A finding names the kind and the byte offset, never the bytes.

use std::io::{self, Read};

/// Largest DER structure recognised as a key, in bytes.
pub const MAX_DER: usize = 64 * 1024;

/// How far past an anchor the scan must see before it decides: a whole
/// DER structure, or a PEM label.
const LOOKAHEAD: usize = MAX_DER + 16;

/// How far before an anchor a structure may start (two DER headers).
const LOOKBEHIND: usize = 10;

/// Bytes read at a time.
const CHUNK: usize = 1 << 20;

/// Bytes read the first time: most inputs are small, and a zeroed buffer
/// of a whole `CHUNK` for each cost more than reading them.
const FIRST_CHUNK: usize = 64 * 1024;

/// A private key found in an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// What it is, in words ("a PEM private key", ...).
    pub kind: &'static str,
    /// Where it starts, in bytes from the start of the file.
    pub offset: u64,
}

/// Every kind a finding may have (the digest cache stores the kind by name).
pub const KINDS: &[&str] = &[
    "a PEM private key",
    "a PGP private key block",
    "an SSH2 private key",
    "a PuTTY private key",
    "an OpenSSH private key",
    "a DER-encoded PKCS#8 private key",
    "a DER-encoded encrypted PKCS#8 private key",
    "a DER-encoded PKCS#1 RSA private key",
    "a DER-encoded SEC1 EC private key",
    "a DER-encoded DSA private key",
];

/// PKCS#5 PBES1/PBES2 algorithm identifiers, `1.2.840.113549.1.5.` (RFC 8018
/// Appendix A.3/A.4), as the DER of the OID up to the last arc.
const PBE_PKCS5: &[u8] = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x05";
/// PKCS#12 PBE algorithm identifiers, `1.2.840.113549.1.12.1.` (RFC 7292 Appendix C).
const PBE_PKCS12: &[u8] = b"\x06\x0a\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x01";

/// Reads `file` to its end in chunks, handing every chunk to `each` (the
/// hasher) and scanning all bytes for a private key. Memory stays bounded
/// (one chunk plus [`LOOKAHEAD`]) whatever the size. Stops at the first key.
pub fn stream(file: &mut dyn Read, each: &mut dyn FnMut(&[u8])) -> io::Result<Option<Found>> {
    let mut buf = vec![0u8; LOOKAHEAD + LOOKBEHIND + FIRST_CHUNK];
    // `buf[..len]` holds file bytes from offset `base`; anchors before `from` were examined.
    let (mut len, mut from, mut base) = (0usize, 0usize, 0u64);
    loop {
        let start = len;
        let mut eof = false;
        while len < buf.len() {
            match file.read(&mut buf[len..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        each(&buf[start..len]);
        let limit = if eof { len } else { len - LOOKAHEAD };
        if let Some(at) = scan(&buf[..len], from, limit) {
            return Ok(Some(Found { kind: at.1, offset: base + at.0 as u64 }));
        }
        if eof {
            return Ok(None);
        }
        // Keep what the next anchors may still need: the bytes from just
        // before the first unexamined anchor.
        let keep = limit - limit.min(LOOKBEHIND);
        buf.copy_within(keep..len, 0);
        base += keep as u64;
        len -= keep;
        from = limit - keep;
        // A large input: read it in whole chunks from now on.
        buf.resize(LOOKAHEAD + LOOKBEHIND + CHUNK, 0);
    }
}

/// The first key whose anchor lies in `from..limit` of `w` (which holds
/// every byte such a key can span, or the rest of the file).
fn scan(w: &[u8], from: usize, limit: usize) -> Option<(usize, &'static str)> {
    if from >= limit {
        return None;
    }
    let mut first: Option<(usize, &'static str)> = None;
    let mut note = |found: Option<(usize, &'static str)>| {
        if let Some(f) = found
            && first.is_none_or(|g| f.0 < g.0)
        {
            first = Some(f);
        }
    };
    let hay = &w[from..];
    let anchors = |needle: &'static [u8]| {
        memchr::memmem::find_iter(hay, needle).map(move |i| from + i).take_while(move |&i| i < limit)
    };
    note(anchors(b"-----BEGIN ").find_map(|at| pem(w, at).map(|k| (at, k))));
    note(anchors(b"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----").next().map(|at| (at, "an SSH2 private key")));
    note(
        anchors(b"PuTTY-User-Key-File-")
            .find(|&at| w.get(at + 20).is_some_and(u8::is_ascii_digit) && w.get(at + 21) == Some(&b':'))
            .map(|at| (at, "a PuTTY private key")),
    );
    note(anchors(b"openssh-key-v1\0").next().map(|at| (at, "an OpenSSH private key")));
    // DER: the version INTEGER of PKCS#8, PKCS#1, SEC1 and DSA keys, after
    // the outer SEQUENCE's header (2 to 5 bytes).
    note(anchors(b"\x02\x01").find_map(|at| {
        if !matches!(w.get(at + 2), Some(0 | 1)) {
            return None;
        }
        (2..=5).filter(|&h| at >= h).find_map(|h| {
            let start = at - h;
            let (tag, body, _) = tlv(w, start)?;
            (tag == 0x30 && body == at).then(|| der_key(w, start).map(|k| (start, k)))?
        })
    }));
    // DER: the algorithm of an EncryptedPrivateKeyInfo, after two SEQUENCE headers.
    for needle in [PBE_PKCS5, PBE_PKCS12] {
        note(anchors(needle).find_map(|at| {
            (2..=5).filter(|&hi| at >= hi).find_map(|hi| {
                let inner = at - hi;
                (2..=5).filter(|&ho| inner >= ho).find_map(|ho| {
                    let start = inner - ho;
                    let (tag, body, _) = tlv(w, start)?;
                    let (itag, ibody, _) = tlv(w, inner)?;
                    (tag == 0x30 && body == inner && itag == 0x30 && ibody == at)
                        .then(|| der_key(w, start).map(|k| (start, k)))?
                })
            })
        }));
    }
    first
}

/// The kind of PEM block at `at` (which starts `-----BEGIN `) when its label
/// names a private key.
fn pem(w: &[u8], at: usize) -> Option<&'static str> {
    let rest = &w[at + 11..];
    let label_len = rest.iter().take(80).position(|&b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' '))?;
    if !rest[label_len..].starts_with(b"-----") {
        return None;
    }
    let label = &rest[..label_len];
    if label == b"PGP PRIVATE KEY BLOCK" {
        Some("a PGP private key block")
    } else if label.ends_with(b"PRIVATE KEY") {
        Some("a PEM private key")
    } else {
        None
    }
}

/// The DER element at `at`: (tag, start of its content, end). Definite,
/// minimally encoded lengths of at most three bytes; `None` when malformed
/// or when it does not end inside `w`. Tags are single-byte (low tag numbers).
fn tlv(w: &[u8], at: usize) -> Option<(u8, usize, usize)> {
    let tag = *w.get(at)?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *w.get(at + 1)?;
    let (len, body) = if first < 0x80 {
        (first as usize, at + 2)
    } else {
        let n = (first & 0x7f) as usize;
        if !(1..=3).contains(&n) {
            return None;
        }
        let bytes = w.get(at + 2..at + 2 + n)?;
        if bytes[0] == 0 {
            return None;
        }
        let len = bytes.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
        if len < 0x80 {
            return None;
        }
        (len, at + 2 + n)
    };
    let end = body.checked_add(len)?;
    (end <= w.len()).then_some((tag, body, end))
}

/// The elements (tag, content start, content end) that fill `start..end`
/// exactly, at most `max` of them.
fn elements(w: &[u8], start: usize, end: usize, max: usize) -> Option<Vec<(u8, usize, usize)>> {
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        if out.len() == max {
            return None;
        }
        let (tag, body, next) = tlv(&w[..end], at)?;
        out.push((tag, body, next));
        at = next;
    }
    Some(out)
}

/// An AlgorithmIdentifier: a SEQUENCE filled by an OID and at most one
/// parameter element. Returns the OID's content.
fn algorithm(w: &[u8], (tag, body, end): (u8, usize, usize)) -> Option<&[u8]> {
    if tag != 0x30 {
        return None;
    }
    let parts = elements(w, body, end, 2)?;
    let &(otag, ob, oe) = parts.first()?;
    (otag == 0x06 && oe - ob >= 3).then(|| &w[ob..oe])
}

/// The kind of DER private key whose outer SEQUENCE starts at `start`.
fn der_key(w: &[u8], start: usize) -> Option<&'static str> {
    let (tag, body, end) = tlv(w, start)?;
    if tag != 0x30 || end - start > MAX_DER {
        return None;
    }
    let e = elements(w, body, end, 10)?;
    let integer = |i: usize| e.get(i).is_some_and(|&(t, b, x)| t == 0x02 && x > b);
    let version = |i: usize, allowed: &[u8]| {
        e.get(i).is_some_and(|&(t, b, x)| t == 0x02 && x == b + 1 && allowed.contains(&w[b]))
    };
    let len = |i: usize| e.get(i).map_or(0, |&(_, b, x)| x - b);
    let tag_at = |i: usize| e.get(i).map(|&(t, _, _)| t);
    // PKCS#8 PrivateKeyInfo / OneAsymmetricKey.
    if (3..=5).contains(&e.len())
        && version(0, &[0, 1])
        && algorithm(w, e[1]).is_some()
        && tag_at(2) == Some(0x04)
        && len(2) >= 16
        && optional_tail(&e[3..], &[0xa0, 0x81, 0xa1])
    {
        return Some("a DER-encoded PKCS#8 private key");
    }
    // PKCS#8 EncryptedPrivateKeyInfo.
    if e.len() == 2
        && tag_at(1) == Some(0x04)
        && len(1) >= 16
        && algorithm(w, e[0]).is_some_and(|oid| {
            let pkcs5 = &PBE_PKCS5[2..];
            let pkcs12 = &PBE_PKCS12[2..];
            (oid.len() == pkcs5.len() + 1 && oid.starts_with(pkcs5))
                || (oid.len() == pkcs12.len() + 1 && oid.starts_with(pkcs12))
        })
    {
        return Some("a DER-encoded encrypted PKCS#8 private key");
    }
    // PKCS#1 RSAPrivateKey (version 1 adds otherPrimeInfos).
    if (9..=10).contains(&e.len())
        && version(0, &[0, 1])
        && (1..9).all(integer)
        && len(1) >= 64
        && (e.len() == 9 || (w[e[0].1] == 1 && tag_at(9) == Some(0x30)))
    {
        return Some("a DER-encoded PKCS#1 RSA private key");
    }
    // SEC1 ECPrivateKey.
    if (3..=4).contains(&e.len())
        && version(0, &[1])
        && tag_at(1) == Some(0x04)
        && (16..=66).contains(&len(1))
        && optional_tail(&e[2..], &[0xa0, 0xa1])
    {
        return Some("a DER-encoded SEC1 EC private key");
    }
    // OpenSSL's DSAPrivateKey.
    if e.len() == 6 && version(0, &[0]) && (1..6).all(integer) && len(1) >= 64 {
        return Some("a DER-encoded DSA private key");
    }
    None
}

/// Whether `tail`'s tags are a strictly increasing selection from `allowed`
/// (optional fields, in order, each at most once).
fn optional_tail(tail: &[(u8, usize, usize)], allowed: &[u8]) -> bool {
    let mut next = 0;
    for &(tag, _, _) in tail {
        match allowed[next..].iter().position(|&a| a == tag) {
            Some(i) => next += i + 1,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(bytes: &[u8]) -> Option<Found> {
        stream(&mut &bytes[..], &mut |_| {}).expect("in memory")
    }

    #[test]
    fn a_key_straddling_every_chunk_boundary_position_is_found() {
        let key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n";
        for shift in [0, 1, 5, 11, 20, key.len() - 1] {
            let mut bytes = vec![b'x'; CHUNK + LOOKAHEAD + LOOKBEHIND - shift];
            bytes.extend_from_slice(key);
            bytes.extend(vec![b'y'; 3 * CHUNK]);
            let found = find(&bytes).expect("found");
            assert_eq!(found.offset, (CHUNK + LOOKAHEAD + LOOKBEHIND - shift) as u64);
        }
    }

    #[test]
    fn malformed_der_is_not_a_key() {
        // The right prefix, a length that overruns.
        assert_eq!(find(b"\x30\x82\x04\xbd\x02\x01\x00\x30\x0d\x06\x09"), None);
        // Non-minimal length.
        assert_eq!(tlv(b"\x30\x81\x05\x02\x01\x00\x04\x00", 0), None);
    }
}
