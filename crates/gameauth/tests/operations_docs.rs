//! docs/operations.md, its alert rules and its Grafana dashboard agree with the metrics the code
//! records: every metric is documented, every query names documented metrics, and `promtool`
//! accepts the rules and passes their unit tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `gameauth_…` name in `text`, histogram series suffixes removed.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("gameauth_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|b| b.ends_with("_seconds")))
            .unwrap_or(name);
        names.insert(base.to_owned());
        rest = &tail[end..];
    }
    names
}

/// The metrics docs/operations.md documents: the rows `| `name` | type | labels | meaning |`
/// of its metric tables.
fn documented() -> BTreeSet<String> {
    read(&docs().join("operations.md"))
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let kind = cells.get(2)?;
            (name.starts_with("gameauth_") && ["counter", "histogram", "gauge"].contains(kind))
                .then(|| name.to_owned())
        })
        .collect()
}

#[test]
fn every_metric_is_documented_and_every_documented_one_exists() {
    let documented = documented();
    let recorded: BTreeSet<String> = gameauth_vegaslounge::metrics::ALL
        .iter()
        .chain(gameauth_core::telemetry::ALL)
        .map(|s| (*s).to_owned())
        .collect();
    for name in &recorded {
        assert!(
            documented.contains(name),
            "{name} is not in docs/operations.md"
        );
    }
    for name in &documented {
        assert!(
            recorded.contains(name),
            "docs/operations.md documents {name}, which nothing records"
        );
    }
}

#[test]
fn every_dashboard_panel_queries_documented_metrics() {
    let text = read(&docs().join("operations/grafana-dashboard.json"));
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let documented = documented();
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 8, "{} panels", panels.len());
    let mut shown = BTreeSet::new();
    for panel in panels {
        let title = panel["title"].as_str().expect("a title");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title} has no query");
        for target in targets {
            let expr = target["expr"].as_str().expect("an expr");
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{title}: {expr} names no metric");
            for name in names {
                assert!(
                    documented.contains(&name),
                    "{title}: {name} is not documented"
                );
                shown.insert(name);
            }
        }
    }
    for name in gameauth_vegaslounge::metrics::ALL {
        assert!(shown.contains(name), "no panel shows {name}");
    }
}

#[test]
fn the_alert_rules_use_documented_metrics_and_pass_promtool() {
    let rules = docs().join("operations/alerts.yml");
    let documented = documented();
    let names = metric_names(&read(&rules));
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        assert!(
            documented.contains(&name),
            "alerts.yml: {name} is not documented"
        );
    }
    let required = std::env::var("GAMEAUTH_REQUIRE_PROMETHEUS").as_deref() == Ok("1");
    for args in [
        vec!["check", "rules", "alerts.yml"],
        vec!["test", "rules", "alerts.test.yml"],
    ] {
        let output = match Command::new("promtool")
            .args(&args)
            .current_dir(docs().join("operations"))
            .output()
        {
            Ok(output) => output,
            Err(e) => {
                assert!(
                    !required,
                    "GAMEAUTH_REQUIRE_PROMETHEUS=1 but promtool cannot run ({e}): apt-get install prometheus"
                );
                eprintln!("skipped: promtool cannot run ({e}); apt-get install prometheus");
                return;
            }
        };
        assert!(
            output.status.success(),
            "promtool {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn the_walkthrough_table_matches_what_the_process_tests_expect() {
    let expected: std::collections::BTreeMap<String, f64> = support::metrics::EXPECTED
        .iter()
        .map(|(series, value)| (support::metrics::canonical(series), *value))
        .collect();
    let mut rows = 0;
    for line in read(&docs().join("operations.md")).lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(series), Some(value)) = (
            cells
                .get(1)
                .and_then(|c| c.strip_prefix('`')?.strip_suffix('`')),
            cells
                .get(2)
                .and_then(|c| c.split(' ').next()?.parse::<f64>().ok()),
        ) else {
            continue;
        };
        let series = support::metrics::canonical(series);
        assert_eq!(expected.get(&series), Some(&value), "{series}");
        rows += 1;
    }
    assert!(rows >= 8, "{rows} rows");
}
