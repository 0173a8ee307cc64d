//! `gameauth vegaslounge serve` for operators: the Prometheus endpoint after the walkthrough,
//! liveness and readiness (503 while draining), JSON logs, `RUST_LOG`, settings from the
//! environment.

use std::process::Command;
use std::time::{Duration, Instant};

mod support;

use support::ServerProcess;
use support::metrics::{
    EXPECTED, memory_config, metrics_url, parse_exposition, start_with_metrics, walkthrough,
};
use support::vegaslounge::{code_from, http, token};

fn start(args: &[&str], envs: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start(args, |command| {
        command.envs(envs.iter().copied());
    })
}

#[cfg(unix)]
#[tokio::test]
async fn the_walkthrough_moves_every_metric_and_readyz_answers_503_while_draining() {
    let mut server = start_with_metrics("observability-walkthrough", 3000);
    let base = server.base.clone();
    let metrics = metrics_url(&server);
    let client = http();
    let get = |url: String| {
        let client = client.clone();
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(get(format!("{base}/healthz")).await, (200, "ok\n".into()));
    assert_eq!(get(format!("{base}/readyz")).await, (200, "ready\n".into()));

    walkthrough(&base).await;

    let (status, text) = get(metrics.clone()).await;
    assert_eq!(status, 200);
    let samples = parse_exposition(&text);
    for (series, value) in EXPECTED {
        assert_eq!(samples.get(series), Some(&value), "{series} in:\n{text}");
    }
    // Every metric is there but the store error counter, which only a failing store creates.
    for name in gameauth_vegaslounge::metrics::ALL {
        if name == gameauth_vegaslounge::metrics::STORE_ERRORS_TOTAL {
            assert!(!text.contains(name), "{text}");
            continue;
        }
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP line:\n{text}"
        );
    }
    // No label carries a token, an address or a URL.
    assert!(!text.contains("127.0.0.1") && !text.contains("VL001") && !text.contains("http"));

    // SIGTERM: /readyz turns 503 at once while the listener still serves for the drain delay.
    server.terminate();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match client.get(format!("{base}/readyz")).send().await {
            Ok(r) if r.status() == 503 => {
                assert_eq!(r.text().await.unwrap(), "draining\n");
                break;
            }
            Ok(r) => assert_eq!(r.status(), 200),
            Err(e) => panic!("the listener closed before /readyz said draining: {e}"),
        }
        assert!(Instant::now() < deadline, "/readyz never answered 503");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Other routes still answer while draining.
    assert_eq!(get(format!("{base}/healthz")).await.0, 200);
    let exit = tokio::task::spawn_blocking(move || {
        let status = server.child.wait().unwrap();
        (status, server.rest_of_stderr())
    })
    .await
    .unwrap();
    assert!(exit.0.success(), "{:?}", exit.0);
    assert!(
        exit.1.iter().any(|l| l.starts_with("draining:")),
        "{:#?}",
        exit.1
    );
}

