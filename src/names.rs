//! Turning wire names from specs into Rust identifiers: the only place that sanitises names.
//!
//! Every identifier in generated code comes from here, as a [`RustIdent`] that is guaranteed to
//! parse as one identifier (raw identifiers for keywords), next to the wire name it came from in a
//! [`Name`]. Collisions after sanitising are resolved deterministically by a [`Namespace`].

use std::collections::BTreeSet;
use std::fmt;

/// A valid Rust identifier (possibly raw, e.g. `r#type`). It can only be built by this module.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RustIdent(String);

impl RustIdent {
    /// The identifier as written in Rust source (`r#type` for a raw one).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As a token, for emitters.
    pub fn to_ident(&self) -> proc_macro2::Ident {
        let span = proc_macro2::Span::call_site();
        match self.0.strip_prefix("r#") {
            Some(raw) => proc_macro2::Ident::new_raw(raw, span),
            None => proc_macro2::Ident::new(&self.0, span),
        }
    }

    /// The identifier without a `r#` prefix, for building derived names.
    pub fn unraw(&self) -> &str {
        self.0.strip_prefix("r#").unwrap_or(&self.0)
    }
}

impl fmt::Display for RustIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name as it appears on the wire, next to the Rust identifier generated for it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    /// Exactly as in the spec (a JSON property, an event name, an enum value).
    pub wire: String,
    /// The Rust identifier used for it.
    pub rust: RustIdent,
}

impl Name {
    /// Does the wire name differ from the identifier (so a `#[serde(rename)]` is needed)?
    pub fn needs_rename(&self) -> bool {
        self.wire != self.rust.unraw()
    }
}

/// Which case an identifier takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// `UpperCamelCase`: types and enum variants.
    Camel,
    /// `snake_case`: fields, functions, modules.
    Snake,
}

/// Keywords of every edition that can be raw identifiers.
const RAW_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// Keywords that cannot be raw identifiers; they get a trailing underscore.
const NON_RAW_KEYWORDS: &[&str] = &["self", "Self", "super", "crate", "extern", "_"];

/// Split a wire name into words: separators are any character that is not ASCII alphanumeric,
/// and case changes (`petId` → `pet`, `Id`; `HTTPServer` → `HTTP`, `Server`). Non-ASCII
/// characters become their own word spelled as `u` + hex code point, so distinct names stay
/// distinct and identifiers stay ASCII.
fn words(wire: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = wire.chars().collect();
    let flush = |current: &mut String, words: &mut Vec<String>| {
        if !current.is_empty() {
            words.push(std::mem::take(current));
        }
    };
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            if let Some(&prev) = current.chars().last().as_ref() {
                let next = chars.get(i + 1).copied();
                let boundary = (prev.is_ascii_lowercase() && c.is_ascii_uppercase())
                    || (prev.is_ascii_uppercase()
                        && c.is_ascii_uppercase()
                        && next.is_some_and(|n| n.is_ascii_lowercase()))
                    || (prev.is_ascii_digit() && c.is_ascii_uppercase());
                if boundary {
                    flush(&mut current, &mut words);
                }
            }
            current.push(c);
        } else {
            flush(&mut current, &mut words);
            if !c.is_ascii() && c.is_alphanumeric() {
                words.push(format!("u{:04x}", c as u32));
            }
        }
    }
    flush(&mut current, &mut words);
    words
}

/// Does `wire` have anything an identifier can be made of (letters or digits)? A name like `/`
/// does not: its identifier would be the placeholder `Empty`.
pub fn has_words(wire: &str) -> bool {
    !words(wire).is_empty()
}

/// The identifier for `wire` in the given case, before collision handling. Never empty, never a
/// bare keyword, never starting with a digit.
pub fn ident(wire: &str, case: Case) -> RustIdent {
    let words = words(wire);
    let mut out = String::new();
    match case {
        Case::Camel => {
            for w in &words {
                let mut cs = w.chars();
                if let Some(first) = cs.next() {
                    out.push(first.to_ascii_uppercase());
                    out.extend(cs.map(|c| c.to_ascii_lowercase()));
                }
            }
            if out.is_empty() {
                out.push_str("Empty");
            } else if out.starts_with(|c: char| c.is_ascii_digit()) {
                out.insert(0, 'V');
            }
        }
        Case::Snake => {
            for w in &words {
                if !out.is_empty() {
                    out.push('_');
                }
                out.extend(w.chars().map(|c| c.to_ascii_lowercase()));
            }
            if out.is_empty() {
                out.push_str("empty");
            } else if out.starts_with(|c: char| c.is_ascii_digit()) {
                out.insert(0, '_');
            }
        }
    }
    if NON_RAW_KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    } else if RAW_KEYWORDS.contains(&out.as_str()) {
        out.insert_str(0, "r#");
    }
    RustIdent(out)
}

/// A name with the identifier computed in the given case (no collision handling).
pub fn name(wire: &str, case: Case) -> Name {
    Name {
        wire: wire.to_owned(),
        rust: ident(wire, case),
    }
}

