//! `Response.json(selector)`: tidwall's gjson paths (the `gjson` crate is his port of the Go
//! library k6 uses), so `a.#.b`, `#(k=="v")#`, wildcards and `@reverse` select as in k6.

use rquickjs::{Ctx, Function, Object, Result, Value};

/// The JSON text of what `path` selects in `body`, or `None` when the body is not JSON or the
/// path selects nothing (k6 returns `undefined` for both).
pub(crate) fn select(body: &str, path: &str) -> Option<String> {
    if !gjson::valid(body) {
        return None;
    }
    let v = gjson::get(body, path);
    v.exists().then(|| v.json().to_string())
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, l: &Object<'js>) -> Result<()> {
    l.set(
        "jsonPath",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, body: Value<'js>, path: String| -> Result<Option<String>> {
                // A binary body (responseType "binary") is read as the JSON text it holds.
                let bytes = super::bytes::of(&ctx, "Response.json()", &body)?;
                Ok(std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|text| select(text, &path)))
            },
        )?,
    )
}

#[cfg(test)]
mod tests {
    use super::select;

    const DOC: &str = r#"{"name":{"first":"Tom","last":"Anderson"},"age":37,
      "children":["Sara","Alex","Jack"],"fav.movie":"Deer Hunter",
      "friends":[{"first":"Dale","last":"Murphy","age":44,"nets":["ig","fb","tw"]},
        {"first":"Roger","last":"Craig","age":68,"nets":["fb","tw"]},
        {"first":"Jane","last":"Murphy","age":47,"nets":["ig","tw"]}]}"#;

    fn get(path: &str) -> Option<String> {
        select(DOC, path)
    }

    #[test]
    fn gjson_paths_as_in_k6() {
        assert_eq!(get("name.last").as_deref(), Some(r#""Anderson""#));
        assert_eq!(get("children.#").as_deref(), Some("3"));
        assert_eq!(get("children.1").as_deref(), Some(r#""Alex""#));
        assert_eq!(get("child*.2").as_deref(), Some(r#""Jack""#));
        assert_eq!(get("c?ildren.0").as_deref(), Some(r#""Sara""#));
        assert_eq!(get(r"fav\.movie").as_deref(), Some(r#""Deer Hunter""#));
        assert_eq!(
            get("friends.#.first").as_deref(),
            Some(r#"["Dale","Roger","Jane"]"#)
        );
        assert_eq!(get("friends.1.last").as_deref(), Some(r#""Craig""#));
        assert_eq!(
            get(r#"friends.#(last=="Murphy").first"#).as_deref(),
            Some(r#""Dale""#)
        );
        assert_eq!(
            get(r#"friends.#(last=="Murphy")#.first"#).as_deref(),
            Some(r#"["Dale","Jane"]"#)
        );
        assert_eq!(
            get("friends.#(age>45)#.last").as_deref(),
            Some(r#"["Craig","Murphy"]"#)
        );
        assert_eq!(
            get(r#"friends.#(nets.#(=="fb"))#.first"#).as_deref(),
            Some(r#"["Dale","Roger"]"#)
        );
        assert_eq!(
            get("children|@reverse").as_deref(),
            Some(r#"["Jack","Alex","Sara"]"#)
        );
        assert_eq!(get("children.@reverse.0").as_deref(), Some(r#""Jack""#));
        assert_eq!(get("age|@this").as_deref(), Some("37"));
        assert_eq!(
            get("{name.first,age}").as_deref(),
            Some(r#"{"first":"Tom","age":37}"#)
        );
        assert_eq!(get("[age,children.#]").as_deref(), Some("[37,3]"));
        assert_eq!(get("missing"), None);
        assert_eq!(select("{not json", "a"), None);
    }

    /// gjson slices the body at byte offsets it finds itself; whatever the input, what it
    /// returns must stay whole UTF-8 (a `String` here, so a bad slice would panic or be caught
    /// by the checks below).
    #[test]
    fn multibyte_bodies_and_paths_stay_whole() {
        let bodies = [
            r#"{"é":"ü","日本":["語","🎉"],"a":{"ß":1}}"#,
            r#"["€€", {"k":"\u00e9\"é"}, "🎉🎉"]"#,
        ];
        let paths = [
            "é",
            "日本.1",
            "日本.#",
            "a.ß",
            "1.k",
            "#",
            "*",
            "日?",
            "0",
            "@reverse",
            "日本|@reverse",
        ];
        for b in bodies {
            for p in paths {
                if let Some(s) = select(b, p) {
                    assert!(std::str::from_utf8(s.as_bytes()).is_ok());
                    assert!(
                        serde_json::from_str::<serde_json::Value>(&s).is_ok(),
                        "{b} {p} -> {s}"
                    );
                }
            }
        }
        assert_eq!(select(bodies[0], "日本.1").as_deref(), Some(r#""🎉""#));
    }
}
