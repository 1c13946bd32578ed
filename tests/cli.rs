//! The `wiregen` binary end to end: what it writes, when it writes nothing, `--check` drift,
//! `--crate`, and the documented exit statuses (0 ok, 1 diagnostics or drift, 2 usage or I/O).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

/// A modification time no file written by a test run can have.
const LONG_AGO: Duration = Duration::from_secs(1_000_000_000);

const OPENAPI: &str = "specs/petstore.openapi.yaml";
const ASYNCAPI: &str = "specs/petstore.asyncapi.yaml";

/// Run `wiregen` from the repository root, so spec paths (and diagnostics) stay relative.
fn wiregen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wiregen"))
        .args(args)
        .current_dir(common::repo_root())
        .output()
        .expect("the wiregen binary runs")
}

fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .expect("exited normally, not by a signal")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Assert the exit code, showing everything the command printed when it is wrong.
#[track_caller]
fn assert_code(output: &Output, expected: i32, what: &str) {
    assert_eq!(
        code(output),
        expected,
        "{what}\n--- stdout\n{}\n--- stderr\n{}",
        stdout(output),
        stderr(output)
    );
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("wiregen-cli-")
        .tempdir()
        .expect("a temp dir")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

/// Every file under `dir`, relative, sorted, with its bytes and modification time.
fn snapshot_dir(dir: &Path) -> Vec<(PathBuf, Vec<u8>, SystemTime)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>, SystemTime)>) {
        for entry in std::fs::read_dir(dir).expect("readable") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).expect("readable");
                let modified = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .expect("an mtime");
                let relative = path.strip_prefix(root).expect("under root").to_path_buf();
                out.push((relative, bytes, modified));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every spec the repository has: the fixtures that generate, and the pet store.
fn every_spec() -> Vec<String> {
    let mut specs: Vec<String> = std::fs::read_dir(common::repo_root().join("tests/fixtures"))
        .expect("the fixtures")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let spec = name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json");
            (spec && !name.starts_with("bad_")).then(|| format!("tests/fixtures/{name}"))
        })
        .collect();
    specs.sort();
    specs.extend([OPENAPI.to_owned(), ASYNCAPI.to_owned()]);
    specs
}

