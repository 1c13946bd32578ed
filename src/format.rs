//! The format phase: the emitted tokens parsed into a syntax tree with syn and printed with
//! prettyplease, once per file.
//!
//! Parsing is also the check that emitters produced valid Rust: an emitter bug fails here, as a
//! [`Kind::Internal`] diagnostic, never in the user's crate.

use std::collections::BTreeSet;

use crate::diag::{Diagnostic, Kind};

/// Parse emitted `tokens` as a file and print it with prettyplease, with a blank line between
/// consecutive items (prettyplease prints them back to back). `what` names the file in a
/// diagnostic.
pub fn format_tokens(tokens: proc_macro2::TokenStream, what: &str) -> Result<String, Diagnostic> {
    let file: syn::File = syn::parse2(tokens).map_err(|error| invalid(what, &error))?;
    let printed = prettyplease::unparse(&file);
    drop(file);
    Ok(separate_items(&printed))
}

/// A module as the emitters hand it over: its head (docs, attributes, `pub mod name { .. }` with
/// its inner attributes and no items) and its items, each token stream holding one or more.
pub struct Module {
    /// `#[doc = ..] pub mod name { #![allow(..)] }`.
    pub head: proc_macro2::TokenStream,
    /// The items, in order.
    pub items: Vec<proc_macro2::TokenStream>,
}

/// Format a file of modules as [`format_tokens`] would format them as one token stream, but one
/// item at a time: each item is parsed, printed and dropped before the next, so the syntax tree
/// of a large generated file never exists whole and memory stays bounded by its largest item.
pub fn format_modules(modules: Vec<Module>, what: &str) -> Result<String, Diagnostic> {
    let mut out = String::new();
    for (index, module) in modules.into_iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        format_module(module, 0, what, &mut out)?;
    }
    Ok(out)
}

fn format_module(
    module: Module,
    depth: usize,
    what: &str,
    out: &mut String,
) -> Result<(), Diagnostic> {
    let Module { head, items } = module;
    let head: syn::ItemMod = syn::parse2(head).map_err(|error| invalid(what, &error))?;
    let inner_attrs = has_inner_attrs(&head);
    let (head, tail) = module_frame(head, depth);
    out.push_str(&head);
    let mut first = true;
    for tokens in items {
        let file: syn::File = syn::parse2(tokens).map_err(|error| invalid(what, &error))?;
        for item in file.items {
            if !first || inner_attrs {
                out.push('\n');
            }
            first = false;
            format_item(item, depth + 1, out);
        }
    }
    out.push_str(&tail);
    Ok(())
}

fn invalid(what: &str, error: &syn::Error) -> Diagnostic {
    Diagnostic::error(
        Kind::Internal,
        format!("wiregen bug: the code emitted for `{what}` is not valid Rust: {error}"),
    )
    .help("please report this, with the spec that triggered it")
}

/// The name of the modules [`print_at`] wraps an item in, and of the placeholder item that
/// marks where a module's items go.
const NEST: &str = "__wiregen_format_nest";

/// Print `item` as it prints `depth` modules deep (prettyplease breaks lines by the width left
/// at that indentation), blank lines separating items, into `out`.
fn format_item(item: syn::Item, depth: usize, out: &mut String) {
    let syn::Item::Mod(mut module) = item else {
        out.push_str(&separate_items(&print_at(item, depth)));
        return;
    };
    let Some((brace, items)) = module.content.take() else {
        out.push_str(&separate_items(&print_at(syn::Item::Mod(module), depth)));
        return;
    };
    module.content = Some((brace, Vec::new()));
    let inner_attrs = has_inner_attrs(&module);
    let (head, tail) = module_frame(module, depth);
    out.push_str(&head);
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 || inner_attrs {
            out.push('\n');
        }
        format_item(item, depth + 1, out);
    }
    out.push_str(&tail);
}

/// Does the module have inner attributes (`#![allow(..)]`, `//!` docs)? A blank line then
/// separates them from its first item.
fn has_inner_attrs(module: &syn::ItemMod) -> bool {
    module
        .attrs
        .iter()
        .any(|attr| matches!(attr.style, syn::AttrStyle::Inner(_)))
}