/// Identifiers already taken in one scope (a module's types, a struct's fields, an enum's
/// variants). Claiming a taken identifier appends the smallest free number, so the outcome
/// depends only on the order of claims, which is the spec's order.
#[derive(Debug, Default, Clone)]
pub struct Namespace {
    taken: BTreeSet<String>,
}

impl Namespace {
    /// An empty scope.
    pub fn new() -> Self {
        Self::default()
    }

    /// A scope where some identifiers are reserved up front.
    pub fn with_reserved<'a>(reserved: impl IntoIterator<Item = &'a str>) -> Self {
        Namespace {
            taken: reserved.into_iter().map(str::to_owned).collect(),
        }
    }

    /// Is this identifier taken?
    pub fn is_taken(&self, ident: &str) -> bool {
        self.taken.contains(ident)
    }

    /// Claim `base`, or `base` with the smallest number ≥ 2 appended that is free.
    /// Returns the identifier and whether it had to be renamed.
    pub fn claim(&mut self, base: RustIdent, case: Case) -> (RustIdent, bool) {
        let plain = base.unraw().to_owned();
        if self.taken.insert(plain.clone()) {
            return (base, false);
        }
        let trimmed = plain.trim_end_matches('_');
        for n in 2usize.. {
            let candidate = match case {
                Case::Camel => format!("{trimmed}{n}"),
                Case::Snake => format!("{trimmed}_{n}"),
            };
            if self.taken.insert(candidate.clone()) {
                return (RustIdent(candidate), true);
            }
        }
        unreachable!("an unbounded counter always finds a free name")
    }

    /// Claim the identifier for a wire name: `ident(wire, case)` then [`Namespace::claim`].
    pub fn claim_name(&mut self, wire: &str, case: Case) -> (Name, bool) {
        let (rust, renamed) = self.claim(ident(wire, case), case);
        (
            Name {
                wire: wire.to_owned(),
                rust,
            },
            renamed,
        )
    }

    /// Build an identifier by joining already-sanitised parts (e.g. a parent type and a field), in
    /// the given case, then claim it.
    pub fn claim_joined(&mut self, parts: &[&str], case: Case) -> RustIdent {
        let joined = parts.join("_");
        self.claim(ident(&joined, case), case).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents_table() {
        let cases = [
            ("petId", Case::Snake, "pet_id"),
            ("petId", Case::Camel, "PetId"),
            ("status-change", Case::Camel, "StatusChange"),
            ("AVAILABLE", Case::Camel, "Available"),
            ("HTTPServer", Case::Camel, "HttpServer"),
            ("1m", Case::Camel, "V1m"),
            ("1m", Case::Snake, "_1m"),
            ("BATS-Y", Case::Camel, "BatsY"),
            ("1EXCH", Case::Camel, "V1Exch"),
            ("", Case::Camel, "Empty"),
            ("", Case::Snake, "empty"),
            ("null", Case::Camel, "Null"),
            ("type", Case::Snake, "r#type"),
            ("match", Case::Snake, "r#match"),
            ("self", Case::Snake, "self_"),
            ("self", Case::Camel, "Self_"),
            ("Self", Case::Camel, "Self_"),
            ("crate", Case::Snake, "crate_"),
            ("café", Case::Snake, "caf_u00e9"),
            ("日本", Case::Camel, "U65e5U672c"),
            ("*/ fn pwned() {} /*", Case::Snake, "fn_pwned"),
            ("$ref", Case::Snake, "r#ref"),
            ("v1.agent.Foo", Case::Camel, "V1AgentFoo"),
            ("x-rate_limit", Case::Snake, "x_rate_limit"),
        ];
        for (wire, case, want) in cases {
            let got = ident(wire, case);
            assert_eq!(got.as_str(), want, "{wire:?} {case:?}");
            // Every identifier must be one token that syn accepts as an identifier.
            let parsed: syn::Ident = syn::parse_str(got.as_str()).expect(want);
            assert_eq!(parsed.to_string(), want);
        }
    }

    #[test]
    fn collisions_are_numbered_in_claim_order() {
        let mut ns = Namespace::new();
        assert_eq!(ns.claim_name("a-b", Case::Snake).0.rust.as_str(), "a_b");
        let (second, renamed) = ns.claim_name("a_b", Case::Snake);
        assert!(renamed);
        assert_eq!(second.rust.as_str(), "a_b_2");
        assert_eq!(ns.claim_name("A B", Case::Snake).0.rust.as_str(), "a_b_3");
        let mut types = Namespace::new();
        assert_eq!(types.claim_name("Pet", Case::Camel).0.rust.as_str(), "Pet");
        assert_eq!(types.claim_name("pet", Case::Camel).0.rust.as_str(), "Pet2");
        // A raw identifier collides with its plain spelling.
        let mut fields = Namespace::new();
        assert_eq!(
            fields.claim_name("type", Case::Snake).0.rust.as_str(),
            "r#type"
        );
        assert_eq!(
            fields.claim_name("Type", Case::Snake).0.rust.as_str(),
            "type_2"
        );
    }
}