/// Two processes (each with its own hash seeds, addresses and thread timing) generate every
/// spec byte for byte the same.
#[test]
fn two_processes_generate_the_same_bytes() {
    let specs = every_spec();
    assert!(specs.len() > 10, "{specs:?}");
    let mut outputs = Vec::new();
    for _ in 0..2 {
        let dir = temp_dir();
        let mut args = vec!["generate"];
        args.extend(specs.iter().map(String::as_str));
        args.extend(["--crate", "determinism", "--out", path_str(dir.path())]);
        let run = wiregen(&args);
        assert_code(&run, 0, "generating every spec");
        let files: Vec<(PathBuf, Vec<u8>)> = snapshot_dir(dir.path())
            .into_iter()
            .map(|(path, bytes, _)| (path, bytes))
            .collect();
        outputs.push(files);
    }
    assert!(outputs[0].len() > 10, "{:?}", outputs[0].len());
    assert_eq!(
        outputs[0].iter().map(|(p, _)| p).collect::<Vec<_>>(),
        outputs[1].iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for ((path, first), (_, second)) in outputs[0].iter().zip(&outputs[1]) {
        assert!(first == second, "{}: two processes differ", path.display());
    }
}

#[test]
fn generating_twice_writes_identical_files_once() {
    let dir = temp_dir();
    let out = path_str(dir.path());
    let first = wiregen(&["generate", OPENAPI, ASYNCAPI, "--out", out]);
    assert_code(&first, 0, "first generation");
    let before = snapshot_dir(dir.path());
    let names: Vec<_> = before.iter().map(|(p, _, _)| p.clone()).collect();
    assert_eq!(
        names,
        [
            PathBuf::from("petstore_asyncapi.rs"),
            PathBuf::from("petstore_openapi.rs")
        ]
    );
    for (path, bytes, _) in &before {
        let text = std::str::from_utf8(bytes).expect("UTF-8");
        assert!(
            text.starts_with("// @generated by wiregen "),
            "{}: no @generated header",
            path.display()
        );
        assert!(
            text.lines()
                .next()
                .is_some_and(|l| l.contains(" from specs/petstore.")),
            "{}: the header names the spec by the relative path it was given",
            path.display()
        );
        assert!(
            !text.contains(env!("CARGO_MANIFEST_DIR")),
            "{}: an absolute path leaked into the output",
            path.display()
        );
    }

    // Date every file back: a rewrite, however soon, would give it a modification time of
    // now (no sleeping, no reliance on the file system's time granularity).
    let long_ago = SystemTime::UNIX_EPOCH + LONG_AGO;
    for (path, _, _) in &before {
        std::fs::File::options()
            .write(true)
            .open(dir.path().join(path))
            .and_then(|file| file.set_modified(long_ago))
            .expect("the modification time can be set");
    }
    let second = wiregen(&["generate", OPENAPI, ASYNCAPI, "--out", out]);
    assert_code(&second, 0, "second generation");
    let after = snapshot_dir(dir.path());
    assert_eq!(before.len(), after.len());
    for ((path, bytes, _), (_, bytes_after, modified_after)) in before.iter().zip(&after) {
        assert_eq!(bytes, bytes_after, "{}: the bytes changed", path.display());
        assert_eq!(
            *modified_after,
            long_ago,
            "{}: rewritten although unchanged (cargo would rebuild)",
            path.display()
        );
    }
    assert!(
        stderr(&second).contains("wrote 0 file"),
        "the second run reports that it wrote nothing:\n{}",
        stderr(&second)
    );
}

#[test]
fn check_reports_drift_with_a_diff() {
    let dir = temp_dir();
    let out = path_str(dir.path());
    assert_code(
        &wiregen(&["generate", OPENAPI, "--out", out]),
        0,
        "generation",
    );
    let fresh = wiregen(&["generate", OPENAPI, "--out", out, "--check"]);
    assert_code(&fresh, 0, "--check right after generating");
    assert!(stdout(&fresh).is_empty(), "no diff when nothing drifted");

    let file = dir.path().join("petstore_openapi.rs");
    let original = std::fs::read_to_string(&file).expect("generated");
    let edited = original.replacen("pub mod types", "// a hand edit\npub mod types", 1);
    assert_ne!(original, edited, "the edit applies");
    std::fs::write(&file, &edited).expect("edit");
    let drift = wiregen(&["generate", OPENAPI, "--out", out, "--check"]);
    assert_code(&drift, 1, "--check after a hand edit");
    let diff = stdout(&drift);
    assert!(
        diff.contains("--- a/") && diff.contains("+++ b/") && diff.contains("@@ "),
        "a unified diff:\n{diff}"
    );
    assert!(
        diff.contains("-// a hand edit"),
        "the diff undoes the edit:\n{diff}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).expect("still there"),
        edited,
        "--check wrote nothing"
    );

    std::fs::remove_file(&file).expect("remove");
    let missing = wiregen(&["generate", OPENAPI, "--out", out, "--check"]);
    assert_code(&missing, 1, "--check with the file missing");
    assert!(!file.exists(), "--check created nothing");
}

#[test]
fn crate_output_is_a_building_crate() {
    let dir = temp_dir();
    let root = dir.path().join("petstore");
    let out = path_str(&root);
    // Outside this repository the runtime comes from crates.io by default ...
    let run = wiregen(&[
        "generate",
        OPENAPI,
        ASYNCAPI,
        "--out",
        out,
        "--crate",
        "petstore-api",
    ]);
    assert_code(&run, 0, "--crate");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let version = format!(
        "wiregen-runtime = {{ version = \"{}\", features = [",
        env!("CARGO_PKG_VERSION")
    );
    assert!(manifest.contains(&version), "{manifest}");
    // ... and from a local checkout when asked, as a user of an unpublished runtime would.
    let runtime = common::repo_root().join("runtime");
    let run = wiregen(&[
        "generate",
        OPENAPI,
        ASYNCAPI,
        "--out",
        out,
        "--crate",
        "petstore-api",
        "--runtime-local",
        path_str(&runtime),
    ]);
    assert_code(&run, 0, "--crate --runtime-local");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        manifest.contains("wiregen-runtime = { path = \""),
        "{manifest}"
    );
    assert!(
        manifest.contains("name = \"petstore-api\""),
        "the package name:\n{manifest}"
    );
    for path in manifest.split("path = \"").skip(1) {
        let path = path.split('"').next().unwrap_or_default();
        assert!(
            Path::new(path).is_relative(),
            "dependency paths are relative (the crate gets checked in): {path}\n{manifest}"
        );
    }
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    assert!(
        lib.contains("pub use ::wiregen_runtime;"),
        "the runtime is re-exported:\n{lib}"
    );
    for module in ["petstore_openapi", "petstore_asyncapi"] {
        assert!(
            lib.contains(&format!("pub mod {module};")),
            "{module} in lib.rs:\n{lib}"
        );
        assert!(
            root.join(format!("src/{module}.rs")).is_file(),
            "src/{module}.rs"
        );
    }

    // The crate builds and is lint-clean on its own (outside this workspace; the workspace's
    // lock file pins the versions the other tests already built).
    std::fs::copy(
        common::repo_root().join("Cargo.lock"),
        root.join("Cargo.lock"),
    )
    .expect("copy the lock file");
    if let Err(output) = common::cargo_clippy(&root) {
        panic!("the generated crate does not build cleanly:\n{output}");
    }
}

