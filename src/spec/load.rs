//! Reading and parsing files, recognising the spec version, and loading every file the `$ref`s
//! reach (each once), then checking that every `$ref` resolves.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::refs::{self, Keys, RefParts, RefSite};
use super::source_map::{LineIndex, Parsed, Problem};
use super::{DerefError, Document, FileId, How, Loc, SourceFile, Sources, SpecKind};
use super::{asyncapi2, json, yaml};
use crate::diag::{Diagnostic, Diagnostics, Kind};

/// What wiregen reads, for help lines.
const SUPPORTED: &str = "wiregen reads OpenAPI 3.0, 3.1 and 3.2 documents (`openapi: 3.1.0`) and AsyncAPI 2.x, 3.0 and 3.1 documents (`asyncapi: 3.0.0`)";

pub(super) fn load(path: &Path, diags: &mut Diagnostics) -> Option<Document> {
    let display = path.display().to_string();
    let text = match read(path) {
        Ok(text) => text,
        Err(error) => {
            diags.push(Diagnostic::error(
                Kind::Io,
                format!("cannot read `{display}`: {error}"),
            ));
            return None;
        }
    };
    let mut root = match parse_file(display, path.to_path_buf(), text, diags) {
        Ok(file) => file,
        Err(error) => {
            diags.push(error);
            return None;
        }
    };
    let kind = detect(&root, diags)?;
    if let SpecKind::AsyncApi {
        version,
        converted_from_2: true,
    } = &kind
    {
        convert(&mut root, version, diags);
    }
    let mut sources = Sources::default();
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    sources.by_path.insert(canonical, FileId(0));
    sources.files.push(root);
    load_references(&mut sources, diags);
    Some(Document {
        root: FileId(0),
        kind,
        sources,
    })
}

/// Read a file as UTF-8, without a byte order mark.
fn read(path: &Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Parse a file's text (JSON for `.json`, YAML otherwise). Warnings go into `diags`; a syntax
/// error is the `Err`, located in the file.
fn parse_file(
    display: String,
    path: PathBuf,
    text: String,
    diags: &mut Diagnostics,
) -> Result<SourceFile, Diagnostic> {
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    // The parsers are written not to panic; this is a second line of defence for the YAML
    // library's internals, so that hostile input cannot crash the generator.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        if is_json {
            json::parse(&text)
        } else {
            yaml::parse(&text)
        }
    }));
    let mut file = SourceFile {
        display,
        path,
        text,
        value: Value::Null,
        map: Default::default(),
        lines: Default::default(),
        remap: None,
    };
    file.lines = LineIndex::new(&file.text);
    match parsed {
        Err(_) => Err(Diagnostic::error(
            Kind::Internal,
            format!(
                "the {} parser failed on `{}`",
                if is_json { "JSON" } else { "YAML" },
                file.display
            ),
        )
        .help("this is a bug in wiregen or its parser; please report it with the file")),
        Ok(Err(problem)) => {
            let Problem { pos, diagnostic } = *problem;
            Err(diagnostic.at(Some(file.location_at(pos))))
        }
        Ok(Ok(Parsed {
            value,
            map,
            problems,
        })) => {
            file.value = value;
            file.map = map;
            for Problem { pos, diagnostic } in problems {
                diags.push(diagnostic.at(Some(file.location_at(pos))));
            }
            Ok(file)
        }
    }
}

/// Recognise the specification and version of a root document.
fn detect(root: &SourceFile, diags: &mut Diagnostics) -> Option<SpecKind> {
    let unknown = |message: String, pointer: &str| {
        Diagnostic::error(Kind::UnknownFormat, message)
            .at(root.locate_pointer(pointer, false))
            .help(SUPPORTED)
    };
    let Some(fields) = root.value.as_object() else {
        diags.push(unknown(
            format!(
                "`{}` is not an OpenAPI or AsyncAPI document: its top level is not a mapping",
                root.display
            ),
            "",
        ));
        return None;
    };
    if let Some(field) = fields.get("openapi") {
        let version = version_text(field);
        match version.as_deref().and_then(major_minor) {
            Some((3, minor @ 0..=2)) => {
                let minor = u8::try_from(minor).unwrap_or_default();
                return Some(SpecKind::OpenApi {
                    version: version.unwrap_or_default(),
                    minor,
                });
            }
            _ => diags.push(unknown(
                format!("OpenAPI version {} is not supported", shown(field)),
                "/openapi",
            )),
        }
        return None;
    }
    if let Some(field) = fields.get("asyncapi") {
        let version = version_text(field);
        match version.as_deref().and_then(major_minor) {
            Some((3, 0..=1)) => {
                return Some(SpecKind::AsyncApi {
                    version: version.unwrap_or_default(),
                    converted_from_2: false,
                });
            }
            Some((2, _)) => {
                return Some(SpecKind::AsyncApi {
                    version: version.unwrap_or_default(),
                    converted_from_2: true,
                });
            }
            _ => diags.push(unknown(
                format!("AsyncAPI version {} is not supported", shown(field)),
                "/asyncapi",
            )),
        }
        return None;
    }
    if let Some(field) = fields.get("swagger") {
        diags.push(
            unknown(
                format!(
                    "Swagger (OpenAPI 2) documents are not supported (`swagger: {}`)",
                    version_text(field).unwrap_or_default()
                ),
                "/swagger",
            )
            .help("convert the document to OpenAPI 3 first"),
        );
        return None;
    }
    diags.push(unknown(
        format!(
            "`{}` has neither an `openapi` nor an `asyncapi` field",
            root.display
        ),
        "",
    ));
    None
}

