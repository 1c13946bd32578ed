//! The `wiregen` command line: clap arguments mapped into [`wiregen::Settings`], the library
//! doing the work, diagnostics rendered to stderr, and a documented exit status.

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use wiregen::diag::{Diagnostic, Kind};
use wiregen::emit::{self, OutputFile, RuntimeDep};
use wiregen::ir::Role;
use wiregen::{Lang, Parts, Settings, WriteMode, write_files};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXIT_STATUS: &str = "\
Exit status:
  0  success
  1  the specs have errors, or (with --check) generated files differ from a fresh generation
  2  usage error, or a file could not be read or written";

/// Typed Rust servers, clients and payload types from OpenAPI (Server-Sent Events) and
/// AsyncAPI (WebSocket) specs.
#[derive(Debug, Parser)]
#[command(name = "wiregen", version, after_help = EXIT_STATUS)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate one Rust file per spec (or, with --crate, a whole crate).
    #[command(after_help = EXIT_STATUS)]
    Generate(GenerateArgs),
    /// Load and check specs, report every problem, generate nothing.
    #[command(after_help = EXIT_STATUS)]
    Check(CheckArgs),
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// OpenAPI or AsyncAPI documents (YAML or JSON).
    #[arg(value_name = "SPEC", required = true)]
    specs: Vec<PathBuf>,
    /// Directory to write into (with --crate: the crate's root).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Generate a standalone crate with this package name: Cargo.toml, src/lib.rs, src/<module>.rs.
    #[arg(long = "crate", value_name = "NAME")]
    crate_name: Option<String>,
    /// Write nothing; print a diff for every file that differs from a fresh generation and exit 1 if any does.
    #[arg(long)]
    check: bool,
    /// Read AsyncAPI documents from this side, overriding their `x-wiregen-role`.
    #[arg(long, value_enum)]
    role: Option<RoleArg>,
    /// The path generated code uses to reach the runtime crate.
    #[arg(long, value_name = "PATH", default_value = "::wiregen_runtime")]
    runtime_path: String,
    /// With --crate: the version requirement of the `wiregen-runtime` dependency (default: this
    /// wiregen's version; inside wiregen's own repository, its `runtime/` by path).
    #[arg(long, value_name = "REQ", conflicts_with = "runtime_local")]
    runtime_version: Option<String>,
    /// With --crate: depend on the `wiregen-runtime` crate in this directory (written relative
    /// to the generated crate), e.g. a checkout of wiregen's `runtime/`.
    #[arg(long, value_name = "DIR")]
    runtime_local: Option<PathBuf>,
    /// Also derive this trait on every generated type (repeatable), e.g. `schemars::JsonSchema`.
    #[arg(long = "derive", value_name = "PATH")]
    derives: Vec<String>,
    /// Give each WebSocket message enum a side receives an `Unknown(serde_json::Value)` variant
    /// for frames with an unknown tag (default: the document's `x-wiregen-unknown-messages`,
    /// else unknown tags are errors).
    #[arg(long)]
    unknown_messages: bool,
    /// Do not generate server code.
    #[arg(long)]
    no_server: bool,
    /// Do not generate client code.
    #[arg(long)]
    no_client: bool,
    /// The language to generate: Rust (types, servers, clients), or TypeScript (types and
    /// clients, one ES module per spec plus `wiregen-runtime.ts`).
    #[arg(long, value_enum, default_value = "rust")]
    lang: LangArg,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// OpenAPI or AsyncAPI documents (YAML or JSON).
    #[arg(value_name = "SPEC", required = true)]
    specs: Vec<PathBuf>,
    /// Read AsyncAPI documents from this side, overriding their `x-wiregen-role`.
    #[arg(long, value_enum)]
    role: Option<RoleArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LangArg {
    /// Rust: `<module>.rs` per spec.
    Rust,
    /// TypeScript: `<module>.ts` per spec and `wiregen-runtime.ts`.
    #[value(name = "typescript", alias = "ts")]
    TypeScript,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    /// The document describes the server.
    Server,
    /// The document describes a client.
    Client,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Server => Role::Server,
            RoleArg::Client => Role::Client,
        }
    }
}

/// The documented exit statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Ok = 0,
    Failed = 1,
    Usage = 2,
}