#[test]
fn check_shows_where_a_bad_spec_is_wrong() {
    let bad = wiregen(&["check", "tests/fixtures/bad_dangling_ref.yaml"]);
    assert_code(&bad, 1, "check on a bad spec");
    let err = stderr(&bad);
    assert!(
        err.contains("--> tests/fixtures/bad_dangling_ref.yaml:16:23"),
        "file:line:col of the problem:\n{err}"
    );
    assert!(err.contains("1 error"), "a summary line:\n{err}");

    let good = wiregen(&["check", OPENAPI, ASYNCAPI]);
    assert_code(&good, 0, "check on good specs");
    let err = stderr(&good);
    assert!(
        err.contains("specs/petstore.openapi.yaml: ok")
            && err.contains("specs/petstore.asyncapi.yaml: ok"),
        "one line per spec:\n{err}"
    );

    let mixed = wiregen(&[
        "generate",
        OPENAPI,
        "tests/fixtures/bad_yaml_syntax.yaml",
        "--out",
        "target/never-written",
    ]);
    assert_code(&mixed, 1, "generate with one bad spec among good ones");
    assert!(
        !Path::new(&common::repo_root())
            .join("target/never-written")
            .exists(),
        "nothing is written when a spec fails"
    );
}

#[test]
fn unreadable_specs_and_bad_usage_exit_2() {
    for args in [
        &["check", "tests/fixtures/does-not-exist.yaml"][..],
        &[
            "generate",
            "tests/fixtures/does-not-exist.yaml",
            "--out",
            "target/never-written",
        ],
    ] {
        let output = wiregen(args);
        assert_code(&output, 2, &format!("{args:?}: a spec that cannot be read"));
        assert!(
            stderr(&output).contains("does-not-exist.yaml"),
            "{args:?}: the message names the file:\n{}",
            stderr(&output)
        );
    }
    for args in [
        &["generate", OPENAPI, "--out", "x", "--no-such-flag"][..],
        &["frobnicate"],
        &[],
        &["generate", OPENAPI],
        &["check"],
        &["generate", OPENAPI, "--out", "x", "--crate", "not a name"],
    ] {
        assert_code(&wiregen(args), 2, &format!("{args:?}: a usage error"));
    }
    let help = wiregen(&["--help"]);
    assert_code(&help, 0, "--help");
    assert!(
        stdout(&help).contains("Exit status"),
        "--help documents the exit statuses"
    );
}

#[test]
fn two_specs_for_one_module_are_refused() {
    let dir = temp_dir();
    for (sub, fixture) in [("a", "openapi30.yaml"), ("b", "openapi31.yaml")] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        std::fs::copy(
            common::repo_root().join("tests/fixtures").join(fixture),
            dir.path().join(sub).join("pets.yaml"),
        )
        .expect("copy");
    }
    let out = dir.path().join("out");
    let a = dir.path().join("a/pets.yaml");
    let b = dir.path().join("b/pets.yaml");
    let run = wiregen(&[
        "generate",
        path_str(&a),
        path_str(&b),
        "--out",
        path_str(&out),
    ]);
    assert_code(&run, 1, "two specs that both become module `pets`");
    assert!(
        stderr(&run).contains("pets.rs"),
        "the message names the file:\n{}",
        stderr(&run)
    );
    assert!(!out.exists(), "nothing is written");
}
