//! `cargo xtask man [--out DIR]`: the `gameauth` man pages, generated from its argument parser.
//!
//! One page per command: `gameauth.1` lists the command groups, `gameauth-hive-verify.1` and the
//! others describe each command with every flag and its help text. View one without installing:
//! `man target/man/gameauth.1`; install them by copying the directory's pages to a `man1`
//! directory on `MANPATH`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

/// Arguments of `cargo xtask man`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Directory for the pages (created if missing); default target/man.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub(crate) fn cli(args: &ManArgs) -> Result<ExitCode, String> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::project_root().join("target").join("man"));
    let pages = generate(&out)?;
    println!("man: {} pages in {}", pages.len(), out.display());
    Ok(ExitCode::SUCCESS)
}

/// Writes a page for `gameauth` and for each of its subcommands into `out`; returns their paths.
fn generate(out: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut pages = Vec::new();
    let mut command = gameauth::command().disable_help_subcommand(true);
    command.build();
    write_pages(command, "gameauth", out, &mut pages)?;
    Ok(pages)
}

/// One page for `command` (named `name`), then one per visible subcommand, depth first.
fn write_pages(
    command: clap::Command,
    name: &str,
    out: &Path,
    pages: &mut Vec<PathBuf>,
) -> Result<(), String> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_name = format!("{name}-{}", sub.get_name());
        // `build` gave the subcommand its full usage name (`gameauth hive verify`); the page's
        // title and file are `gameauth-hive-verify`, so `man gameauth-hive-verify` finds it.
        write_pages(sub.clone(), &sub_name, out, pages)?;
    }
    let man = clap_mangen::Man::new(command).title(name).section("1");
    let path = out.join(format!("{name}.1"));
    let mut bytes = Vec::new();
    man.render(&mut bytes)
        .map_err(|e| format!("cannot render the {name} page: {e}"))?;
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    pages.push(path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command path of the parser, e.g. `["vegaslounge", "serve"]`.
    fn command_paths(command: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            out.push(path.clone());
            command_paths(sub, &path, out);
        }
    }

    #[test]
    fn a_page_names_each_subcommand_and_each_command_has_its_page() {
        let dir = tempfile::tempdir().unwrap();
        let pages = generate(dir.path()).unwrap();
        let root = std::fs::read_to_string(dir.path().join("gameauth.1")).unwrap();
        assert!(
            root.starts_with(".ie") || root.contains(".TH gameauth 1"),
            "{root}"
        );
        let mut paths = Vec::new();
        command_paths(&gameauth::command(), &[], &mut paths);
        assert!(paths.len() >= 15, "{paths:?}");
        for path in &paths {
            let page_name = format!("gameauth-{}", path.join("-"));
            let file = dir.path().join(format!("{page_name}.1"));
            let page = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("no page for {path:?} ({e}); pages: {pages:?}"));
            assert!(page.contains(&format!(".TH {page_name} 1")), "{page}");
            // The parent's page names the subcommand in its SUBCOMMANDS section.
            let parent = if path.len() == 1 {
                root.clone()
            } else {
                let parent_name = format!("gameauth-{}", path[..path.len() - 1].join("-"));
                std::fs::read_to_string(dir.path().join(format!("{parent_name}.1"))).unwrap()
            };
            let named = format!("{page_name}(1)").replace('-', "\\-");
            assert!(
                parent.contains(&named),
                "the page of {path:?}'s parent does not name it ({named}):\n{parent}"
            );
        }
        // Flags and their help texts are on the pages.
        let serve =
            std::fs::read_to_string(dir.path().join("gameauth-vegaslounge-serve.1")).unwrap();
        assert!(serve.contains("\\-\\-listen"), "{serve}");
        assert!(root.contains("completions"), "{root}");
    }
}
