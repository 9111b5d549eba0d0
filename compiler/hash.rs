//! blake3 digests, written `b3:<64 hex>`. Pure: the CLI reads the bytes.

/// The digest of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    format!("b3:{}", blake3::hash(bytes).to_hex())
}

/// The digest of a text: looked up for one compiled into aidc
/// ([`crate::embedded`]), hashed otherwise.
pub fn digest_text(text: &str) -> String {
    match crate::embedded::digest_of(text) {
        Some(d) => format!("b3:{}", blake3::Hash::from_bytes(*d).to_hex()),
        None => digest(text.as_bytes()),
    }
}

/// A digest over named parts, each length-prefixed so that parts cannot run
/// into each other (`["ab", "c"]` and `["a", "bc"]` differ).
pub fn digest_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    format!("b3:{}", hasher.finalize().to_hex())
}

thread_local! {
    /// The JSON being digested, kept per thread: a new `Vec` for every layer
    /// grew by reallocation (a quarter of the JSON's cost in planning).
    static JSON: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `f` of `value`'s JSON (empty should it not serialize, as plain structs
/// always do).
fn with_json<T: serde::Serialize + ?Sized>(value: &T, f: impl FnOnce(&[u8]) -> String) -> String {
    JSON.with_borrow_mut(|json| {
        json.clear();
        if serde_json::to_writer(&mut *json, value).is_err() {
            json.clear();
        }
        f(json)
    })
}

/// The digest of `value`'s JSON: `digest(&serde_json::to_vec(value))`.
pub fn digest_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    with_json(value, digest)
}

/// [`digest_parts`] of `value`'s JSON followed by `rest`.
pub fn digest_json_parts<T: serde::Serialize + ?Sized>(value: &T, rest: &[&[u8]]) -> String {
    with_json(value, |json| digest_parts(std::iter::once(json).chain(rest.iter().copied())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_framed() {
        assert_ne!(digest_parts([&b"ab"[..], b"c"]), digest_parts([&b"a"[..], b"bc"]));
        assert_eq!(digest(b""), "b3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    }

    #[test]
    fn json_digests_are_those_of_the_json() {
        let value = vec![("a", 1), ("b\"c", 2)];
        let json = serde_json::to_vec(&value).expect("json");
        assert_eq!(digest_json(&value), digest(&json));
        assert_eq!(digest_json_parts(&value, &[b"key"]), digest_parts([json.as_slice(), b"key"]));
        assert_eq!(digest_json_parts(&value, &[]), digest_parts([json.as_slice()]));
        // The buffer kept between calls holds nothing of the last value.
        assert_eq!(digest_json(&"x"), digest(b"\"x\""));
    }
}
