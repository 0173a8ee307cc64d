//! The `gameauth` binary: see the library's [`run`](gameauth::run).

fn main() -> std::process::ExitCode {
    gameauth::run()
}
