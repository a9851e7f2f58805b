//! HTML rendered as Go's `golang.org/x/net/html.Render` does, so `html()` and `innerHTML()`
//! give the strings k6 gives (`<br/>`, `&#34;`), not html5ever's serialization.

use ego_tree::NodeRef;
use scraper::Node;

const VOID: [&str; 15] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
];

/// Elements whose text children are written as they are.
const RAW: [&str; 8] = [
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "script",
    "style",
    "xmp",
];

/// Renders `n` and its descendants. A loop over an explicit stack rather than recursion: a
/// page may nest elements deeper than a VU's coroutine stack could recurse.
pub(crate) fn node(n: NodeRef<'_, Node>, out: &mut String) {
    enum Step<'a> {
        Open(NodeRef<'a, Node>, bool),
        Close(&'a str),
    }
    let mut stack = vec![Step::Open(n, false)];
    while let Some(step) = stack.pop() {
        let (n, raw) = match step {
            Step::Close(tag) => {
                out.push_str("</");
                out.push_str(tag);
                out.push('>');
                continue;
            }
            Step::Open(n, raw) => (n, raw),
        };
        match n.value() {
            Node::Text(t) if raw => out.push_str(&t.text),
            Node::Text(t) => escape(&t.text, out),
            Node::Comment(c) => {
                out.push_str("<!--");
                out.push_str(&c.comment);
                out.push_str("-->");
            }
            Node::Doctype(d) => doctype(d, out),
            Node::Document | Node::Fragment => {
                stack.extend(n.children().rev().map(|c| Step::Open(c, false)));
            }
            Node::ProcessingInstruction(_) => {}
            Node::Element(e) => {
                let tag = e.name();
                open_tag(e, out);
                if VOID.contains(&tag) {
                    out.push_str("/>");
                    continue;
                }
                out.push('>');
                if let Some(Node::Text(t)) = n.first_child().map(|c| c.value()) {
                    if t.text.starts_with('\n') && matches!(tag, "pre" | "listing" | "textarea") {
                        out.push('\n');
                    }
                }
                let raw = RAW.contains(&tag);
                stack.push(Step::Close(tag));
                stack.extend(n.children().rev().map(|c| Step::Open(c, raw)));
            }
        }
    }
}

fn open_tag(e: &scraper::node::Element, out: &mut String) {
    out.push('<');
    out.push_str(e.name());
    for (name, value) in &e.attrs {
        out.push(' ');
        if let Some(prefix) = &name.prefix {
            out.push_str(prefix);
            out.push(':');
        }
        out.push_str(&name.local);
        out.push_str("=\"");
        escape(value, out);
        out.push('"');
    }
}

fn doctype(d: &scraper::node::Doctype, out: &mut String) {
    out.push_str("<!DOCTYPE ");
    out.push_str(d.name());
    let (public, system) = (d.public_id(), d.system_id());
    if !public.is_empty() {
        out.push_str(" PUBLIC ");
        quoted(public, out);
        if !system.is_empty() {
            out.push(' ');
            quoted(system, out);
        }
    } else if !system.is_empty() {
        out.push_str(" SYSTEM ");
        quoted(system, out);
    }
    out.push('>');
}

fn quoted(s: &str, out: &mut String) {
    let q = if s.contains('"') { '\'' } else { '"' };
    out.push(q);
    out.push_str(s);
    out.push(q);
}

/// Go's `html.EscapeString` set: `&`, `'`, `<`, `>`, `"` and CR.
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::doc::{Doc, Matcher};

    #[test]
    fn renders_as_go_does() {
        let d = Doc::parse(
            r#"<form id=f action="/x?a=1&amp;b=2"><input name=q value='say "hi"'><br><textarea>
x < y</textarea><script>if (a < b) {}</script></form>"#,
        );
        let f = d.find(&[0], &Matcher::new("#f"));
        assert_eq!(
            d.inner_html(f[0]),
            "<input name=\"q\" value=\"say &#34;hi&#34;\"/><br/><textarea>x &lt; y</textarea>\
             <script>if (a < b) {}</script>"
        );
    }

    #[test]
    fn deep_nesting_renders_without_recursion() {
        // On a stack the size of a VU's coroutine's: a recursive renderer would overflow it.
        let depth = 5_000;
        let run = move || {
            let d = Doc::parse(&"<div>".repeat(depth));
            let body = d.find(&[0], &Matcher::new("body"));
            let html = d.inner_html(body[0]);
            (html.len(), d.find(&[0], &Matcher::new("div")).len())
        };
        let (len, divs) = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(run)
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(len, depth * "<div></div>".len());
        assert_eq!(divs, depth);
    }
}
