//! `cargo xtask fuzz`: builds the cargo-fuzz targets in `fuzz/` with the nightly toolchain and
//! runs each for a fixed time; `cargo xtask fuzz --seed` writes their seed corpora from the
//! fixtures.
//!
//! Nothing is installed here: a missing nightly toolchain or cargo-fuzz is reported with the
//! command that installs it, and the exit code is 2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use gameauth_contract::{Interaction, Layout, SeedInput, Seeds};
use serde_json::Value;

/// A single input running longer than this is a finding (a hang), not a slow run.
const INPUT_TIMEOUT_SECONDS: u64 = 30;

/// Arguments of `cargo xtask fuzz`.
///
/// Builds every fuzz target with `cargo +nightly fuzz` (needs the nightly toolchain and
/// cargo-fuzz) and runs each for N seconds on the working corpus `fuzz/corpus/<target>/` plus
/// the committed seeds in `fuzz/corpus-seeds/<target>/`. Prints one line per target as it
/// finishes and `N passed, N failed`; a crash fails its target and its reproducer path is
/// printed.
#[derive(Debug, Args)]
pub(crate) struct FuzzArgs {
    /// Seconds each target runs.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    seconds: u64,
    /// Targets run at a time, one core each.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    jobs: u64,
    /// Run only these targets (repeatable).
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
    /// The sanitizer: every crate under test forbids `unsafe`, so the properties asserted by
    /// the targets matter more than the address sanitizer, which halves the throughput.
    #[arg(long, value_enum, default_value_t = Sanitizer::None)]
    sanitizer: Sanitizer,
    /// Rewrite fuzz/corpus-seeds/ from the providers' fixtures and signing vectors instead.
    #[arg(long, exclusive = true)]
    seed: bool,
    /// List the targets instead.
    #[arg(long, exclusive = true)]
    list: bool,
}

/// A cargo-fuzz sanitizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Sanitizer {
    None,
    Address,
}

impl Sanitizer {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Address => "address",
        }
    }
}

