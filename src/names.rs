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

/// Words TypeScript gives a meaning to where generated code puts a type or value name: reserved
/// words of strict-mode JavaScript, TypeScript's own type keywords, the globals generated code
/// refers to, and `rt`, the name the runtime module is imported under.
const TS_RESERVED: &[&str] = &[
    "any",
    "arguments",
    "Array",
    "as",
    "AsyncIterable",
    "AsyncIterator",
    "await",
    "bigint",
    "Blob",
    "boolean",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "declare",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "Error",
    "eval",
    "export",
    "extends",
    "Extract",
    "false",
    "finally",
    "for",
    "FormData",
    "from",
    "function",
    "get",
    "Headers",
    "if",
    "implements",
    "import",
    "in",
    "infer",
    "instanceof",
    "interface",
    "is",
    "JSON",
    "keyof",
    "let",
    "module",
    "namespace",
    "never",
    "new",
    "null",
    "number",
    "object",
    "of",
    "package",
    "private",
    "Promise",
    "protected",
    "public",
    "readonly",
    "Record",
    "require",
    "Response",
    "return",
    "rt",
    "set",
    "static",
    "string",
    "super",
    "switch",
    "symbol",
    "this",
    "throw",
    "true",
    "try",
    "type",
    "typeof",
    "Uint8Array",
    "undefined",
    "unique",
    "unknown",
    "URLSearchParams",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// A TypeScript identifier, derived from the [`RustIdent`] of the same item by one injective rule,
/// so that names distinct in Rust stay distinct in TypeScript and nothing is sanitised twice.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TsIdent(String);

impl TsIdent {
    /// A type's name: the Rust type identifier as it is (`PetAdded`).
    pub fn of_type(rust: &RustIdent) -> TsIdent {
        Self::guard(rust.unraw().to_owned())
    }

    /// A function or value name from a `snake_case` Rust identifier, in `lowerCamelCase`
    /// (`list_pets` → `listPets`).
    pub fn of_value(rust: &RustIdent) -> TsIdent {
        Self::guard(camel(rust.unraw()))
    }

    /// A value name from an `UpperCamelCase` Rust identifier: its first letter lowercased
    /// (`SupportChat` → `supportChat`). Such identifiers all start with an uppercase letter, so
    /// this too keeps distinct names distinct.
    pub fn of_type_value(rust: &RustIdent) -> TsIdent {
        let plain = rust.unraw();
        let mut chars = plain.chars();
        let lowered = match chars.next() {
            Some(first) => format!("{}{}", first.to_ascii_lowercase(), chars.as_str()),
            None => String::new(),
        };
        Self::guard(lowered)
    }

    /// The identifier as written in TypeScript.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reserved words, and names already ending in `_`, get one more `_`: the rule stays
    /// injective (strip one trailing `_` to undo it).
    fn guard(mut name: String) -> TsIdent {
        if name.ends_with('_') || TS_RESERVED.contains(&name.as_str()) {
            name.push('_');
        }
        TsIdent(name)
    }
}

impl fmt::Display for TsIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `snake_case` to `lowerCamelCase`. A part after `_` that starts with a lowercase letter is joined
/// with that letter uppercased; any other part (a number suffix `_2`, an empty part) keeps its
/// `_`, so distinct lowercase `snake_case` identifiers never meet.
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    for (i, part) in snake.split('_').enumerate() {
        let mut chars = part.chars();
        match chars.next() {
            Some(c) if c.is_ascii_lowercase() && i > 0 => {
                out.push(c.to_ascii_uppercase());
                out.extend(chars);
            }
            first => {
                if i > 0 {
                    out.push('_');
                }
                out.extend(first);
                out.extend(chars);
            }
        }
    }
    out
}

/// Is `key` usable as a bare JavaScript property name and identifier (ASCII letters, digits, `_`,
/// `$`, not starting with a digit)? Other keys are written as string literals.
pub fn is_js_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
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
    fn typescript_names_stay_distinct() {
        let snake = |s: &str| ident(s, Case::Snake);
        assert_eq!(TsIdent::of_value(&snake("list_pets")).as_str(), "listPets");
        assert_eq!(
            TsIdent::of_value(&snake("get_pets_2")).as_str(),
            "getPets_2"
        );
        assert_eq!(TsIdent::of_value(&snake("get_pets2")).as_str(), "getPets2");
        assert_eq!(TsIdent::of_value(&snake("delete")).as_str(), "delete_");
        assert_eq!(TsIdent::of_value(&snake("type")).as_str(), "type_");
        assert_eq!(TsIdent::of_value(&snake("self")).as_str(), "self__");
        assert_eq!(TsIdent::of_value(&snake("_1m")).as_str(), "_1m");
        let camel = |s: &str| ident(s, Case::Camel);
        assert_eq!(
            TsIdent::of_type_value(&camel("support chat")).as_str(),
            "supportChat"
        );
        assert_eq!(TsIdent::of_type_value(&camel("delete")).as_str(), "delete_");
        assert_eq!(
            TsIdent::of_type(&ident("Promise", Case::Camel)).as_str(),
            "Promise_"
        );
        let mut seen = std::collections::BTreeMap::new();
        for wire in [
            "a b", "a_b", "ab", "a2", "a_2", "a 2", "delete", "delete_", "Promise", "x__y",
        ] {
            for case in [Case::Snake, Case::Camel] {
                let rust = ident(wire, case);
                let ts = match case {
                    Case::Snake => TsIdent::of_value(&rust),
                    Case::Camel => TsIdent::of_type(&rust),
                };
                if let Some(other) = seen.insert(ts.clone(), rust.clone()) {
                    assert_eq!(other, rust, "{ts} comes from two Rust identifiers");
                }
            }
        }
        assert!(is_js_identifier("petId") && is_js_identifier("$x") && !is_js_identifier("pet-id"));
        assert!(!is_js_identifier("1a") && !is_js_identifier(""));
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
