//! Reading a plan file, with errors that give the file, line and column.

use std::path::{Path, PathBuf};

use super::limits::{MAX_GROUP_DEPTH, MAX_PLAN_BYTES};
use super::Plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read the plan {file}: {message}")]
    Read { file: String, message: String },
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{file}: the plan is {size} bytes, more than loadrun reads (limit {MAX_PLAN_BYTES} bytes, 10 MiB)")]
    TooLarge { file: String, size: u64 },
    #[error("{file}: {SCRIPT_REFUSAL}")]
    Script { file: String },
}

/// Extensions of k6 scripts (JavaScript and TypeScript), which are not plans.
const SCRIPT_EXTENSIONS: [&str; 6] = ["js", "mjs", "cjs", "ts", "mts", "cts"];

/// What a k6 user who passes a script is told instead of a TOML error on JavaScript.
const SCRIPT_REFUSAL: &str = "k6 scripts are not run directly; write the test as a plan \
     (TOML or JSON: engine/README.md \"Plan schema\", examples/*.toml), or use \
     `loadrun run --url URL` for a quick test";

fn is_script(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| SCRIPT_EXTENSIONS.iter().any(|s| e.eq_ignore_ascii_case(s)))
}

/// Reads and parses a plan; `.json` files are JSON, anything else TOML.
pub fn load_file(path: &Path) -> Result<(Plan, PathBuf), PlanError> {
    let file = path.display().to_string();
    // Before reading: the answer is the same whether or not the script exists here.
    if is_script(path) {
        return Err(PlanError::Script { file });
    }
    let text = read_bounded(path).map_err(|e| match e {
        Bounded::Io(e) => PlanError::Read {
            file: file.clone(),
            message: e.to_string(),
        },
        Bounded::TooLarge(size) => PlanError::TooLarge {
            file: file.clone(),
            size,
        },
    })?;
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
        _ => Format::Toml,
    };
    let plan = parse_str(&text, format, &file)?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok((plan, dir))
}

enum Bounded {
    Io(std::io::Error),
    TooLarge(u64),
}

/// Reads at most [`MAX_PLAN_BYTES`]; the length is checked on what is read, not only on the
/// metadata, so a pipe or a growing file cannot get past the limit.
fn read_bounded(path: &Path) -> Result<String, Bounded> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(Bounded::Io)?;
    let declared = file.metadata().map(|m| m.len()).unwrap_or(0);
    if declared > MAX_PLAN_BYTES {
        return Err(Bounded::TooLarge(declared));
    }
    let mut bytes = Vec::new();
    file.take(MAX_PLAN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(Bounded::Io)?;
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(Bounded::TooLarge(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        Bounded::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        ))
    })
}

/// The parsers stop at a fixed nesting depth with a bare "recursion limit exceeded"; say what
/// nests and how deep loadrun goes.
fn explain_depth(message: String) -> String {
    if message.contains("recursion limit exceeded") {
        format!(
            "the plan nests too deeply for the parser (groups nest at most {MAX_GROUP_DEPTH} levels)"
        )
    } else {
        message
    }
}

/// Parses plan text; `file` names it in errors.
pub fn parse_str(text: &str, format: Format, file: &str) -> Result<Plan, PlanError> {
    match format {
        Format::Toml => toml::from_str::<Plan>(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            PlanError::Syntax {
                file: file.to_string(),
                line,
                column,
                message: explain_depth(e.message().trim().to_string()),
            }
        }),
        Format::Json => serde_json::from_str::<Plan>(text).map_err(|e| PlanError::Syntax {
            file: file.to_string(),
            line: e.line(),
            column: e.column(),
            message: explain_depth(strip_position(&e.to_string())),
        }),
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_have_line_and_column() {
        let text = "[scenarios.a]\nexecutor = \"constant-vus\"\nduration = \"3x\"\n";
        let e = parse_str(text, Format::Toml, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.toml:3:12: invalid duration \"3x\""), "{e}");
        let text = "[scenarios.a]\nexecutor = \"constant-vu\"\n";
        let e = parse_str(text, Format::Toml, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.toml:2:12:"), "{e}");
        assert!(e.contains("constant-vus"), "{e}");
        let text = "[[steps]]\nurll = \"http://x\"\n";
        let e = parse_str(text, Format::Toml, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.toml:2:1: unknown field `urll`"), "{e}");
    }

    fn nested(depth: usize) -> String {
        let open: String = (0..depth).map(|_| r#"[{"group": "g", "steps": "#).collect();
        let close: String = (0..depth).map(|_| "}]").collect();
        format!(r#"{{"steps": {open}[{{"url": "http://127.0.0.1:1/"}}]{close}}}"#)
    }

    #[test]
    fn nesting_past_the_parser_depth_names_the_limit() {
        let e = parse_str(&nested(200), Format::Json, "deep.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("deep.json:1:"), "{e}");
        assert!(e.contains("groups nest at most 32 levels"), "{e}");
        let toml_text = nested(200)
            .replace(": ", " = ")
            .replace(r#"{"steps" = "#, "steps = ");
        let toml_text = toml_text.trim_end_matches('}').to_string();
        let e = parse_str(&toml_text, Format::Toml, "deep.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("deep.toml:1:"), "{e}");
        assert!(e.contains("groups nest at most 32 levels"), "{e}");
    }

    #[test]
    fn plans_over_the_size_limit_are_refused_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.toml");
        let line = "# padding padding padding padding padding padding padding padding\n";
        let text = line.repeat((MAX_PLAN_BYTES as usize / line.len()) + 2);
        std::fs::write(&path, &text).unwrap();
        let e = load_file(&path).unwrap_err().to_string();
        assert!(
            e.ends_with(&format!(
                "big.toml: the plan is {} bytes, more than loadrun reads (limit 10485760 bytes, 10 MiB)",
                text.len()
            )),
            "{e}"
        );
        // Just under the limit still loads.
        std::fs::write(&path, &text[..MAX_PLAN_BYTES as usize - line.len()]).unwrap();
        assert!(load_file(&path).is_ok());
    }

    #[test]
    fn a_symlink_loop_reports_the_real_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loop.toml");
        std::os::unix::fs::symlink(&path, &path).unwrap();
        let e = load_file(&path).unwrap_err().to_string();
        assert!(e.contains("loop.toml"), "{e}");
        assert!(e.contains("Too many levels of symbolic links"), "{e}");
    }

    #[test]
    fn k6_scripts_are_refused_in_one_line_without_a_toml_error() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["script.js", "test.TS", "missing.mjs"] {
            let path = dir.path().join(name);
            if name != "missing.mjs" {
                std::fs::write(
                    &path,
                    "import http from 'k6/http';\nexport default function () {}\n",
                )
                .unwrap();
            }
            let e = load_file(&path).unwrap_err().to_string();
            assert!(e.ends_with(&format!("{name}: {SCRIPT_REFUSAL}")), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn json_plans_use_the_same_schema() {
        let text = r#"{"vus": 2, "duration": "1s", "steps": [{"url": "http://x/", "checks": [{"status": 200}]}]}"#;
        let p = parse_str(text, Format::Json, "p.json").unwrap();
        assert_eq!(p.vus, Some(2));
        let e = parse_str("{\n \"vus\": \"x\"}", Format::Json, "p.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.json:2:"), "{e}");
    }
}