/// The version field as text: a string, or a number YAML read as one (`openapi: 3.1`).
fn version_text(field: &Value) -> Option<String> {
    match field {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A value for a message: strings in backticks, anything else as JSON.
fn shown(field: &Value) -> String {
    match field {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

/// `3.1.0` → (3, 1); `3.1` → (3, 1); anything else → `None`.
fn major_minor(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.trim().split('.');
    let number = |part: Option<&str>| {
        part.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse().ok())
    };
    Some((number(parts.next())?, number(parts.next())?))
}

/// Replace a 2.x root's value by its 3.0 conversion and say so.
fn convert(root: &mut SourceFile, version: &str, diags: &mut Diagnostics) {
    let conversion = asyncapi2::convert(&root.value);
    for (pointer, diagnostic) in conversion.problems {
        diags.push(diagnostic.at(root.locate_original(&pointer, false)));
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut note = Diagnostic::note(
        Kind::Conversion,
        format!(
            "converted AsyncAPI {version} to the AsyncAPI 3.0 shape: {}, {}",
            plural(conversion.channels, "channel"),
            plural(conversion.operations, "operation"),
        ),
    )
    .at(root.locate_original("/asyncapi", false))
    .help("`publish` became `action: receive` and `subscribe` became `action: send`: 2.x describes what other applications do, 3.x what this one does");
    if conversion.servers_split > 0 {
        note = note.help(format!(
            "{} split into `host` and `pathname`",
            plural(conversion.servers_split, "server `url`")
        ));
    }
    diags.push(note);
    root.value = conversion.value;
    root.remap = Some(conversion.remap);
}

/// Load every file reached by `$ref`s (breadth first, in document order), then check that every
/// `$ref` resolves and that none loops with nothing in between.
fn load_references(sources: &mut Sources, diags: &mut Diagnostics) {
    let mut sites: Vec<RefSite> = Vec::new();
    let mut failures: BTreeMap<(FileId, String), Diagnostic> = BTreeMap::new();
    let mut next = 0usize;
    while let Some(file) = sources.files.get(next) {
        let id = FileId(u32::try_from(next).unwrap_or(u32::MAX));
        // A referenced file is often a bare map of components (`Pet: {...}`), whose keys are
        // names; the root document's keys are keywords.
        let keys = if next > 0 && refs::looks_like_name_map(&file.value) {
            Keys::Names
        } else {
            Keys::Keywords
        };
        let found = refs::collect(id, &file.value, keys);
        for site in found {
            if let RefParts::Local {
                file: file_part, ..
            } = refs::split(&site.reference)
                && !file_part.is_empty()
                && !link(sources, id, file_part, &mut failures, diags)
            {
                if let Some(failure) = failures.get(&(id, file_part.to_string())) {
                    diags.push(failure.clone().at(sources.locate(&site.from.child("$ref"))));
                }
                continue;
            }
            sites.push(site);
        }
        next += 1;
    }
    check_references(sources, &sites, diags);
}

/// Make sure the file named by a `$ref`'s file part is loaded; false if it cannot be (the
/// reason is in `failures`).
fn link(
    sources: &mut Sources,
    from: FileId,
    file_part: &str,
    failures: &mut BTreeMap<(FileId, String), Diagnostic>,
    diags: &mut Diagnostics,
) -> bool {
    if sources
        .links
        .get(&from)
        .is_some_and(|links| links.contains_key(file_part))
    {
        return true;
    }
    let key = (from, file_part.to_string());
    if failures.contains_key(&key) {
        return false;
    }
    let Some(referrer) = sources.try_file(from) else {
        return false;
    };
    let decoded = refs::percent_decode(file_part);
    let joined = refs::base_dir(&referrer.path).join(decoded.as_ref());
    let display =
        refs::normalize(&refs::base_dir(Path::new(&referrer.display)).join(decoded.as_ref()))
            .display()
            .to_string();
    let fail = |message: String| Diagnostic::error(Kind::Io, message);
    let canonical = match std::fs::canonicalize(&joined) {
        Ok(canonical) => canonical,
        Err(error) => {
            failures.insert(
                key,
                fail(format!(
                    "cannot read `{display}`, named by this `$ref`: {error}"
                )),
            );
            return false;
        }
    };
    if let Some(&id) = sources.by_path.get(&canonical) {
        sources
            .links
            .entry(from)
            .or_default()
            .insert(file_part.to_string(), id);
        return true;
    }
    let text = match read(&joined) {
        Ok(text) => text,
        Err(error) => {
            failures.insert(
                key,
                fail(format!(
                    "cannot read `{display}`, named by this `$ref`: {error}"
                )),
            );
            return false;
        }
    };
    // Prefer the tidy path unless symbolic links make it name another file.
    let normalized = refs::normalize(&joined);
    let path = if std::fs::canonicalize(&normalized).is_ok_and(|c| c == canonical) {
        normalized
    } else {
        joined
    };
    match parse_file(display.clone(), path, text, diags) {
        Ok(file) => {
            let id = FileId(u32::try_from(sources.files.len()).unwrap_or(u32::MAX));
            sources.files.push(file);
            sources.by_path.insert(canonical, id);
            sources
                .links
                .entry(from)
                .or_default()
                .insert(file_part.to_string(), id);
            true
        }
        Err(syntax) => {
            diags.push(syntax);
            let failure = Diagnostic::error(
                Kind::Reference,
                format!("`$ref` names `{display}`, which could not be parsed"),
            )
            .help(format!("see the syntax error reported in `{display}`"));
            failures.insert(key, failure);
            false
        }
    }
}

/// Report every `$ref` that does not resolve (all of them), the ones that resolve only leniently
/// (one warning per file, at the first), and loops (once each).
fn check_references(sources: &Sources, sites: &[RefSite], diags: &mut Diagnostics) {
    let mut lenient: BTreeMap<FileId, Vec<(&RefSite, Loc)>> = BTreeMap::new();
    let mut resolved: Vec<&Loc> = Vec::new();
    for site in sites {
        match sources.resolve(&site.from, &site.reference) {
            Ok((target, How::Lenient)) => {
                lenient
                    .entry(site.from.file)
                    .or_default()
                    .push((site, target));
                resolved.push(&site.from);
            }
            Ok((_, How::Exact | How::Moved)) => resolved.push(&site.from),
            Err(error) => diags.push(error),
        }
    }
    for found in lenient.values() {
        if let Some(warning) = lenient_warning(sources, found) {
            diags.push(warning);
        }
    }
    let mut loops = BTreeSet::new();
    for from in resolved {
        if let Err(DerefError::Loop(error)) = sources.deref_inner(from) {
            let place = error
                .location
                .as_ref()
                .map(|l| (l.file.clone(), l.line, l.column));
            if loops.insert(place) {
                diags.push(error);
            }
        }
    }
}

/// One warning for the `$ref`s of a file that only resolved by reading an unescaped `/` as part
/// of a key, at the first of them.
fn lenient_warning(sources: &Sources, found: &[(&RefSite, Loc)]) -> Option<Diagnostic> {
    let (site, target) = found.first()?;
    let file_part = match refs::split(&site.reference) {
        RefParts::Local { file, .. } => file,
        RefParts::Remote => "",
    };
    let escaped = format!("{file_part}#{}", refs::fragment_escape(&target.pointer));
    let mut warning = Diagnostic::warning(
        Kind::Reference,
        format!(
            "`$ref` has a key with an unescaped `/`: `{}`",
            site.reference
        ),
    )
    .at(sources.locate(&site.from.child("$ref")))
    .help(format!(
        "it was read as `{escaped}`; in a JSON pointer, write `/` inside a key as `~1`"
    ));
    let distinct: BTreeSet<&str> = found.iter().map(|(s, _)| s.reference.as_str()).collect();
    if distinct.len() > 1 {
        warning = warning.help(format!(
            "{} more `$ref`s in this file were read the same way",
            distinct.len() - 1
        ));
    }
    Some(warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_leniently() {
        assert_eq!(major_minor("3.1.0"), Some((3, 1)));
        assert_eq!(major_minor("3.0"), Some((3, 0)));
        assert_eq!(major_minor("3.2.0-rc1"), Some((3, 2)));
        assert_eq!(major_minor("3"), None);
        assert_eq!(major_minor("3.x"), None);
        assert_eq!(major_minor(""), None);
    }
}
