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

/// Write standalone crates under `target/<dir_name>/` (one workspace) from generated files,
/// and run `cargo clippy --workspace -- -D warnings` on them with the shared
/// `target/wiregen-corpus-target` target directory. `Err` carries the problem or the compiler
/// output.
///
/// The modules are spread over as many crates as the machine has cores (at most four), by
/// size, so that rustc checks them side by side instead of one after another in one crate.
/// Each crate's manifest and module files are wiregen's own `--crate` layout
/// ([`emit::crate_files`]), so the dependencies are exactly those the generated code says it
/// needs, with `wiregen-runtime` by absolute path (fine under `target/`, never checked in).
/// `src/lib.rs` is replaced by one under `#![deny(warnings)]`.
pub fn clippy_check_crate(
    dir_name: &str,
    apis: &[Api],
    files: &[OutputFile],
) -> Result<(), String> {
    let root = repo_root();
    let runtime = root.join("runtime").to_string_lossy().replace('\\', "/");
    let dir = root.join("target").join(dir_name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parts = cores.clamp(1, 4).min(files.len().max(1));
    // Largest first, each to the lightest part so far.
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(files[i].contents.len()));
    let mut groups: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); parts];
    for i in order {
        let lightest = groups
            .iter_mut()
            .min_by_key(|(size, _)| *size)
            .expect("at least one part");
        lightest.0 += files[i].contents.len();
        lightest.1.push(i);
    }
    let mut members = Vec::new();
    for (n, (_, indices)) in groups.iter().enumerate() {
        if indices.is_empty() {
            continue;
        }
        let member = format!("{dir_name}-{n}");
        let part_apis: Vec<Api> = indices.iter().map(|&i| apis[i].clone()).collect();
        let part_files: Vec<OutputFile> = indices.iter().map(|&i| files[i].clone()).collect();
        write_check_crate(
            &dir.join(&member),
            &member,
            &runtime,
            &part_apis,
            &part_files,
        )?;
        members.push(format!("\"{member}\""));
    }
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[workspace]\nmembers = [{}]\nresolver = \"3\"\n",
            members.join(", ")
        ),
    )?;
    // The workspace's lock file pins the versions the rest of the tests build with, so the
    // check crates need no registry look-up when they are already downloaded.
    let lock = root.join("Cargo.lock");
    if lock.exists() {
        std::fs::copy(&lock, dir.join("Cargo.lock"))
            .map_err(|e| format!("cannot copy {}: {e}", lock.display()))?;
    }
    cargo_clippy(&dir)
}

/// One member crate of [`clippy_check_crate`]'s workspace.
fn write_check_crate(
    dir: &Path,
    name: &str,
    runtime: &str,
    apis: &[Api],
    files: &[OutputFile],
) -> Result<(), String> {
    let crate_files = emit::crate_files(apis, files, name, &RuntimeDep::Path(runtime.to_owned()))
        .map_err(|d| format!("wiregen could not lay out the crate:\n{d}"))?;
    let mut lib = String::from(
        "//! Generated code compiled by wiregen's tests, under the strictest lints.\n#![deny(warnings)]\n",
    );
    for file in &crate_files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        if file.path == Path::new("src/lib.rs") {
            continue;
        }
        write(&path, &file.contents)?;
        if file.path != Path::new("Cargo.toml") {
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
    write(&dir.join("src/lib.rs"), &lib)
}

/// `cargo clippy --quiet -- -D warnings` in `dir`, with the shared check target directory.
pub fn cargo_clippy(dir: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["clippy", "--quiet", "--workspace", "--", "-D", "warnings"])
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
