//! How the tool fits the shell: completion scripts, `-` for standard input on every file flag,
//! and negative numbers taken as values rather than as unknown flags.

use crate::{TempFile, gameauth, gameauth_with_stdin};

const OMG_KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";
const O4_BODY: &str = r#"{"uid":"10032355"}"#;

#[test]
fn completions_print_a_script_naming_every_command_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef gameauth"),
        ("fish", "complete -c gameauth"),
        ("elvish", "edit:completion:arg-completer[gameauth]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = gameauth(&["completions", shell], &[]);
        run.expect_code(0);
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        for command in [
            "omg",
            "creditpay",
            "hive",
            "vegaslounge",
            "idp-list",
            "serve",
        ] {
            assert!(run.stdout.contains(command), "{shell} lacks {command}");
        }
    }
    let run = gameauth(&["completions", "tcsh"], &[]);
    run.expect_code(2);
    assert_eq!(run.json()["error"]["kind"], "usage");
    assert!(run.stderr.contains("tcsh"), "{}", run.stderr);
}

#[test]
fn a_body_file_named_dash_is_read_from_standard_input() {
    let file = TempFile::with(O4_BODY.as_bytes());
    let envs = [("OMG_SIGN_KEY", OMG_KEY)];
    let from_file = gameauth(
        &[
            "omg",
            "sign",
            "--query",
            "trace_id=k3n9x0q2m7ab",
            "--body-file",
            file.path(),
        ],
        &envs,
    );
    from_file.expect_code(0);
    let from_stdin = gameauth_with_stdin(
        &[
            "omg",
            "sign",
            "--query",
            "trace_id=k3n9x0q2m7ab",
            "--body-file",
            "-",
        ],
        &envs,
        Some(O4_BODY.as_bytes()),
    );
    from_stdin.expect_code(0);
    assert_eq!(from_stdin.json(), from_file.json());
    // Standard input can feed one flag only: the key file and the body cannot both be `-`.
    let twice = gameauth_with_stdin(
        &[
            "omg",
            "sign",
            "--query",
            "trace_id=k3n9x0q2m7ab",
            "--body-file",
            "-",
            "--key-file",
            "-",
        ],
        &[],
        Some(O4_BODY.as_bytes()),
    );
    twice.expect_code(2);
    assert!(
        twice.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("standard input is already read"),
        "{}",
        twice.stdout
    );
}

#[test]
fn a_config_file_named_dash_is_read_from_standard_input() {
    // A configuration error proves the text came from stdin: the message quotes its key.
    let run = gameauth_with_stdin(
        &["vegaslounge", "serve", "--config", "-"],
        &[],
        Some(b"lisen = \"127.0.0.1:0\"\n"),
    );
    run.expect_code(2);
    assert!(run.stderr.contains("lisen"), "{}", run.stderr);
}

#[test]
fn negative_numbers_are_values_not_flags() {
    // A negative id is a value the provider judges (here: the usage check on the token
    // expiry, which a past time fails), never clap's "unexpected argument '-1'".
    let run = gameauth(
        &[
            "creditpay",
            "auth",
            "--base-url",
            "http://127.0.0.1:9",
            "--plat-id",
            "P",
            "--customer-no",
            "C",
            "--customer-token",
            "t",
            "--token-expire",
            "-1",
            "--callback-url",
            "https://platform.example/cb",
            "--client-ip",
            "192.0.2.1",
        ],
        &[("CREDITPAY_API_KEY", "k")],
    );
    run.expect_code(2);
    assert!(
        !run.stderr.contains("unexpected argument"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["error"]["kind"], "usage");

    // An unsigned setting given a negative number is refused as an invalid value, naming it.
    let run = gameauth(
        &[
            "omg",
            "verify",
            "--query",
            "trace_id=k3n9x0q2m7ab",
            "--body",
            "{}",
            "--sign",
            "00",
            "--trace-id-max-len",
            "-5",
        ],
        &[("OMG_SIGN_KEY", OMG_KEY)],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("invalid value '-5'"), "{}", run.stderr);
    assert!(run.stderr.contains("--trace-id-max-len"), "{}", run.stderr);
    let run = gameauth(
        &[
            "hive",
            "idp-list",
            "--env",
            "sandbox",
            "--appid",
            "a",
            "--player-id",
            "-42",
            "--timeout-ms",
            "-1",
        ],
        &[],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("invalid value '-1'"), "{}", run.stderr);
    assert!(run.stderr.contains("--timeout-ms"), "{}", run.stderr);
    assert!(!run.stderr.contains("'-42'"), "{}", run.stderr);
}