fn main() -> ExitCode {
    let mut console = Console::default();
    let status = run(&mut console);
    // Output that could not be written (other than to a closed pipe) is an I/O error.
    let status = if console.failed {
        status.max(Status::Usage)
    } else {
        status
    };
    ExitCode::from(status as u8)
}

fn run(console: &mut Console) -> Status {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // `--help` and `--version` are "errors" that print to stdout and exit 0.
            let _ = error.print();
            return if error.exit_code() == 0 {
                Status::Ok
            } else {
                Status::Usage
            };
        }
    };
    match cli.command {
        Command::Generate(args) => generate(args, console),
        Command::Check(args) => check(args, console),
    }
}

fn generate(args: GenerateArgs, console: &mut Console) -> Status {
    let GenerateArgs {
        specs,
        out,
        crate_name,
        check,
        role,
        runtime_path,
        runtime_version,
        runtime_local,
        derives,
        unknown_messages,
        no_server,
        no_client,
        lang,
    } = args;
    let settings = Settings {
        role: role.map(Role::from),
        parts: Parts {
            types: true,
            server: !no_server,
            client: !no_client,
        },
        runtime_path,
        extra_derives: derives,
        unknown_messages: unknown_messages.then_some(true),
        lang: match lang {
            LangArg::Rust => Lang::Rust,
            LangArg::TypeScript => Lang::TypeScript,
        },
    };
    // Bad arguments are usage errors, found before any spec is read.
    let mut usage = Vec::new();
    if lang == LangArg::TypeScript {
        let not_for_ts = [
            (crate_name.is_some(), "--crate"),
            (no_client, "--no-client"),
            (!settings.extra_derives.is_empty(), "--derive"),
        ];
        for (given, flag) in not_for_ts {
            if given {
                usage.push(
                    Diagnostic::error(
                        Kind::Invalid,
                        format!("{flag} does not apply to --lang typescript"),
                    )
                    .help("TypeScript output is the types and clients of each spec, as ES modules"),
                );
            }
        }
    }
    usage.extend(emit::check_settings(&settings).err());
    if let Some(name) = &crate_name {
        usage.extend(emit::validate_crate_name(name).err());
    }
    let runtime = match runtime_dep(&out, runtime_version, runtime_local.as_deref()) {
        Ok(runtime) => runtime,
        Err(diagnostic) => {
            usage.push(diagnostic);
            RuntimeDep::Version(env!("CARGO_PKG_VERSION").to_owned())
        }
    };
    if !usage.is_empty() {
        console.diagnostics(&usage);
        return Status::Usage;
    }

    let generated = match wiregen::generate(&specs, &settings) {
        Ok(generated) => generated,
        Err(failure) => {
            console.diagnostics(&failure.diagnostics);
            return failure_status(&failure.diagnostics);
        }
    };
    console.diagnostics(&generated.diagnostics);
    let files: Vec<OutputFile> = match &crate_name {
        Some(name) => match emit::crate_files(&generated.apis, &generated.files, name, &runtime) {
            Ok(files) => files,
            Err(diagnostic) => return fail(console, diagnostic),
        },
        None => generated.files,
    };

    let mode = if check {
        WriteMode::Check
    } else {
        WriteMode::Write
    };
    let report = match write_files(&out, &files, mode) {
        Ok(report) => report,
        Err(diagnostic) => return fail(console, diagnostic),
    };
    match mode {
        WriteMode::Check if report.has_drift() => {
            for drift in &report.drifted {
                console.out(&drift.diff);
            }
            console.message(&format!(
                "{} file(s) differ from a fresh generation; run without --check to update",
                report.drifted.len()
            ));
            Status::Failed
        }
        WriteMode::Check => {
            console.message(&format!("{} file(s) up to date", report.unchanged.len()));
            Status::Ok
        }
        WriteMode::Write => {
            console.message(&format!(
                "wrote {} file(s), {} unchanged",
                report.written.len(),
                report.unchanged.len()
            ));
            Status::Ok
        }
    }
}

fn check(args: CheckArgs, console: &mut Console) -> Status {
    let CheckArgs { specs, role } = args;
    let settings = Settings {
        role: role.map(Role::from),
        ..Settings::default()
    };
    match wiregen::lower_all(&specs, &settings) {
        Ok(lowered) => {
            console.diagnostics(&lowered.diagnostics);
            for api in &lowered.apis {
                console.message(&format!(
                    "{}: ok ({}, {}, {}, {})",
                    api.source.file,
                    count(api.calls().count(), "operation"),
                    count(api.streams().count(), "SSE endpoint"),
                    count(api.channels.len(), "channel"),
                    count(api.types.defs.len(), "type")
                ));
            }
            Status::Ok
        }
        Err(failure) => {
            console.diagnostics(&failure.diagnostics);
            failure_status(&failure.diagnostics)
        }
    }
}