/// Entry point of `cargo xtask fuzz`.
pub(crate) fn cli(args: &FuzzArgs) -> Result<ExitCode, String> {
    let root = crate::project_root();
    if args.seed {
        let written = write_seeds(&root)?;
        for (target, count) in &written {
            println!("{target:<22} {count} seeds");
        }
        println!(
            "wrote {} seed files to fuzz/corpus-seeds/",
            written.values().sum::<usize>()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(missing) = missing_tool() {
        eprintln!("error: {missing}");
        return Ok(ExitCode::from(2));
    }
    if args.list {
        for target in list_targets(&root)? {
            println!("{target}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    run(&root, args)
}

/// What is missing to fuzz, with the command that installs it.
fn missing_tool() -> Option<String> {
    if !succeeds(nightly_cargo().arg("--version")) {
        return Some(
            "fuzzing needs the nightly toolchain, which is not installed: \
             run `rustup toolchain install nightly`"
                .to_owned(),
        );
    }
    if !succeeds(nightly_cargo().args(["fuzz", "--version"])) {
        return Some(
            "fuzzing needs cargo-fuzz, which is not installed: run `cargo install cargo-fuzz`"
                .to_owned(),
        );
    }
    None
}

/// `cargo +nightly`, without letting rustup install a missing toolchain on its own, and without
/// what `cargo run` put into this process's environment (the toolchain choice of this
/// stable-pinned crate, its package variables and library path), which would otherwise make
/// every invocation rebuild the targets from scratch.
fn nightly_cargo() -> Command {
    let mut command = Command::new("cargo");
    command.arg("+nightly").env("RUSTUP_AUTO_INSTALL", "0");
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        let inherited = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || matches!(
                name.as_ref(),
                "CARGO"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "LD_LIBRARY_PATH"
                    | "RUSTUP_TOOLCHAIN"
                    | "RUSTC"
                    | "RUSTDOC"
            );
        if inherited {
            command.env_remove(&key);
        }
    }
    command
}

fn succeeds(command: &mut Command) -> bool {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn fuzz_dir(root: &Path) -> PathBuf {
    root.join("fuzz")
}

/// The targets cargo-fuzz finds in `fuzz/Cargo.toml`.
fn list_targets(root: &Path) -> Result<Vec<String>, String> {
    let output = nightly_cargo()
        .args(["fuzz", "list", "--fuzz-dir"])
        .arg(fuzz_dir(root))
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo fuzz list: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo fuzz list failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

fn run(root: &Path, options: &FuzzArgs) -> Result<ExitCode, String> {
    let available = list_targets(root)?;
    let targets: Vec<String> = if options.targets.is_empty() {
        available.clone()
    } else {
        for t in &options.targets {
            if !available.contains(t) {
                return Err(format!(
                    "unknown fuzz target `{t}` (targets: {})",
                    available.join(", ")
                ));
            }
        }
        options.targets.clone()
    };

    println!(
        "building {} fuzz targets (nightly, debug assertions)",
        targets.len()
    );
    let mut build = nightly_cargo();
    build
        .args(["fuzz", "build", "--debug-assertions", "--sanitizer"])
        .arg(options.sanitizer.as_str())
        .arg("--fuzz-dir")
        .arg(fuzz_dir(root))
        .current_dir(root);
    if targets.len() == 1 {
        build.arg(&targets[0]);
    }
    let status = build
        .status()
        .map_err(|e| format!("cannot run cargo fuzz build: {e}"))?;
    if !status.success() {
        return Err("cargo fuzz build failed".into());
    }

    let logs = fuzz_dir(root).join("target").join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    // Workers take the next target from a shared queue; each prints its line when its target ends.
    let queue = Mutex::new(targets.iter());
    let tally = Mutex::new((0usize, 0usize));
    let first_error = Mutex::new(None::<String>);
    std::thread::scope(|scope| {
        for _ in 0..usize::try_from(options.jobs)
            .unwrap_or(usize::MAX)
            .min(targets.len())
        {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                    let Some(target) = next else { break };
                    match run_target(root, target, options, &logs.join(format!("{target}.log"))) {
                        Ok(outcome) => {
                            if let Ok(mut t) = tally.lock() {
                                if outcome.starts_with("ok") {
                                    t.0 += 1;
                                } else {
                                    t.1 += 1;
                                }
                            }
                            println!("{outcome}");
                        }
                        Err(e) => {
                            if let Ok(mut slot) = first_error.lock() {
                                slot.get_or_insert(e);
                            }
                            // Stop handing out targets: the run cannot be reported whole.
                            if let Ok(mut q) = queue.lock() {
                                q.by_ref().for_each(drop);
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or(None) {
        return Err(e);
    }
    let (passed, failed) = tally.into_inner().unwrap_or((0, 0));
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs one target and returns its report line.
fn run_target(root: &Path, target: &str, options: &FuzzArgs, log: &Path) -> Result<String, String> {
    let fuzz = fuzz_dir(root);
    let corpus = fuzz.join("corpus").join(target);
    std::fs::create_dir_all(&corpus)
        .map_err(|e| format!("cannot create {}: {e}", corpus.display()))?;
    let seeds = fuzz.join("corpus-seeds").join(target);
    let log_file =
        std::fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let log_err = log_file
        .try_clone()
        .map_err(|e| format!("cannot write {}: {e}", log.display()))?;

    let mut command = nightly_cargo();
    command
        .args(["fuzz", "run", "--debug-assertions", "--sanitizer"])
        .arg(options.sanitizer.as_str())
        .arg("--fuzz-dir")
        .arg(&fuzz)
        .arg(target)
        .arg(&corpus);
    if seeds.is_dir() {
        command.arg(&seeds);
    }
    command
        .arg("--")
        .arg(format!("-max_total_time={}", options.seconds))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run cargo fuzz run: {e}"))?;
    // libFuzzer stops itself; this only guards against a fuzzer that never returns.
    let limit = Duration::from_secs(options.seconds + 2 * INPUT_TIMEOUT_SECONDS + 300);
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("cannot wait for cargo fuzz run: {e}"))?
        {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let elapsed = started.elapsed().as_secs();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let log_shown = log.strip_prefix(root).unwrap_or(log).display().to_string();
    match status {
        Some(s) if s.success() => {
            let runs = last_value(&text, "Done ", " runs").unwrap_or_else(|| "?".to_owned());
            Ok(format!("ok    {target:<22} {elapsed:>5} s  {runs} runs"))
        }
        Some(_) => {
            let artifact = last_value(&text, "Test unit written to ", "\n")
                .map(|p| shown_path(root, &p))
                .unwrap_or_else(|| "no reproducer written".to_owned());
            let cause = text
                .lines()
                .find(|l| l.contains("panicked at"))
                .map(|l| {
                    let next = text
                        .lines()
                        .skip_while(|x| *x != l)
                        .nth(1)
                        .unwrap_or_default();
                    format!(" ({}: {})", l.trim().trim_end_matches(':'), next.trim())
                })
                .unwrap_or_default();
            Ok(format!(
                "FAIL  {target:<22} {elapsed:>5} s  reproducer: {artifact}{cause}  log: {log_shown}"
            ))
        }
        None => Ok(format!(
            "FAIL  {target:<22} {elapsed:>5} s  the fuzzer did not stop; log: {log_shown}"
        )),
    }
}

/// The text between the last `start` and the following `end` in `text`.
fn last_value(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.rfind(start)? + start.len();
    let rest = &text[from..];
    let to = rest.find(end).unwrap_or(rest.len());
    Some(rest[..to].trim().to_owned())
}

fn shown_path(root: &Path, path: &str) -> String {
    Path::new(path)
        .strip_prefix(root)
        .map_or_else(|_| path.to_owned(), |p| p.display().to_string())
}

/// Joins fields with the NUL separator the targets split on.
pub(crate) fn framed(fields: &[&[u8]]) -> Vec<u8> {
    fields.join(&0u8)
}

/// `name:value` lines, as the targets read headers.
pub(crate) fn header_lines<'a>(headers: impl Iterator<Item = (&'a String, &'a String)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Whether `name` is one of Credit Pay's signature headers (either spelling).
pub(crate) fn is_signature_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("signature") || name.eq_ignore_ascii_case("signerature")
}

/// Every registered provider's seeds.
fn all_seeds(root: &Path) -> Result<Seeds, String> {
    let layout = Layout::new(root);
    let mut seeds = Seeds::new();
    for provider in crate::providers::PROVIDERS {
        let input = SeedInput::load(&layout, provider.name())?;
        provider.fuzz_seeds(&input, &mut seeds)?;
    }
    Ok(seeds)
}

/// Rewrites `fuzz/corpus-seeds/` from the fixtures; returns the number of seeds per target.
fn write_seeds(root: &Path) -> Result<BTreeMap<String, usize>, String> {
    all_seeds(root)?.write(&fuzz_dir(root).join("corpus-seeds"))
}

/// A text field of a signing vector, empty when absent.
pub(crate) fn field<'a>(vector: &'a Value, name: &str) -> &'a str {
    vector.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// A seed's file name: the fixture's stem and the interaction's name.
pub(crate) fn seed_name(stem: &str, interaction: &Interaction) -> String {
    format!("{stem}-{}", interaction.name)
}

/// A recorded answer as the response targets read it: status, then body.
pub(crate) fn response_seed(interaction: &Interaction) -> Result<Vec<u8>, String> {
    let body = interaction.response.body_bytes()?;
    Ok(framed(&[
        interaction.response.status.to_string().as_bytes(),
        &body,
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framed_fields_are_joined_with_nul() {
        assert_eq!(framed(&[b"a", b"", b"c"]), b"a\0\0c");
    }

    #[derive(clap::Parser)]
    struct Fuzz {
        #[command(flatten)]
        args: FuzzArgs,
    }

    fn parse(list: &[&str]) -> Result<FuzzArgs, clap::Error> {
        use clap::Parser;
        Fuzz::try_parse_from(std::iter::once("fuzz").chain(list.iter().copied())).map(|f| f.args)
    }

    #[test]
    fn jobs_default_to_one_and_must_be_positive() {
        let options = parse(&["--seconds", "5"]).unwrap();
        assert_eq!((options.seconds, options.jobs), (5, 1));
        assert_eq!(options.sanitizer, Sanitizer::None);
        let options = parse(&["--jobs", "2", "--target", "omg_verify"]).unwrap();
        assert_eq!(options.jobs, 2);
        assert_eq!(options.targets, ["omg_verify"]);
        for bad in [&["--jobs", "0"][..], &["--jobs", "two"], &["--jobs"]] {
            let message = parse(bad).unwrap_err().to_string();
            assert!(message.contains("--jobs"), "{bad:?}: {message}");
        }
        assert!(parse(&["--seed", "--seconds", "5"]).is_err());
        assert!(parse(&["--sanitizer", "memory"]).is_err());
    }

    #[test]
    fn the_last_value_between_markers_is_found() {
        let log = "Done 5 runs in 1 second(s)\nDone 12 runs in 2 second(s)\n";
        assert_eq!(last_value(log, "Done ", " runs").as_deref(), Some("12"));
        assert_eq!(last_value(log, "Test unit written to ", "\n"), None);
    }

    #[test]
    fn seeds_exist_for_every_seeded_target_and_use_the_framing() {
        let seeds = all_seeds(&crate::project_root()).unwrap();
        for target in [
            "omg_verify",
            "omg_callback",
            "omg_response",
            "creditpay_verify",
            "creditpay_callback",
            "creditpay_webhook",
            "creditpay_response",
            "hive_response",
            "vl_token_request",
            "vl_redirect_uri",
            "vl_client_ip",
            "vl_endpoint",
        ] {
            assert!(
                seeds.target(target).is_some_and(|s| !s.is_empty()),
                "{target}"
            );
        }
        let o1 = &seeds.target("omg_verify").unwrap()["signing-O1"];
        assert!(o1.starts_with(b"trace_id=dhf1aboc1iio\0e3f8dc79e875e46f6755ef540c2d24f3\0{"));
    }
}
