//! TypeScript as k6 runs it: the types are stripped, never checked. Stripping blanks the
//! types where they stand (`swc_ts_fast_strip`, the stripper Node.js uses), so every line and
//! column of the JavaScript QuickJS runs is the TypeScript's: error positions need no map.
//! What cannot be stripped in place (`enum`, `namespace`, parameter properties) is compiled
//! instead, with a source map that [`original_location`] reads to point back into the `.ts`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use swc_common::errors::{DiagnosticBuilder, Emitter, Handler};
use swc_common::sync::Lrc;
use swc_common::{BytePos, SourceMap, GLOBALS};
use swc_ts_fast_strip::{ErrorCode, Options};

/// Extensions run as TypeScript.
const EXTENSIONS: [&str; 3] = ["ts", "mts", "cts"];

pub(crate) fn is_typescript(path: &str) -> bool {
    std::path::Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// A diagnostic's message and where it points.
type Diagnostic = (String, Option<BytePos>);

/// The diagnostics of one run of the stripper.
#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<Diagnostic>>>);

impl Emitter for Collected {
    fn emit(&mut self, db: &mut DiagnosticBuilder<'_>) {
        let at = db.span.primary_span().map(|s| s.lo);
        if let Ok(mut list) = self.0.lock() {
            list.push((db.message(), at));
        }
    }
}

/// The source maps of the files that were compiled rather than stripped, by module name.
static MAPS: LazyLock<Mutex<HashMap<String, swc_sourcemap::SourceMap>>> =
    LazyLock::new(Default::default);

/// `source` (the file `path`) as JavaScript. The error is one line: `path:line:col: message`.
pub(crate) fn strip(path: &str, source: String) -> Result<String, String> {
    // The compiling path of `swc_ts_fast_strip` has `unwrap`s of its own: a source that trips
    // one is a refused script, not a crashed run.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        GLOBALS.set(&Default::default(), || {
            match run(path, source.clone(), "strip-only") {
                Err((ErrorCode::UnsupportedSyntax, _)) => run(path, source, "transform"),
                other => other,
            }
            .map_err(|(_, e)| e)
        })
    }))
    .unwrap_or_else(|_| {
        Err(format!(
            "{path}: the TypeScript stripper failed on this file"
        ))
    })
}

/// A `file:line:col` (maybe followed by more, `file:line:col (function)`) of the JavaScript
/// QuickJS ran, as the place in the TypeScript source. Unchanged unless the file was compiled.
pub(crate) fn original_location(loc: &str) -> String {
    let mapped = (|| {
        let (head, tail) = match loc.find(' ') {
            Some(i) => loc.split_at(i),
            None => (loc, ""),
        };
        let mut parts = head.rsplitn(3, ':');
        let col: u32 = parts.next()?.parse().ok()?;
        let line: u32 = parts.next()?.parse().ok()?;
        let file = parts.next()?;
        let maps = MAPS.lock().ok()?;
        let token = maps
            .get(file)?
            .lookup_token(line.checked_sub(1)?, col.saturating_sub(1))?;
        Some(format!(
            "{file}:{}:{}{tail}",
            token.get_src_line() + 1,
            token.get_src_col() + 1
        ))
    })();
    mapped.unwrap_or_else(|| loc.to_string())
}

fn run(path: &str, source: String, mode: &str) -> Result<String, (ErrorCode, String)> {
    let options: Options = serde_json::from_value(serde_json::json!({
        "module": true,
        "filename": path,
        "mode": mode,
        "sourceMap": mode == "transform",
    }))
    .map_err(|e| (ErrorCode::Unknown, format!("{path}: {e}")))?;
    let cm: Lrc<SourceMap> = Default::default();
    let collected = Collected::default();
    let handler = Handler::with_emitter(false, false, Box::new(collected.clone()));
    match swc_ts_fast_strip::operate(&cm, &handler, source, options) {
        Ok(out) => {
            if let Some(map) = out
                .map
                .and_then(|m| swc_sourcemap::SourceMap::from_slice(m.as_bytes()).ok())
            {
                if let Ok(mut maps) = MAPS.lock() {
                    maps.insert(path.to_string(), map);
                }
            }
            Ok(out.code)
        }
        Err(e) => {
            let first = collected.0.lock().ok().and_then(|l| l.first().cloned());
            let line = match first {
                Some((message, Some(at))) => match cm.try_lookup_char_pos(at) {
                    Ok(loc) => format!("{path}:{}:{}: {message}", loc.line, loc.col.0 + 1),
                    Err(_) => format!("{path}: {message}"),
                },
                Some((message, None)) => format!("{path}: {message}"),
                None => format!("{path}: {}", e.message),
            };
            Err((e.code, line))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_blanked_in_place() {
        let ts = "const a: number = 1;\ninterface X { y: string }\nexport function f(x: X): string {\n  return x.y as string;\n}\n";
        let js = strip("a.ts", ts.to_string()).unwrap();
        assert_eq!(js.lines().count(), ts.lines().count(), "{js}");
        assert!(js.contains("const a         = 1;"), "{js}");
        assert!(
            js.lines()
                .nth(2)
                .unwrap()
                .starts_with("export function f(x   )"),
            "{js}"
        );
        assert!(!js.contains("interface"), "{js}");
    }

    #[test]
    fn an_enum_is_compiled() {
        let js = strip("a.ts", "enum E { A, B }\nexport const b = E.B;\n".into()).unwrap();
        assert!(js.contains("E[\"B\"]") || js.contains("E.B"), "{js}");
        assert!(!js.contains("enum"), "{js}");
    }

    #[test]
    fn a_place_in_compiled_code_maps_back_to_the_typescript() {
        let ts = "enum E {\n  A,\n  B,\n}\nexport function f(): never {\n  throw new Error(String(E.B));\n}\n";
        let js = strip("mapped.ts", ts.into()).unwrap();
        let (n, line) = js
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains("throw"))
            .unwrap();
        let col = line.find("throw").unwrap() + 1;
        let at = original_location(&format!("mapped.ts:{}:{col} (f)", n + 1));
        assert_eq!(at, "mapped.ts:6:3 (f)", "{js}");
        assert_eq!(original_location("other.ts:3:4"), "other.ts:3:4");
    }

    #[test]
    fn a_syntax_error_names_the_file_line_and_column() {
        let e = strip("dir/a.ts", "const ok = 1;\nlet x: = 2;\n".into()).unwrap_err();
        assert!(e.starts_with("dir/a.ts:2:"), "{e}");
    }

    #[test]
    fn only_ts_extensions_are_typescript() {
        assert!(is_typescript("a/b.ts") && is_typescript("b.MTS"));
        assert!(!is_typescript("b.js") && !is_typescript("ts"));
    }
}