/// `1 channel`, `2 channels`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn fail(console: &mut Console, diagnostic: Diagnostic) -> Status {
    let diagnostics = [diagnostic];
    console.diagnostics(&diagnostics);
    failure_status(&diagnostics)
}

/// 2 if a file could not be read or written, else 1.
fn failure_status(diagnostics: &[Diagnostic]) -> Status {
    if diagnostics
        .iter()
        .any(|d| d.is_error() && d.kind == Kind::Io)
    {
        Status::Usage
    } else {
        Status::Failed
    }
}

/// How a generated crate reaches `wiregen-runtime`: the version asked for, the local
/// directory asked for (by a path relative to the crate: never absolute, generated files get
/// checked in), or by default this wiregen's version from crates.io, except inside wiregen's own
/// repository (an ancestor of the output directory holds `runtime/`, the `wiregen-runtime`
/// crate), whose crates use the runtime next to them.
fn runtime_dep(
    out: &Path,
    version: Option<String>,
    local: Option<&Path>,
) -> Result<RuntimeDep, Diagnostic> {
    if let Some(version) = version {
        return Ok(RuntimeDep::Version(version));
    }
    let out = resolve(out);
    if let Some(local) = local {
        let manifest = local.join("Cargo.toml");
        let relative = out
            .as_deref()
            .zip(local.canonicalize().ok())
            .and_then(|(out, local)| relative_path(out, &local));
        return match relative {
            Some(path) if is_runtime_crate(&manifest) => Ok(RuntimeDep::Path(path)),
            _ => Err(Diagnostic::error(
                Kind::Io,
                format!(
                    "`{}` is not the `wiregen-runtime` crate (no Cargo.toml naming it there)",
                    local.display()
                ),
            )
            .help("give the directory of wiregen's `runtime/` crate")),
        };
    }
    let repository = out.as_deref().and_then(|out| {
        out.ancestors()
            .map(|ancestor| ancestor.join("runtime"))
            .find(|runtime| is_runtime_crate(&runtime.join("Cargo.toml")))
            .and_then(|runtime| relative_path(out, &runtime))
    });
    Ok(match repository {
        Some(path) => RuntimeDep::Path(path),
        None => RuntimeDep::Version(env!("CARGO_PKG_VERSION").to_owned()),
    })
}

/// Is this the manifest of the `wiregen-runtime` crate?
fn is_runtime_crate(manifest: &Path) -> bool {
    std::fs::read_to_string(manifest).is_ok_and(|text| {
        text.lines()
            .any(|l| l.trim() == "name = \"wiregen-runtime\"")
    })
}

