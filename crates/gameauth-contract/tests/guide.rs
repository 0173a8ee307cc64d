//! The guide `docs/adding-a-provider.md` shows `examples/acme-provider/` file for file: every code
//! block marked `<!-- file: PATH -->` must be that file exactly (a Rust block without its hidden
//! `# ` lines, which only make it compile as a doctest). The example is built and tested in CI,
//! so the guide a new user follows is the repository CI proves green.

use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `(path, language, visible text)` of every marked block.
fn marked_blocks(guide: &str) -> Vec<(String, String, String)> {
    let mut blocks = Vec::new();
    let mut lines = guide.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line
            .strip_prefix("<!-- file: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        let language = fence
            .strip_prefix("```")
            .unwrap_or_else(|| panic!("the marker of {path} is not followed by a code block"));
        let mut text = String::new();
        for line in lines.by_ref() {
            if line == "```" {
                break;
            }
            let hidden = language.starts_with("rust") && (line == "#" || line.starts_with("# "));
            if !hidden {
                text.push_str(line);
                text.push('\n');
            }
        }
        blocks.push((path.to_owned(), language.to_owned(), text));
    }
    blocks
}

#[test]
fn every_marked_block_is_the_example_file() {
    let root = repository();
    let guide = std::fs::read_to_string(root.join("docs/adding-a-provider.md")).unwrap();
    let blocks = marked_blocks(&guide);
    for path in [
        "examples/acme-provider/acme-auth/src/lib.rs",
        "examples/acme-provider/acme-auth/src/verifier.rs",
        "examples/acme-provider/acme-auth/tests/signing.rs",
        "examples/acme-provider/xtask/src/recording.rs",
        "examples/acme-provider/xtask/src/acme.rs",
        "examples/acme-provider/xtask/src/main.rs",
        "examples/acme-provider/fixtures/acme/contract/verify_success.json",
    ] {
        assert!(
            blocks.iter().any(|(p, _, _)| p == path),
            "the guide no longer shows {path}"
        );
    }
    for (path, language, text) in &blocks {
        let file = std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|e| panic!("the guide shows {path}, which cannot be read: {e}"));
        assert!(
            file == *text,
            "the guide's {language} block of {path} differs from the file; copy the file into the guide"
        );
    }
}

#[test]
fn hidden_lines_are_left_out_of_rust_blocks_only() {
    let guide = "<!-- file: a.rs -->\n```rust\nuse x;\n# fn main() {}\n```\n\
                 <!-- file: b.toml -->\n```toml\n# a comment\n```\n";
    let blocks = marked_blocks(guide);
    assert_eq!(blocks[0], ("a.rs".into(), "rust".into(), "use x;\n".into()));
    assert_eq!(blocks[1].2, "# a comment\n");
}
