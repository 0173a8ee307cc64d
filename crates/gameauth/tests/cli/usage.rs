//! Usage errors: `--help` everywhere, clap's own errors, missing secrets that name their
//! variable, unreadable files, and opaque values that only look like flags. All exit 2 except
//! `--help` (0).

use crate::{closed_port_url, gameauth};

const COMMANDS: [&[&str]; 15] = [
    &[],
    &["omg"],
    &["omg", "sign"],
    &["omg", "verify"],
    &["omg", "authorize"],
    &["creditpay"],
    &["creditpay", "sign"],
    &["creditpay", "verify"],
    &["creditpay", "auth"],
    &["hive"],
    &["hive", "verify"],
    &["hive", "idp-list"],
    &["hive", "player-idps"],
    &["vegaslounge", "serve"],
    &["vegaslounge", "check"],
];

#[test]
fn help_exits_0_on_every_command() {
    for command in COMMANDS {
        let mut args = command.to_vec();
        args.push("--help");
        let run = gameauth(&args, &[]);
        run.expect_code(0);
        assert!(
            run.stdout.contains("Usage: gameauth"),
            "{args:?}: {}",
            run.stdout
        );
    }
}

#[test]
fn help_of_secret_taking_commands_names_their_variables() {
    for (command, variable) in [
        (&["omg", "sign"][..], "OMG_SIGN_KEY"),
        (&["creditpay", "auth"][..], "CREDITPAY_API_KEY"),
        (&["creditpay", "verify"][..], "CREDITPAY_SIGNATURE_KEY"),
        (&["hive", "verify"][..], "HIVE_CLIENT_SECRET"),
        (&["hive", "verify"][..], "HIVE_PLAYER_ACCESS_TOKEN"),
        (&["hive", "verify"][..], "HIVE_PLAYER_TOKEN"),
        (&["hive", "player-idps"][..], "HIVE_PLAYER_TOKEN"),
        (&["creditpay", "auth"][..], "CREDITPAY_CUSTOMER_TOKEN"),
        (&["vegaslounge", "check"][..], "VL_PLAYER_PASSWORD"),
        (&["vegaslounge", "check"][..], "VL_AUTHORIZATION_CODE"),
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let run = gameauth(&args, &[]);
        assert!(run.stdout.contains(variable), "{command:?}: {}", run.stdout);
    }
}

#[test]
fn no_subcommand_unknown_subcommand_and_unknown_flag_exit_2_with_a_json_usage_error() {
    for args in [
        &[][..],
        &["omg"][..],
        &["poker"][..],
        &[
            "omg",
            "sign",
            "--query",
            "trace_id=a",
            "--body",
            "x",
            "--colour",
        ][..],
        &["hive", "verify", "--env", "staging"][..],
    ] {
        let run = gameauth(args, &[]);
        run.expect_code(2);
        // Like every failure: one JSON object on stdout, clap's explanation on stderr.
        assert_eq!(run.stdout.lines().count(), 1, "{args:?}: {}", run.stdout);
        let json = run.json();
        assert_eq!(json["error"]["kind"], "usage", "{args:?}: {json}");
        let message = json["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty() && !message.contains('\n'),
            "{args:?}: {json}"
        );
        assert!(!run.stderr.is_empty(), "{args:?}");
    }
    let run = gameauth(&["hive", "verify", "--env", "staging"], &[]);
    let message = run.json()["error"]["message"].to_string();
    assert!(message.contains("staging"), "{message}");
    let run = gameauth(&[], &[]);
    let message = run.json()["error"]["message"].to_string();
    assert!(message.contains("command is required"), "{message}");
}

#[test]
fn body_and_body_file_are_exclusive_and_one_is_required() {
    let key = [("OMG_SIGN_KEY", "k")];
    let both = gameauth(
        &[
            "omg",
            "sign",
            "--query",
            "trace_id=a",
            "--body",
            "x",
            "--body-file",
            "f",
        ],
        &key,
    );
    both.expect_code(2);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
    let neither = gameauth(&["omg", "sign", "--query", "trace_id=a"], &key);
    neither.expect_code(2);
    assert!(neither.stderr.contains("--body"), "{}", neither.stderr);
}

#[test]
fn a_missing_body_file_is_a_usage_error() {
    let run = gameauth(
        &[
            "creditpay",
            "sign",
            "--path",
            "/v1/x",
            "--body-file",
            "/nonexistent/gameauth/body.json",
        ],
        &[("CREDITPAY_SIGNATURE_KEY", "k")],
    );
    run.expect_code(2);
    let out = run.json();
    assert_eq!(out["error"]["kind"], "usage");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--body-file")
    );
}