/// The canonical form of a path that may not exist yet: its longest existing ancestor,
/// canonicalized, followed by the rest.
fn resolve(path: &Path) -> Option<PathBuf> {
    for ancestor in path.ancestors() {
        let probe = if ancestor.as_os_str().is_empty() {
            Path::new(".")
        } else {
            ancestor
        };
        let Ok(mut resolved) = probe.canonicalize() else {
            continue;
        };
        for component in path.strip_prefix(ancestor).ok()?.components() {
            match component {
                Component::Normal(name) => resolved.push(name),
                Component::ParentDir => {
                    resolved.pop();
                }
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        return Some(resolved);
    }
    None
}

/// `to` relative to `from` (both canonical), with `/` separators; `None` when they share no
/// root (another drive) or a name is not UTF-8.
fn relative_path(from: &Path, to: &Path) -> Option<String> {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    for component in &to[common..] {
        parts.push(component.as_os_str().to_str()?);
    }
    Some(if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    })
}

/// stdout and stderr. A closed pipe (`wiregen ... | head`) silently ends output to that stream
/// without changing the exit status; any other write error makes the status 2.
#[derive(Debug, Default)]
struct Console {
    stdout_closed: bool,
    stderr_closed: bool,
    failed: bool,
}

impl Console {
    /// Program output (diffs).
    fn out(&mut self, text: &str) {
        if !self.stdout_closed {
            let result = io::stdout().lock().write_all(text.as_bytes());
            self.stdout_closed |= self.settle(result);
        }
    }

    /// Diagnostics, rendered; nothing if there are none.
    fn diagnostics(&mut self, diagnostics: &[Diagnostic]) {
        if !diagnostics.is_empty() {
            self.err(&wiregen::diag::render(diagnostics));
        }
    }

    /// A message of the CLI's own: `wiregen: <text>`.
    fn message(&mut self, text: &str) {
        self.err(&format!("wiregen: {text}\n"));
    }

    fn err(&mut self, text: &str) {
        if !self.stderr_closed {
            let result = io::stderr().lock().write_all(text.as_bytes());
            self.stderr_closed |= self.settle(result);
        }
    }

    /// Did the stream close? Records other failures.
    fn settle(&mut self, result: io::Result<()>) -> bool {
        match result {
            Ok(()) => false,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => true,
            Err(_) => {
                self.failed = true;
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_parse() {
        let cli = Cli::try_parse_from([
            "wiregen",
            "generate",
            "a.yaml",
            "b.json",
            "--out",
            "gen",
            "--crate",
            "api",
            "--check",
            "--role",
            "client",
            "--derive",
            "Eq",
            "--derive",
            "Hash",
            "--no-server",
        ])
        .expect("parses");
        let Command::Generate(args) = cli.command else {
            panic!("generate")
        };
        assert_eq!(
            args.specs,
            [PathBuf::from("a.yaml"), PathBuf::from("b.json")]
        );
        assert_eq!(args.crate_name.as_deref(), Some("api"));
        assert!(args.check && args.no_server && !args.no_client);
        assert_eq!(args.derives, ["Eq", "Hash"]);
        assert_eq!(args.runtime_path, "::wiregen_runtime");
        assert!(
            Cli::try_parse_from(["wiregen", "generate", "a.yaml"]).is_err(),
            "--out is required"
        );
        assert!(
            Cli::try_parse_from(["wiregen", "check"]).is_err(),
            "a spec is required"
        );
    }

    #[test]
    fn relative_paths() {
        let rel = |a: &str, b: &str| relative_path(Path::new(a), Path::new(b));
        assert_eq!(
            rel("/w/main/gen", "/w/main/runtime").as_deref(),
            Some("../runtime")
        );
        assert_eq!(
            rel("/w/main", "/w/main/runtime").as_deref(),
            Some("runtime")
        );
        assert_eq!(
            rel("/tmp/x/y", "/w/main/runtime").as_deref(),
            Some("../../../w/main/runtime")
        );
        assert_eq!(rel("/w", "/w").as_deref(), Some("."));
        assert_eq!(rel("relative", "/w").as_deref(), None);
    }

    #[test]
    fn missing_directories_resolve_under_existing_ones() {
        let here = Path::new(".").canonicalize().expect("cwd");
        assert_eq!(
            resolve(Path::new("no-such-dir/x/../y")),
            Some(here.join("no-such-dir/y"))
        );
        assert_eq!(resolve(Path::new("")), Some(here));
    }

    #[test]
    fn the_runtime_dependency() {
        // Inside this repository: the runtime next to it, by a relative path.
        let inside = runtime_dep(Path::new("target/wiregen-cli-test-out"), None, None);
        assert_eq!(inside.ok(), Some(RuntimeDep::Path("../../runtime".into())));
        // Anywhere else: this version, from crates.io.
        let elsewhere = std::env::temp_dir().join("wiregen-runtime-dep-test");
        assert_eq!(
            runtime_dep(&elsewhere, None, None).ok(),
            Some(RuntimeDep::Version(env!("CARGO_PKG_VERSION").into()))
        );
        // As asked: a version, or a local crate by a relative path.
        assert_eq!(
            runtime_dep(&elsewhere, Some("0.1".into()), None).ok(),
            Some(RuntimeDep::Version("0.1".into()))
        );
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        match runtime_dep(&elsewhere, None, Some(&here.join("runtime"))) {
            Ok(RuntimeDep::Path(path)) => {
                assert!(!Path::new(&path).is_absolute(), "{path}");
                assert!(path.ends_with("runtime"), "{path}");
            }
            other => panic!("a path dependency, got {other:?}"),
        }
        assert!(
            runtime_dep(&elsewhere, None, Some(here)).is_err(),
            "not the runtime crate"
        );
    }
}
