//! Reading a plan file, with errors that give the file, line and column.

use std::path::{Path, PathBuf};

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
}

/// Reads and parses a plan; `.json` files are JSON, anything else TOML.
pub fn load_file(path: &Path) -> Result<(Plan, PathBuf), PlanError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PlanError::Read {
        file: file.clone(),
        message: e.to_string(),
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

/// Parses plan text; `file` names it in errors.
pub fn parse_str(text: &str, format: Format, file: &str) -> Result<Plan, PlanError> {
    match format {
        Format::Toml => toml::from_str::<Plan>(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            PlanError::Syntax {
                file: file.to_string(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        }),
        Format::Json => serde_json::from_str::<Plan>(text).map_err(|e| PlanError::Syntax {
            file: file.to_string(),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
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
