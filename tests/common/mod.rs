//! Helpers shared by the integration tests: unified diffs, the bless switch, and standalone
//! crates under `target/` that generated code is compiled (and linted) in.
//!
//! Each test binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use wiregen::emit::{self, OutputFile, RuntimeDep};
use wiregen::ir::Api;

/// The environment variable that (re)writes snapshots instead of comparing them.
pub const BLESS_VAR: &str = "WIREGEN_BLESS";

/// Is `WIREGEN_BLESS=1` set?
pub fn blessing() -> bool {
    std::env::var_os(BLESS_VAR).is_some_and(|v| v == "1")
}

/// The repository root (the `wiregen` package's directory); tests run with it as the cwd.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `--- a/<name>` / `+++ b/<name>` unified diff from `old` to `new`.
pub fn unified_diff(old: &str, new: &str, name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// Write a standalone crate (its own `[workspace]`) under `target/<dir_name>/` from generated
/// files, and run `cargo clippy -- -D warnings` on it with the shared
/// `target/wiregen-corpus-target` target directory. `Err` carries the problem or the compiler
/// output.
///
/// The manifest and module files are wiregen's own `--crate` layout ([`emit::crate_files`]),
/// so the dependencies are exactly those the generated code says it needs, with
/// `wiregen-runtime` by absolute path (fine under `target/`, never checked in). `src/lib.rs` is
/// replaced by one under `#![deny(warnings)]`.
pub fn clippy_check_crate(
    dir_name: &str,
    apis: &[Api],
    files: &[OutputFile],
) -> Result<(), String> {
    let root = repo_root();
    let runtime = root.join("runtime").to_string_lossy().replace('\\', "/");
    let crate_files = emit::crate_files(apis, files, dir_name, &RuntimeDep::Path(runtime))
        .map_err(|d| format!("wiregen could not lay out the crate:\n{d}"))?;
    let dir = root.join("target").join(dir_name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    let mut lib = String::from(
        "//! Generated code compiled by wiregen's tests, under the strictest lints.\n#![deny(warnings)]\n",
    );
    for file in &crate_files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        if file.path == Path::new("Cargo.toml") {
            write(&path, &format!("{}\n[workspace]\n", file.contents))?;
        } else if file.path == Path::new("src/lib.rs") {
            continue;
        } else {
            write(&path, &file.contents)?;
            let module = file
                .path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let origin = apis
                .iter()
                .find(|a| a.module.rust.unraw() == module)
                .map(|a| a.source.file.as_str())
                .unwrap_or("?");
            let _ = writeln!(lib, "\n/// Generated from `{origin}`.\npub mod {module};");
        }
    }
    write(&dir.join("src/lib.rs"), &lib)?;
    // The workspace's lock file pins the versions the rest of the tests build with, so the
    // check crate needs no registry look-up when they are already downloaded.
    let lock = root.join("Cargo.lock");
    if lock.exists() {
        std::fs::copy(&lock, dir.join("Cargo.lock"))
            .map_err(|e| format!("cannot copy {}: {e}", lock.display()))?;
    }
    cargo_clippy(&dir)
}

/// `cargo clippy --quiet -- -D warnings` in `dir`, with the shared check target directory.
pub fn cargo_clippy(dir: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["clippy", "--quiet", "--", "-D", "warnings"])
        .current_dir(dir)
        .env(
            "CARGO_TARGET_DIR",
            repo_root().join("target").join("wiregen-corpus-target"),
        )
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .map_err(|e| format!("cannot run cargo clippy: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo clippy in {} failed ({}):\n{}{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    std::fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
