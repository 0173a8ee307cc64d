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

use serde_json::Value;

use crate::contract::{Direction, Fixture, Interaction, fixture_files};

/// Seconds each target runs when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 60;

/// A single input running longer than this is a finding (a hang), not a slow run.
const INPUT_TIMEOUT_SECONDS: u64 = 30;

/// Sanitizer passed to cargo-fuzz when `--sanitizer` is not given. Every crate under test forbids
/// `unsafe`, so the properties asserted by the targets matter more than the address sanitizer,
/// which halves the throughput.
const DEFAULT_SANITIZER: &str = "none";

const USAGE: &str = "\
usage: cargo xtask fuzz [--seconds <N>] [--jobs <J>] [--target <NAME>]... [--sanitizer <none|address>]
       cargo xtask fuzz --seed
       cargo xtask fuzz --list

Builds every fuzz target with `cargo +nightly fuzz` (needs the nightly toolchain and
cargo-fuzz) and runs each for N seconds (default 60) on the working corpus
fuzz/corpus/<target>/ plus the committed seeds in fuzz/corpus-seeds/<target>/. Targets run
one after the other, or J at a time with --jobs (one core each; default 1). Prints one line
per target as it finishes and `N passed, N failed`; a crash fails its target and its
reproducer path is printed.

--seed rewrites fuzz/corpus-seeds/ from fixtures/*/signing/ and fixtures/*/contract/.
";

struct Options {
    seconds: u64,
    jobs: usize,
    targets: Vec<String>,
    sanitizer: String,
}

enum Mode {
    Run(Options),
    Seed,
    List,
    Help,
}