/// A module with no items, printed `depth` modules deep and split where its items go: the head
/// (docs, attributes, `mod x {`, inner attributes) and the tail (the closing brace).
fn module_frame(mut module: syn::ItemMod, depth: usize) -> (String, String) {
    // A placeholder marks where the items go.
    let placeholder: syn::Item = syn::parse_quote!(
        struct __wiregen_format_nest;
    );
    let brace = module
        .content
        .take()
        .map(|(brace, _)| brace)
        .unwrap_or_default();
    module.content = Some((brace, vec![placeholder]));
    let printed = print_at(syn::Item::Mod(module), depth);
    match printed.split_once(&format!("struct {NEST};\n")) {
        Some((head, tail)) => (head.trim_end_matches(' ').to_owned(), tail.to_owned()),
        // Never: the placeholder is printed as it is.
        None => (printed, String::new()),
    }
}

/// `item` printed inside `depth` wrapper modules, the wrappers' lines removed.
fn print_at(item: syn::Item, depth: usize) -> String {
    let mut wrapped = item;
    for _ in 0..depth {
        wrapped = syn::Item::Mod(syn::ItemMod {
            attrs: Vec::new(),
            vis: syn::Visibility::Inherited,
            unsafety: None,
            mod_token: Default::default(),
            ident: syn::Ident::new(NEST, proc_macro2::Span::call_site()),
            content: Some((Default::default(), vec![wrapped])),
            semi: None,
        });
    }
    let printed = prettyplease::unparse(&syn::File {
        shebang: None,
        attrs: Vec::new(),
        items: vec![wrapped],
    });
    let lines: Vec<&str> = printed.lines().collect();
    let kept = lines
        .get(depth..lines.len().saturating_sub(depth))
        .unwrap_or_default();
    let mut out = String::with_capacity(printed.len());
    for line in kept {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Insert a blank line after every item that another item follows in the same file, module,
/// impl or trait (prettyplease prints them back to back), and after inner attributes that
/// items follow. `mod a;` and `use` declarations stay grouped, as people write them.
///
/// The item ends are found by scanning the printed text once with [`ItemScanner`], which
/// knows Rust's lexical structure (string, char and raw string literals, lifetimes, comments)
/// and which blocks hold items (`mod`, `impl`, `trait`): nothing inside an item, a function body
/// or a string literal is touched, and nothing is parsed twice.
fn separate_items(printed: &str) -> String {
    let ends = ItemScanner::new(printed).item_ends();
    let mut out = String::with_capacity(printed.len() + ends.len() + 1);
    for (index, line) in printed.lines().enumerate() {
        out.push_str(line);
        out.push('\n');
        if ends.contains(&(index + 1)) {
            out.push('\n');
        }
    }
    out
}

/// What the items of one block (the file, a `mod`, `impl` or `trait`) look like so far.
#[derive(Default)]
struct Container {
    /// The line where the previous item (or the inner attributes) ended, and whether it was a
    /// `use` or a `mod x;`: a blank line goes after it once the next item is known not to be
    /// grouped with it.
    previous: Option<(usize, bool)>,
    /// The item being read: has it started, and its first keyword once seen.
    started: bool,
    keyword: Option<String>,
    /// `(`/`[` depth inside the item's head (attributes, `pub(crate)`, generics' bounds).
    nesting: usize,
}

/// One scan of printed Rust: the line after which each blank line goes.
struct ItemScanner<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
    /// Open braces: `Some` for a block holding items (with its state), `None` for any other.
    blocks: Vec<Option<Container>>,
    ends: BTreeSet<usize>,
}

impl<'a> ItemScanner<'a> {
    fn new(text: &'a str) -> Self {
        ItemScanner {
            text: text.as_bytes(),
            pos: 0,
            line: 1,
            blocks: vec![Some(Container::default())],
            ends: BTreeSet::new(),
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.text.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) {
        if self.text.get(self.pos) == Some(&b'\n') {
            self.line += 1;
        }
        self.pos += 1;
    }

    /// The container whose item head is being read, if the innermost block holds items.
    fn container(&mut self) -> Option<&mut Container> {
        self.blocks.last_mut().and_then(Option::as_mut)
    }

    /// A token at the innermost block's level starts or continues an item.
    fn item_token(&mut self, word: Option<&str>) {
        if let Some(container) = self.container() {
            if !container.started {
                container.started = true;
                container.keyword = None;
            }
            if container.keyword.is_none()
                && container.nesting == 0
                && let Some(word) = word
                && !matches!(word, "pub" | "unsafe" | "async" | "extern" | "default")
            {
                container.keyword = Some(word.to_owned());
            }
        }
    }

    /// The item being read in the innermost container ended on this line, with a `;` or
    /// with its block's `}`.
    fn item_end(&mut self, semicolon: bool) {
        let line = self.line;
        let mut blank_after = None;
        if let Some(container) = self.container()
            && container.started
        {
            let keyword = container.keyword.take();
            // `use` declarations and `mod x;` (not `mod x { .. }`) are grouped.
            let grouped = semicolon && matches!(keyword.as_deref(), Some("use" | "mod"));
            if let Some((end, previous_grouped)) = container.previous
                && !(previous_grouped && grouped)
            {
                blank_after = Some(end);
            }
            container.started = false;
            container.nesting = 0;
            container.previous = Some((line, grouped));
        }
        if let Some(end) = blank_after {
            self.ends.insert(end);
        }
    }

    fn item_ends(mut self) -> BTreeSet<usize> {
        while let Some(byte) = self.peek(0) {
            match byte {
                b'/' if self.peek(1) == Some(b'/') => {
                    // `//!` is an inner doc attribute, as prettyplease prints `#![doc = ..]`.
                    let inner_doc = self.peek(2) == Some(b'!');
                    while self.peek(0).is_some_and(|b| b != b'\n') {
                        self.bump();
                    }
                    if inner_doc {
                        self.inner_attribute_ends();
                    }
                }
                b'/' if self.peek(1) == Some(b'*') => self.block_comment(),
                b'"' => {
                    self.item_token(None);
                    self.string();
                }
                b'\'' => {
                    self.item_token(None);
                    self.quote();
                }
                b'#' => {
                    self.item_token(None);
                    self.bump();
                    if self.peek(0) == Some(b'!') {
                        self.inner_attribute();
                    }
                }
                b'(' | b'[' => {
                    self.item_token(None);
                    if let Some(container) = self.container() {
                        container.nesting += 1;
                    }
                    self.bump();
                }
                b')' | b']' => {
                    if let Some(container) = self.container() {
                        container.nesting = container.nesting.saturating_sub(1);
                    }
                    self.bump();
                }
                b'{' => {
                    self.item_token(None);
                    let holds_items = self.container().is_some_and(|c| {
                        c.nesting == 0
                            && matches!(c.keyword.as_deref(), Some("mod" | "impl" | "trait"))
                    });
                    self.blocks.push(holds_items.then(Container::default));
                    self.bump();
                }
                b'}' => {
                    self.blocks.pop();
                    if self.blocks.is_empty() {
                        // Unbalanced: leave the text as printed.
                        return BTreeSet::new();
                    }
                    if self.container().is_some_and(|c| c.nesting == 0) {
                        self.item_end(false);
                    }
                    self.bump();
                }
                b';' => {
                    if self.container().is_some_and(|c| c.nesting == 0) {
                        self.item_end(true);
                    }
                    self.bump();
                }
                b if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 => self.word(),
                b if b.is_ascii_whitespace() => self.bump(),
                _ => {
                    self.item_token(None);
                    self.bump();
                }
            }
        }
        self.ends
    }

    /// An identifier or keyword; `r"…"`, `r#"…"#`, `b"…"` and `br"…"` start literals.
    fn word(&mut self) {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)
        {
            self.bump();
        }
        let text: &'a [u8] = self.text;
        let word = std::str::from_utf8(&text[start..self.pos]).unwrap_or_default();
        match (word, self.peek(0)) {
            ("r" | "br" | "cr", Some(b'"' | b'#')) => {
                self.item_token(None);
                self.raw_string();
            }
            ("b" | "c", Some(b'"')) => {
                self.item_token(None);
                self.string();
            }
            ("b", Some(b'\'')) => {
                self.item_token(None);
                self.quote();
            }
            _ => self.item_token(Some(word)),
        }
    }

    /// `"…"` with escapes (the opening quote is next).
    fn string(&mut self) {
        self.bump();
        while let Some(byte) = self.peek(0) {
            self.bump();
            match byte {
                b'\\' => self.bump(),
                b'"' => return,
                _ => {}
            }
        }
    }

    /// `r#"…"#` (the `#`s or quote are next).
    fn raw_string(&mut self) {
        let mut hashes = 0;
        while self.peek(0) == Some(b'#') {
            hashes += 1;
            self.bump();
        }
        if self.peek(0) != Some(b'"') {
            return;
        }
        self.bump();
        while let Some(byte) = self.peek(0) {
            self.bump();
            if byte == b'"' && (0..hashes).all(|i| self.peek(i) == Some(b'#')) {
                for _ in 0..hashes {
                    self.bump();
                }
                return;
            }
        }
    }

    /// A char literal (`'a'`, `'\n'`, `'\''`) or a lifetime (`'static`); the quote is next.
    fn quote(&mut self) {
        self.bump();
        if self.peek(0) == Some(b'\\') {
            self.bump();
            while let Some(byte) = self.peek(0) {
                self.bump();
                if byte == b'\'' {
                    return;
                }
            }
            return;
        }
        // One character (possibly several bytes), then a quote: a char literal.
        let width = match self.peek(0) {
            Some(b) if b < 0x80 => 1,
            Some(b) if b >= 0xF0 => 4,
            Some(b) if b >= 0xE0 => 3,
            Some(_) => 2,
            None => return,
        };
        if self.peek(width) == Some(b'\'') {
            for _ in 0..=width {
                self.bump();
            }
        }
        // Otherwise a lifetime: its name is read as a word.
    }

    /// `/* … */`, nested.
    fn block_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(byte) = self.peek(0) {
            if byte == b'/' && self.peek(1) == Some(b'*') {
                depth += 1;
                self.bump();
            } else if byte == b'*' && self.peek(1) == Some(b'/') {
                depth -= 1;
                self.bump();
                self.bump();
                if depth == 0 {
                    return;
                }
                continue;
            }
            self.bump();
        }
    }

    /// `#![…]`: the block's items follow it (the `#` is read; the `!` is next).
    fn inner_attribute(&mut self) {
        self.bump();
        let mut depth = 0usize;
        while let Some(byte) = self.peek(0) {
            match byte {
                b'"' => {
                    self.string();
                    continue;
                }
                b'[' => depth += 1,
                b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.bump();
                        break;
                    }
                }
                _ => {}
            }
            self.bump();
        }
        self.inner_attribute_ends();
    }

    /// An inner attribute ended on this line: it is not an item, and the first item after it
    /// gets a blank line before it.
    fn inner_attribute_ends(&mut self) {
        let line = self.line;
        if let Some(container) = self.container() {
            container.started = false;
            container.keyword = None;
            container.nesting = 0;
            container.previous = Some((line, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use syn::spanned::Spanned;

    use super::*;

    fn format_text(rendered: &str) -> String {
        let tokens: proc_macro2::TokenStream = rendered.parse().expect("tokens");
        format_tokens(tokens, "test.rs").expect("valid Rust")
    }

    #[test]
    fn items_are_separated_by_blank_lines() {
        // The string literal holds a real line break and a `}`: the text inside stays as is.
        let rendered = "#[doc = \" A\"] pub mod types { #![allow(missing_docs)] pub struct A { pub a: i32 } \
                        pub enum B { X } impl B { pub fn one(&self) -> &'static str { \"}\n\" } pub fn two(&self) {} } \
                        pub type C = A; }";
        let want = "/// A
pub mod types {
    #![allow(missing_docs)]

    pub struct A {
        pub a: i32,
    }

    pub enum B {
        X,
    }

    impl B {
        pub fn one(&self) -> &'static str {
            \"}\n\"
        }

        pub fn two(&self) {}
    }

    pub type C = A;
}
";
        assert_eq!(format_text(rendered), want);
    }

    #[test]
    fn invalid_tokens_are_an_internal_error() {
        let tokens: proc_macro2::TokenStream = "pub struct A { pub a: , }".parse().expect("tokens");
        let diagnostic = format_tokens(tokens, "x.rs").expect_err("invalid Rust");
        assert_eq!(diagnostic.kind, Kind::Internal);
        assert!(
            diagnostic
                .message
                .starts_with("wiregen bug: the code emitted for `x.rs` is not valid Rust"),
            "{}",
            diagnostic.message
        );
    }

    /// The oracle: the item ends a syn parse of the printed text finds (as the format phase
    /// once did, at the price of a second parse of every file with span locations on).
    fn oracle(printed: &str) -> BTreeSet<usize> {
        fn item_ends(items: &[syn::Item], ends: &mut BTreeSet<usize>) {
            for pair in items.windows(2) {
                let grouped = |item: &syn::Item| match item {
                    syn::Item::Mod(module) => module.content.is_none(),
                    syn::Item::Use(_) => true,
                    _ => false,
                };
                if !(grouped(&pair[0]) && grouped(&pair[1])) {
                    ends.insert(pair[0].span().end().line);
                }
            }
            for item in items {
                let members: Vec<proc_macro2::Span> = match item {
                    syn::Item::Mod(module) => {
                        if let Some((_, inner)) = &module.content {
                            after_inner_attrs(&module.attrs, inner, ends);
                            item_ends(inner, ends);
                        }
                        Vec::new()
                    }
                    syn::Item::Impl(block) => block.items.iter().map(Spanned::span).collect(),
                    syn::Item::Trait(block) => block.items.iter().map(Spanned::span).collect(),
                    _ => Vec::new(),
                };
                for pair in members.windows(2) {
                    ends.insert(pair[0].end().line);
                }
            }
        }
        fn after_inner_attrs(
            attrs: &[syn::Attribute],
            items: &[syn::Item],
            ends: &mut BTreeSet<usize>,
        ) {
            let last_inner = attrs
                .iter()
                .rfind(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
            if let (Some(attr), false) = (last_inner, items.is_empty()) {
                ends.insert(attr.span().end().line);
            }
        }
        let file = syn::parse_file(printed).expect("printed code parses");
        let mut ends = BTreeSet::new();
        after_inner_attrs(&file.attrs, &file.items, &mut ends);
        item_ends(&file.items, &mut ends);
        ends
    }

    fn agrees_with_the_oracle(what: &str, source: &str) {
        let file = syn::parse_file(source).unwrap_or_else(|e| panic!("{what}: {e}"));
        let printed = prettyplease::unparse(&file);
        assert_eq!(
            ItemScanner::new(&printed).item_ends(),
            oracle(&printed),
            "{what}:\n{printed}"
        );
    }

    #[test]
    fn the_scanner_finds_what_a_parse_finds_in_tricky_code() {
        let cases = [
            "mod a; mod b; use x::y; use z; mod c { use q; } pub fn f() {}",
            "impl X { const A: char = '{'; const B: char = '}'; fn f(&self) -> &'static str { \"{\" } fn g<'a>(x: &'a str) -> &'a str { x } }",
            "trait T { type A: Send + 'static; fn f(&self); fn g(&self) { let s = r#\"}\"#; let b = b'}'; let c = '\\''; } }",
            "/// doc with } and {\npub struct S; pub struct U(pub u8); pub enum E { A { x: u8 }, B } pub type X = ::std::vec::Vec<u8>;",
            "pub mod m { #![allow(missing_docs)] #[derive(Clone)] pub struct A {} impl A { fn f() { match 1 { 1 => {} _ => {} } let x = { 1 }; } } }",
            "impl<S: A + B> ::rt::Endpoint<S> for E where S: Sync { type In = u8; async fn open(s: &S) -> Result<(), ()> { Ok(()) } }",
            "pub fn f() { /* a } block { comment */ } pub fn g() {}",
            "#![doc = \" inner\"] #![doc = \" docs\"] /// outer\npub mod a; pub mod b;",
            "pub mod m { #![doc = \" inner\"] pub struct A; }",
        ];
        for case in cases {
            agrees_with_the_oracle(case, case);
        }
    }

    #[test]
    fn the_scanner_finds_what_a_parse_finds_in_every_snapshot() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).expect("the snapshots") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("readable");
                agrees_with_the_oracle(&path.display().to_string(), &text);
                checked += 1;
            }
        }
        assert!(checked > 10, "{checked} snapshots");
    }
}
