//! Layer keys: the digest of a layer's instructions as compact JSON, the
//! JSON written here by hand, byte for byte what `serde_json::to_vec` writes
//! for them (the keys in every manifest were made that way, and stay the
//! same). serde's writer spent three instructions a byte looking for
//! characters to escape, and its keys were a tenth of a large compile's
//! work; strings here are written by `crate::json`. Debug builds serialize
//! every key's instructions with serde_json too and compare.

use super::{Instruction, InstructionKind};
use crate::json::string;

thread_local! {
    /// The JSON being digested, kept per thread: a new `Vec` for every layer
    /// grew by reallocation.
    static JSON: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The key of a layer: [`crate::hash::digest_parts`] of its instructions'
/// JSON followed by `rest` (a builder's key).
pub fn of_layer(instructions: &[Instruction], rest: &[&[u8]]) -> String {
    JSON.with_borrow_mut(|json| {
        json.clear();
        list(json, instructions);
        debug_assert_eq!(json.as_slice(), serde_json::to_vec(instructions).expect("json").as_slice());
        crate::hash::digest_parts(std::iter::once(json.as_slice()).chain(rest.iter().copied()))
    })
}

/// The JSON [`of_layer`] digests for `instructions`.
pub fn json_of(instructions: &[Instruction]) -> Vec<u8> {
    let mut json = Vec::new();
    list(&mut json, instructions);
    json
}

/// The key [`of_layer`] gives a layer without a builder whose JSON is
/// `pieces` joined by `name` (plan/memo.rs splits a template's JSON where
/// its stand-in name is).
pub fn of_spliced(pieces: &[Vec<u8>], name: &str) -> String {
    JSON.with_borrow_mut(|json| {
        json.clear();
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                json.extend_from_slice(name.as_bytes());
            }
            json.extend_from_slice(piece);
        }
        crate::hash::digest_parts(std::iter::once(json.as_slice()))
    })
}

/// The key of a builder: [`crate::hash::digest`] of its last instruction's JSON.
pub fn of_instruction(instruction: &Instruction) -> String {
    JSON.with_borrow_mut(|json| {
        json.clear();
        self::instruction(json, instruction);
        debug_assert_eq!(json.as_slice(), serde_json::to_vec(instruction).expect("json").as_slice());
        crate::hash::digest(json)
    })
}

fn list(out: &mut Vec<u8>, instructions: &[Instruction]) {
    out.push(b'[');
    for (i, instruction) in instructions.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        self::instruction(out, instruction);
    }
    out.push(b']');
}

/// `{"comment":…,"kind":{"kind":"run",…}}`: the struct's fields in order,
/// the enum tagged inside (`#[serde(tag = "kind", rename_all = "lowercase")]`).
fn instruction(out: &mut Vec<u8>, instruction: &Instruction) {
    out.extend_from_slice(b"{\"comment\":");
    match &instruction.comment {
        Some(comment) => string(out, comment),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"kind\":{\"kind\":");
    match &instruction.kind {
        InstructionKind::Run { mounts, inputs, commands } => {
            out.extend_from_slice(b"\"run\",\"mounts\":");
            strings(out, mounts);
            out.extend_from_slice(b",\"inputs\":[");
            for (i, (what, digest)) in inputs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                string(out, what);
                out.push(b',');
                string(out, digest);
                out.push(b']');
            }
            out.extend_from_slice(b"],\"commands\":");
            strings(out, commands);
        }
        InstructionKind::Env { name, value } => fields(out, b"\"env\"", &[(b"name", name), (b"value", value)]),
        InstructionKind::Label { key, value } => fields(out, b"\"label\"", &[(b"key", key), (b"value", value)]),
        InstructionKind::Copy { src, dest, mode } => {
            fields(out, b"\"copy\"", &[(b"src", src), (b"dest", dest), (b"mode", mode)]);
        }
        InstructionKind::Arg { name, default } => {
            fields(out, b"\"arg\"", &[(b"name", name), (b"default", default)]);
        }
    }
    out.extend_from_slice(b"}}");
}

/// The tag, then each `"name":"value"`.
fn fields(out: &mut Vec<u8>, tag: &[u8], fields: &[(&[u8], &String)]) {
    out.extend_from_slice(tag);
    for (name, value) in fields {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(name);
        out.extend_from_slice(b"\":");
        string(out, value);
    }
}

fn strings(out: &mut Vec<u8>, list: &[String]) {
    out.push(b'[');
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, s);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(instructions: &[Instruction]) -> Vec<u8> {
        let mut out = Vec::new();
        list(&mut out, instructions);
        out
    }

    /// Every kind of instruction, with and without a comment, empty and
    /// full lists, and strings to escape (`crate::json` checks every byte):
    /// serde_json's bytes.
    #[test]
    fn the_json_is_serde_jsons() {
        let texts = ["", "plain", "a\"b\\c", "line\nbreak\t\u{1}\u{7f}", "é€😀", "\u{2028}"];
        let text = |i: usize| texts[i % texts.len()].to_string();
        let mut instructions = Vec::new();
        for i in 0..texts.len() * 5 {
            let kind = match i % 5 {
                0 => InstructionKind::Run {
                    mounts: vec![text(i), text(i + 1)],
                    inputs: vec![(text(i + 2), text(i + 3)), (text(i), String::new())],
                    commands: if i % 2 == 0 { Vec::new() } else { vec![text(i + 4)] },
                },
                1 => InstructionKind::Env { name: text(i), value: text(i + 1) },
                2 => InstructionKind::Label { key: text(i), value: text(i + 1) },
                3 => InstructionKind::Copy { src: text(i), dest: text(i + 1), mode: text(i + 2) },
                _ => InstructionKind::Arg { name: text(i), default: text(i + 1) },
            };
            let comment = (i % 3 != 0).then(|| text(i + 5));
            instructions.push(Instruction { comment, kind });
        }
        assert_eq!(json(&instructions), serde_json::to_vec(&instructions).expect("json"));
        assert_eq!(json(&[]), b"[]");
        for instruction in &instructions {
            let mut one = Vec::new();
            self::instruction(&mut one, instruction);
            assert_eq!(one, serde_json::to_vec(instruction).expect("json"));
        }
    }
}