/// Entry point of `cargo xtask fuzz`.
pub(crate) fn cli(args: &[String]) -> Result<ExitCode, String> {
    let root = crate::project_root();
    match parse_args(args)? {
        Mode::Help => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Mode::Seed => {
            let written = write_seeds(&root)?;
            for (target, count) in &written {
                println!("{target:<22} {count} seeds");
            }
            println!(
                "wrote {} seed files to fuzz/corpus-seeds/",
                written.values().sum::<usize>()
            );
            Ok(ExitCode::SUCCESS)
        }
        Mode::List => {
            if let Some(missing) = missing_tool() {
                eprintln!("error: {missing}");
                return Ok(ExitCode::from(2));
            }
            for target in list_targets(&root)? {
                println!("{target}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Mode::Run(options) => {
            if let Some(missing) = missing_tool() {
                eprintln!("error: {missing}");
                return Ok(ExitCode::from(2));
            }
            run(&root, &options)
        }
    }
}

fn parse_args(args: &[String]) -> Result<Mode, String> {
    let mut options = Options {
        seconds: DEFAULT_SECONDS,
        jobs: 1,
        targets: Vec::new(),
        sanitizer: DEFAULT_SANITIZER.to_owned(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--seed" if args.len() == 1 => return Ok(Mode::Seed),
            "--list" if args.len() == 1 => return Ok(Mode::List),
            "--seconds" => {
                options.seconds = value("--seconds")?
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| "--seconds needs a whole number above 0".to_owned())?;
            }
            "--jobs" => {
                options.jobs = value("--jobs")?
                    .parse()
                    .ok()
                    .filter(|j| *j > 0)
                    .ok_or_else(|| "--jobs needs a whole number above 0".to_owned())?;
            }
            "--target" => options.targets.push(value("--target")?),
            "--sanitizer" => {
                let s = value("--sanitizer")?;
                if !matches!(s.as_str(), "none" | "address") {
                    return Err(format!("unknown sanitizer `{s}` (none or address)"));
                }
                options.sanitizer = s;
            }
            "-h" | "--help" => return Ok(Mode::Help),
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    Ok(Mode::Run(options))
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

fn run(root: &Path, options: &Options) -> Result<ExitCode, String> {
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
        .arg(&options.sanitizer)
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
        for _ in 0..options.jobs.min(targets.len()) {
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
fn run_target(root: &Path, target: &str, options: &Options, log: &Path) -> Result<String, String> {
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
        .arg(&options.sanitizer)
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

/// Seeds by target and file name.
type Seeds = BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>;

/// Joins fields with the NUL separator the targets split on.
fn framed(fields: &[&[u8]]) -> Vec<u8> {
    fields.join(&0u8)
}

/// `name:value` lines, as the targets read headers.
fn header_lines<'a>(headers: impl Iterator<Item = (&'a String, &'a String)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

fn is_signature_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("signature") || name.eq_ignore_ascii_case("signerature")
}

/// Rewrites `fuzz/corpus-seeds/` from the fixtures; returns the number of seeds per target.
fn write_seeds(root: &Path) -> Result<BTreeMap<&'static str, usize>, String> {
    let mut seeds = Seeds::new();
    omg_seeds(root, &mut seeds)?;
    creditpay_seeds(root, &mut seeds)?;
    hive_seeds(root, &mut seeds)?;
    vegaslounge_seeds(root, &mut seeds)?;

    let base = fuzz_dir(root).join("corpus-seeds");
    let mut counts = BTreeMap::new();
    for (target, files) in &seeds {
        let dir = base.join(target);
        if dir.is_dir() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for (name, bytes) in files {
            let path = dir.join(name);
            std::fs::write(&path, bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        counts.insert(*target, files.len());
    }
    Ok(counts)
}

fn add(seeds: &mut Seeds, target: &'static str, name: String, bytes: Vec<u8>) {
    seeds.entry(target).or_default().insert(name, bytes);
}

/// The signing vectors of `provider` as JSON, by file stem.
fn signing_vectors(root: &Path, provider: &str) -> Result<Vec<(String, Value)>, String> {
    let dir = root.join("fixtures").join(provider).join("signing");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| format!("invalid JSON in {}: {e}", path.display()))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        out.push((stem.to_owned(), value));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn field<'a>(vector: &'a Value, name: &str) -> &'a str {
    vector.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// Every fixture of `provider` with its file stem.
fn fixtures(root: &Path, provider: &str) -> Result<Vec<(String, Fixture)>, String> {
    fixture_files(root, provider)?
        .into_iter()
        .map(|path| {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            Fixture::load(&path, provider).map(|f| (stem, f))
        })
        .collect()
}

fn seed_name(stem: &str, interaction: &Interaction) -> String {
    format!("{stem}-{}", interaction.name)
}

fn response_seed(interaction: &Interaction) -> Result<Vec<u8>, String> {
    let body = interaction.response.body_bytes()?;
    Ok(framed(&[
        interaction.response.status.to_string().as_bytes(),
        &body,
    ]))
}

fn omg_seeds(root: &Path, seeds: &mut Seeds) -> Result<(), String> {
    for (stem, v) in signing_vectors(root, "omg")? {
        let (query, body) = (field(&v, "query"), field(&v, "body"));
        let sign = field(&v, "md5");
        let name = format!("signing-{stem}");
        add(
            seeds,
            "omg_verify",
            name.clone(),
            framed(&[query.as_bytes(), sign.as_bytes(), body.as_bytes()]),
        );
        add(
            seeds,
            "omg_callback",
            name,
            framed(&[query.as_bytes(), body.as_bytes()]),
        );
    }
    for (stem, fixture) in fixtures(root, "omg")? {
        for i in &fixture.interactions {
            let name = seed_name(&stem, i);
            match i.direction {
                Direction::Inbound => {
                    let query = i.request.query.as_deref().unwrap_or_default();
                    let sign = i
                        .request
                        .headers
                        .get("sign")
                        .map(String::as_str)
                        .unwrap_or_default();
                    let body = i.request.body_bytes()?;
                    add(
                        seeds,
                        "omg_verify",
                        name.clone(),
                        framed(&[query.as_bytes(), sign.as_bytes(), &body]),
                    );
                    add(
                        seeds,
                        "omg_callback",
                        name,
                        framed(&[query.as_bytes(), &body]),
                    );
                }
                Direction::Outbound => add(seeds, "omg_response", name, response_seed(i)?),
            }
        }
    }
    Ok(())
}

/// The routes the Credit Pay targets sign for: the credit-limit query and the webhook.
const CREDITPAY_CALLBACK_ROUTE: &str = "/api/v1/credit-pay/notify";
const CREDITPAY_WEBHOOK_ROUTE: &str = "/api/v1/credit-pay/webhook";

fn creditpay_seeds(root: &Path, seeds: &mut Seeds) -> Result<(), String> {
    for (stem, v) in signing_vectors(root, "creditpay")? {
        let (path, body) = (field(&v, "path"), field(&v, "body"));
        let headers = format!("signature:{}\n", field(&v, "signature"));
        let name = format!("signing-{stem}");
        add(
            seeds,
            "creditpay_verify",
            name.clone(),
            framed(&[path.as_bytes(), headers.as_bytes(), body.as_bytes()]),
        );
        if path == CREDITPAY_CALLBACK_ROUTE {
            add(
                seeds,
                "creditpay_callback",
                name,
                framed(&[b"", body.as_bytes()]),
            );
        }
    }
    for (stem, fixture) in fixtures(root, "creditpay")? {
        for i in &fixture.interactions {
            let name = seed_name(&stem, i);
            match i.direction {
                Direction::Inbound => {
                    let body = i.request.body_bytes()?;
                    let all = header_lines(i.request.headers.iter());
                    let path = i.request.path.as_bytes();
                    add(
                        seeds,
                        "creditpay_verify",
                        name.clone(),
                        framed(&[path, &all, &body]),
                    );
                    let unsigned = header_lines(
                        i.request
                            .headers
                            .iter()
                            .filter(|(n, _)| !is_signature_header(n)),
                    );
                    let target = match i.request.path.as_str() {
                        CREDITPAY_CALLBACK_ROUTE => "creditpay_callback",
                        CREDITPAY_WEBHOOK_ROUTE => "creditpay_webhook",
                        _ => continue,
                    };
                    add(seeds, target, name, framed(&[&unsigned, &body]));
                }
                Direction::Outbound => add(seeds, "creditpay_response", name, response_seed(i)?),
            }
        }
    }
    Ok(())
}

fn hive_seeds(root: &Path, seeds: &mut Seeds) -> Result<(), String> {
    const TOKEN_PATH: &str = "/oauth/token";
    let all = fixtures(root, "hive")?;
    let token_part = |i: &Interaction| -> Result<(String, Vec<u8>), String> {
        Ok((i.response.status.to_string(), i.response.body_bytes()?))
    };
    // Fixtures of the legacy API fetch no server token; they borrow the first recorded one.
    let any_token = all
        .iter()
        .flat_map(|(_, f)| f.outbound())
        .find(|i| i.request.path == TOKEN_PATH)
        .map(token_part)
        .transpose()?
        .unwrap_or_default();
    for (stem, fixture) in &all {
        let own_token = fixture
            .outbound()
            .find(|i| i.request.path == TOKEN_PATH)
            .map(token_part)
            .transpose()?;
        let (token_status, token_body) = own_token.as_ref().unwrap_or(&any_token);
        for i in fixture.outbound().filter(|i| i.request.path != TOKEN_PATH) {
            let body = i.response.body_bytes()?;
            let seed = framed(&[
                token_status.as_bytes(),
                token_body,
                i.response.status.to_string().as_bytes(),
                &body,
            ]);
            add(seeds, "hive_response", seed_name(stem, i), seed);
        }
    }
    Ok(())
}

/// A trusted proxy in front of the server in the client-IP seeds (the fixtures have none).
const VL_PROXY_PEER: &str = "10.1.2.3:443";

fn vegaslounge_seeds(root: &Path, seeds: &mut Seeds) -> Result<(), String> {
    for (stem, fixture) in fixtures(root, "vegaslounge")? {
        // The peer each interaction is sent from, as the fixture's `send` steps say.
        let peers: BTreeMap<&str, &str> = fixture
            .steps
            .iter()
            .filter_map(|step| {
                let name = step.get("interaction")?.as_str()?;
                Some((name, step.get("peer").and_then(Value::as_str)?))
            })
            .collect();
        for i in fixture.inbound() {
            let name = seed_name(&stem, i);
            let query = i.request.query.as_deref().unwrap_or_default();
            let headers = header_lines(i.request.headers.iter());
            let body = i.request.body_bytes()?;
            let uri = match query {
                "" => i.request.path.clone(),
                q => format!("{}?{q}", i.request.path),
            };
            add(
                seeds,
                "vl_endpoint",
                name.clone(),
                framed(&[i.request.method.as_bytes(), uri.as_bytes(), &headers, &body]),
            );
            match i.request.path.as_str() {
                "/oauth2.0/token" | "/oauth2.0/refresh" => add(
                    seeds,
                    "vl_token_request",
                    name.clone(),
                    framed(&[query.as_bytes(), &headers, &body]),
                ),
                "/oauth2.0/authorize" => {
                    add(
                        seeds,
                        "vl_redirect_uri",
                        name.clone(),
                        query.as_bytes().to_vec(),
                    );
                }
                _ => {}
            }
            let Some(peer) = peers.get(i.name.as_str()) else {
                continue;
            };
            add(
                seeds,
                "vl_client_ip",
                format!("{name}-direct"),
                framed(&[b"xff", peer.as_bytes(), &headers]),
            );
            // The same caller behind a trusted proxy, in both forwarded-header styles.
            let ip = peer.rsplit_once(':').map_or(*peer, |(ip, _)| ip);
            let xff = [
                headers.clone(),
                format!("x-forwarded-for:{ip}\n").into_bytes(),
            ]
            .concat();
            add(
                seeds,
                "vl_client_ip",
                format!("{name}-xff"),
                framed(&[b"xff", VL_PROXY_PEER.as_bytes(), &xff]),
            );
            let fwd = [headers, format!("forwarded:for=\"{peer}\"\n").into_bytes()].concat();
            add(
                seeds,
                "vl_client_ip",
                format!("{name}-forwarded"),
                framed(&[b"forwarded", VL_PROXY_PEER.as_bytes(), &fwd]),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framed_fields_are_joined_with_nul() {
        assert_eq!(framed(&[b"a", b"", b"c"]), b"a\0\0c");
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn jobs_default_to_one_and_must_be_positive() {
        let Ok(Mode::Run(options)) = parse_args(&args(&["--seconds", "5"])) else {
            panic!("plain run not parsed");
        };
        assert_eq!((options.seconds, options.jobs), (5, 1));
        let Ok(Mode::Run(options)) = parse_args(&args(&["--jobs", "2", "--target", "omg_verify"]))
        else {
            panic!("--jobs not parsed");
        };
        assert_eq!(options.jobs, 2);
        assert_eq!(options.targets, ["omg_verify"]);
        for bad in [&["--jobs", "0"][..], &["--jobs", "two"], &["--jobs"]] {
            let Err(message) = parse_args(&args(bad)) else {
                panic!("{bad:?} accepted");
            };
            assert!(message.contains("--jobs"), "{message}");
        }
    }

    #[test]
    fn the_last_value_between_markers_is_found() {
        let log = "Done 5 runs in 1 second(s)\nDone 12 runs in 2 second(s)\n";
        assert_eq!(last_value(log, "Done ", " runs").as_deref(), Some("12"));
        assert_eq!(last_value(log, "Test unit written to ", "\n"), None);
    }

    #[test]
    fn seeds_exist_for_every_seeded_target_and_use_the_framing() {
        let counts = write_seeds_into_memory();
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
                counts.get(target).is_some_and(|s| !s.is_empty()),
                "{target}"
            );
        }
        let o1 = &counts["omg_verify"]["signing-O1"];
        assert!(o1.starts_with(b"trace_id=dhf1aboc1iio\0e3f8dc79e875e46f6755ef540c2d24f3\0{"));
    }

    fn write_seeds_into_memory() -> Seeds {
        let root = crate::project_root();
        let mut seeds = Seeds::new();
        omg_seeds(&root, &mut seeds).unwrap();
        creditpay_seeds(&root, &mut seeds).unwrap();
        hive_seeds(&root, &mut seeds).unwrap();
        vegaslounge_seeds(&root, &mut seeds).unwrap();
        seeds
    }
}