/// Arguments, environment, and the variable the error must name.
type Case = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[test]
fn a_missing_secret_exits_2_naming_the_variable() {
    let cases: [Case; 11] = [
        (
            &["omg", "sign", "--query", "trace_id=a", "--body", "{}"],
            &[],
            "OMG_SIGN_KEY",
        ),
        (
            &[
                "omg",
                "verify",
                "--query",
                "trace_id=a",
                "--body",
                "{}",
                "--sign",
                "00",
            ],
            &[],
            "OMG_SIGN_KEY",
        ),
        (
            &["creditpay", "sign", "--path", "/v1/x", "--body", "{}"],
            &[],
            "CREDITPAY_SIGNATURE_KEY",
        ),
        (
            &[
                "creditpay",
                "auth",
                "--base-url",
                "http://127.0.0.1:9/dg",
                "--plat-id",
                "p",
                "--customer-no",
                "c",
                "--customer-token",
                "t",
                "--token-expire",
                "9999999999999",
                "--callback-url",
                "https://platform.example/cb",
                "--client-ip",
                "127.0.0.1",
            ],
            &[("CREDITPAY_SIGNATURE_KEY", "k")],
            "CREDITPAY_API_KEY",
        ),
        (
            &[
                "hive",
                "verify",
                "--primary-url",
                "http://127.0.0.1:9",
                "--appid",
                "a",
                "--did",
                "d",
                "--player-id",
                "1",
                "--token",
                "t",
                "--server-token",
            ],
            &[("HIVE_CLIENT_SECRET", "s")],
            "HIVE_CLIENT_ID",
        ),
        (
            &[
                "hive",
                "verify",
                "--primary-url",
                "http://127.0.0.1:9",
                "--appid",
                "a",
                "--did",
                "d",
                "--player-id",
                "1",
                "--token",
                "t",
            ],
            &[("HIVE_CLIENT_ID", "id"), ("HIVE_CLIENT_SECRET", "s")],
            "HIVE_PLAYER_ACCESS_TOKEN",
        ),
        (
            &[
                "hive",
                "player-idps",
                "--env",
                "sandbox",
                "--appid",
                "a",
                "--did",
                "d",
                "--player-id",
                "1",
            ],
            &[],
            "HIVE_PLAYER_TOKEN",
        ),
        (
            &[
                "creditpay",
                "auth",
                "--base-url",
                "http://127.0.0.1:9/dg",
                "--plat-id",
                "p",
                "--customer-no",
                "c",
                "--token-expire",
                "9999999999999",
                "--callback-url",
                "https://platform.example/cb",
                "--client-ip",
                "127.0.0.1",
            ],
            &[("CREDITPAY_API_KEY", "a"), ("CREDITPAY_SIGNATURE_KEY", "k")],
            "CREDITPAY_CUSTOMER_TOKEN",
        ),
        (
            &[
                "vegaslounge",
                "check",
                "--base-url",
                "http://127.0.0.1:9",
                "--client-id",
                "VL001",
                "--redirect-uri",
                "https://fl.vegaslounge.live",
            ],
            &[("VL_CLIENT_SECRET", "s")],
            "VL_AUTHORIZATION_CODE",
        ),
        (
            &[
                "hive",
                "idp-list",
                "--env",
                "sandbox",
                "--appid",
                "a",
                "--player-id",
                "1",
            ],
            &[("HIVE_CLIENT_ID", "id")],
            "HIVE_CLIENT_SECRET",
        ),
        (
            &[
                "vegaslounge",
                "check",
                "--base-url",
                "http://127.0.0.1:9",
                "--client-id",
                "VL001",
                "--redirect-uri",
                "https://fl.vegaslounge.live",
                "--username",
                "alice",
            ],
            &[("VL_CLIENT_SECRET", "s")],
            "VL_PLAYER_PASSWORD",
        ),
    ];
    for (args, envs, variable) in cases {
        let run = gameauth(args, envs);
        run.expect_code(2);
        let out = run.json();
        assert_eq!(out["error"]["kind"], "usage", "{args:?}");
        let message = out["error"]["message"].as_str().unwrap();
        assert!(message.contains(variable), "{args:?}: {message}");
        assert!(run.stderr.contains(variable), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn an_empty_secret_is_refused_not_used() {
    let run = gameauth(
        &["omg", "sign", "--query", "trace_id=a", "--body", "{}"],
        &[("OMG_SIGN_KEY", "")],
    );
    run.expect_code(2);
    assert!(
        run.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("OMG_SIGN_KEY is empty")
    );
}

#[test]
fn a_missing_secret_file_is_a_usage_error_naming_the_flag() {
    let run = gameauth(
        &[
            "omg",
            "sign",
            "--query",
            "trace_id=a",
            "--body",
            "{}",
            "--key-file",
            "/nonexistent/gameauth/key",
        ],
        &[],
    );
    run.expect_code(2);
    assert!(
        run.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--key-file")
    );
}

#[test]
fn opaque_values_may_begin_with_a_hyphen() {
    // Codes, tokens, device ids and player names are opaque: one that begins with `-` is a value,
    // not a flag, so each command gets as far as calling the (closed) provider.
    let url = closed_port_url();
    // The arguments, and the secrets the command reads from the environment.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case; 4] = [
        (
            &[
                "omg",
                "authorize",
                "--base-url",
                &url,
                "--app-id",
                "10013",
                "--uname",
                "-1003",
                "--nickname",
                "-Bill-",
            ],
            &[("OMG_SIGN_KEY", "k")],
        ),
        (
            &[
                "creditpay",
                "auth",
                "--base-url",
                &url,
                "--plat-id",
                "p",
                "--customer-no",
                "-473",
                "--customer-token",
                "-session",
                "--token-expire",
                "4102444800000",
                "--callback-url",
                "https://platform.example/cb",
                "--client-ip",
                "192.168.1.166",
            ],
            &[("CREDITPAY_API_KEY", "a"), ("CREDITPAY_SIGNATURE_KEY", "k")],
        ),
        (
            &[
                "hive",
                "verify",
                "--primary-url",
                &url,
                "--appid",
                "com.example.game",
                "--did",
                "-255764404509548",
                "--player-id",
                "21",
                "--token",
                "-player-login-token",
                "--access-token",
                "-player-access-token",
                "--timeout-ms",
                "1000",
            ],
            &[],
        ),
        (
            &[
                "hive",
                "player-idps",
                "--primary-url",
                &url,
                "--appid",
                "com.example.game",
                "--did",
                "-255764404509548",
                "--player-id",
                "21",
                "--token",
                "-player-login-token",
                "--timeout-ms",
                "1000",
            ],
            &[],
        ),
    ];
    for (args, envs) in cases {
        let run = gameauth(args, envs);
        run.expect_code(2);
        assert_eq!(run.json()["error"]["kind"], "unavailable", "{args:?}");
    }
}
