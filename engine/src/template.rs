//! `${VAR}` interpolation, resolved once at plan compile time into literal parts and variable
//! references, so a request never parses its template again.

use std::sync::Arc;

/// Where a `${NAME}` takes its value from at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum VarRef {
    /// A variable set by `extract` (slot in the VU), with the value to use while unset.
    Slot(usize, Option<Arc<str>>),
    /// Column `col` of the current row of data feed `feed`.
    Feed(usize, usize),
    /// `__VU`: the VU number (1-based).
    Vu,
    /// `__ITER`: the VU's iteration number in its scenario (0-based).
    Iter,
    /// `exec.scenario.iterationInTest`: the iteration's number in its scenario across every
    /// instance of a distributed test (0-based; unique, as k6 numbers it).
    IterInTest,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Lit(String),
    Var(VarRef),
}

/// A compiled string with `${...}` references.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// What a template needs from the VU to render.
pub trait Vars {
    fn slot(&self, i: usize) -> Option<&str>;
    fn feed(&self, feed: usize, col: usize) -> Option<&str>;
    fn vu(&self) -> u64;
    fn iter(&self) -> u64;
    fn iter_in_test(&self) -> u64;
}

impl Template {
    /// Compiles `text`; `resolve` maps a variable name to its reference (or an error message).
    pub fn compile(
        text: &str,
        resolve: &mut dyn FnMut(&str) -> Result<Part, String>,
    ) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            lit.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {text:?}"))?;
            let name = after[..end].trim();
            if name.is_empty() {
                return Err(format!("empty ${{}} in {text:?}"));
            }
            match resolve(name)? {
                Part::Lit(s) => lit.push_str(&s),
                var => {
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(var);
                }
            }
            rest = &after[end + 1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    /// A template with no variables.
    pub fn literal(text: &str) -> Template {
        Template {
            parts: vec![Part::Lit(text.to_string())],
        }
    }

    /// The text when it has no variables.
    pub fn as_static(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Lit(s)] => Some(s),
            _ => None,
        }
    }

    pub fn is_static(&self) -> bool {
        self.as_static().is_some()
    }

    /// Appends the rendered text to `out`.
    pub fn render_into(&self, vars: &dyn Vars, out: &mut String) {
        use std::fmt::Write;
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(VarRef::Slot(i, fallback)) => match vars.slot(*i) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(fallback.as_deref().unwrap_or("")),
                },
                Part::Var(VarRef::Feed(f, c)) => out.push_str(vars.feed(*f, *c).unwrap_or("")),
                Part::Var(VarRef::Vu) => {
                    let _ = write!(out, "{}", vars.vu());
                }
                Part::Var(VarRef::Iter) => {
                    let _ = write!(out, "{}", vars.iter());
                }
                Part::Var(VarRef::IterInTest) => {
                    let _ = write!(out, "{}", vars.iter_in_test());
                }
            }
        }
    }

    pub fn render(&self, vars: &dyn Vars) -> String {
        let mut s = String::new();
        self.render_into(vars, &mut s);
        s
    }
}

/// Names used by a text's `${...}` references (for deciding whether the test server is needed).
pub fn references(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].trim());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct V;
    impl Vars for V {
        fn slot(&self, i: usize) -> Option<&str> {
            (i == 0).then_some("tok")
        }
        fn feed(&self, _: usize, _: usize) -> Option<&str> {
            Some("alice")
        }
        fn vu(&self) -> u64 {
            3
        }
        fn iter(&self) -> u64 {
            7
        }
        fn iter_in_test(&self) -> u64 {
            21
        }
    }

    #[test]
    fn compiles_and_renders() {
        let mut resolve = |n: &str| -> Result<Part, String> {
            Ok(match n {
                "BASE" => Part::Lit("http://h".into()),
                "token" => Part::Var(VarRef::Slot(0, None)),
                "other" => Part::Var(VarRef::Slot(1, Some("dflt".into()))),
                "users.name" => Part::Var(VarRef::Feed(0, 0)),
                "__VU" => Part::Var(VarRef::Vu),
                "__ITER" => Part::Var(VarRef::Iter),
                _ => return Err(format!("unknown variable {n}")),
            })
        };
        let t = Template::compile(
            "${BASE}/a?t=${token}&u=${users.name}&v=${__VU}-${__ITER}&o=${other}",
            &mut resolve,
        )
        .unwrap();
        assert_eq!(t.render(&V), "http://h/a?t=tok&u=alice&v=3-7&o=dflt");
        let s = Template::compile("${BASE}/x", &mut resolve).unwrap();
        assert_eq!(s.as_static(), Some("http://h/x"));
        assert!(Template::compile("${NOPE}", &mut resolve).is_err());
        assert!(Template::compile("${BASE", &mut resolve).is_err());
        assert_eq!(references("a ${X} ${ Y }"), vec!["X", "Y"]);
    }
}