#[cfg(unix)]
#[tokio::test]
async fn json_logs_carry_the_request_span_fields_and_never_the_query() {
    let config = memory_config("observability-json", 0);
    let mut command = Command::new(env!("CARGO_BIN_EXE_gameauth"));
    command
        .args(["vegaslounge", "serve", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .env("GAMEAUTH_VL__LOG_FORMAT", "json")
        .env("GAMEAUTH_VL__LISTEN", "127.0.0.1:0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let base = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no listening line: {lines:#?}"));
        let event: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        lines.push(line);
        if let Some(addr) = event["fields"]["message"]
            .as_str()
            .and_then(|m| m.strip_prefix("listening on "))
        {
            break addr.to_owned();
        }
    };
    // The refused requests log inside their request spans; the query string of a request is
    // never logged.
    let client = http();
    let response = client
        .get(format!(
            "{base}/account?client_id=VL001&note=secret-code-in-query"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let code = code_from(&client, &base).await;
    for expected in [200, 401] {
        let (status, _) = token(
            &client,
            &base,
            &[("grant_type", "authorization_code"), ("code", &code)],
        )
        .await
        .unwrap();
        assert_eq!(status, expected);
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success());
    lines.extend(rx.iter());
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let replayed = events
        .iter()
        .find(|e| e["fields"]["message"] == "authorization code replayed; grant revoked")
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert_eq!(replayed["level"], "WARN");
    let span = &replayed["span"];
    assert_eq!(span["name"], "request", "{replayed}");
    assert_eq!(span["http.request.method"], "POST", "{replayed}");
    assert_eq!(span["http.route"], "/oauth2.0/token", "{replayed}");
    let refused = events
        .iter()
        .find(|e| e["fields"]["message"] == "account request refused")
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert_eq!(refused["span"]["http.route"], "/account", "{refused}");
    assert_eq!(refused["span"]["http.request.method"], "GET", "{refused}");
    assert!(events.iter().any(|e| e["fields"]["message"] == "stopped"));
    for line in &lines {
        assert!(
            !line.contains("secret-code-in-query") && !line.contains(&code),
            "{line}"
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn rust_log_filters_the_log_lines() {
    let config = memory_config("observability-rust-log", 0);
    let server = start(
        &[
            "vegaslounge",
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[("RUST_LOG", "warn")],
    );
    let client = http();
    let code = code_from(&client, &server.base).await;
    for expected in [200, 401] {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        let (status, _) = token(&client, &server.base, &form).await.unwrap();
        assert_eq!(status, expected);
    }
    server.terminate();
    let rest = server.rest_of_stderr();
    assert!(
        rest.iter()
            .any(|l| l.contains("WARN") && l.contains("authorization code replayed")),
        "{rest:#?}"
    );
    assert!(
        !rest.iter().any(|l| l.contains("token request refused")),
        "{rest:#?}"
    );
}

#[test]
fn a_bad_rust_log_or_environment_setting_exits_2_naming_it() {
    let config = memory_config("observability-bad", 0);
    let path = config.to_str().unwrap();
    for (env, flag, expected) in [
        (Some(("RUST_LOG", "gameauth=loud")), None, "RUST_LOG"),
        (
            Some(("GAMEAUTH_VL__LOG_FORMAT", "xml")),
            None,
            "GAMEAUTH_VL__LOG_FORMAT",
        ),
        (
            Some(("GAMEAUTH_VL__TOKENS__CODE_TTL_SECS", "soon")),
            None,
            "GAMEAUTH_VL__TOKENS__CODE_TTL_SECS",
        ),
        (
            Some(("GAMEAUTH_VL__HTTP__MAX_CONNECTIONS", "-1")),
            None,
            "GAMEAUTH_VL__HTTP__MAX_CONNECTIONS",
        ),
        (
            None,
            Some(["--metrics-listen", "nowhere"]),
            "metrics_listen",
        ),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gameauth"));
        command.args([
            "vegaslounge",
            "serve",
            "--config",
            path,
            "--listen",
            "127.0.0.1:0",
        ]);
        command.envs(env).args(flag.into_iter().flatten());
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{env:?} {flag:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{env:?} {flag:?}: {stderr}");
    }
}

/// Polls `GET url` until it answers `status` (within 60 s); returns the body.
async fn wait_for_status(client: &reqwest::Client, url: &str, status: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status().as_u16() == status
        {
            return response.text().await.unwrap();
        }
        assert!(Instant::now() < deadline, "{url} never answered {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(unix)]
#[tokio::test]
async fn readyz_follows_a_redis_store_and_its_failures_are_counted() {
    use support::vegaslounge::{plain_store, serve_config, write_config};
    let Some(redis) = testkit::redis::RedisServer::start_or_skip("readiness on Redis") else {
        return;
    };
    let text = serve_config(&plain_store(&redis), &["p0".to_owned()], false);
    let config = write_config(
        "observability-redis",
        &format!("{text}\n[health]\nreadiness_timeout_ms = 500\n"),
    );
    let server = start(
        &[
            "vegaslounge",
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    let readyz = format!("{}/readyz", server.base);
    let client = http();
    assert_eq!(wait_for_status(&client, &readyz, 200).await, "ready\n");
    // A Redis that stops answering: not ready once the readiness deadline passes.
    redis.pause();
    assert_eq!(
        wait_for_status(&client, &readyz, 503).await,
        "store timed out\n"
    );
    redis.resume();
    assert_eq!(wait_for_status(&client, &readyz, 200).await, "ready\n");
    // A Redis that is gone: not ready, and the failed calls are counted.
    redis.kill();
    wait_for_status(&client, &readyz, 503).await;
    assert_eq!(
        wait_for_status(&client, &format!("{}/healthz", server.base), 200).await,
        "ok\n",
        "alive all the same"
    );
    let (status, text) = {
        let response = client.get(metrics_url(&server)).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    assert_eq!(status, 200);
    let samples = parse_exposition(&text);
    assert_eq!(samples.get("gameauth_vl_ready"), Some(&0.0), "{text}");
    let ping_errors: f64 = samples
        .iter()
        .filter(|(series, _)| {
            series.starts_with("gameauth_store_errors_total{")
                && series.contains("operation=\"ping\"")
                && series.contains("store=\"redis\"")
        })
        .map(|(_, v)| v)
        .sum();
    assert!(ping_errors >= 1.0, "{text}");
    server.terminate();
}
