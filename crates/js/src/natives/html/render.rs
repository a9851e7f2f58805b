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

pub(crate) fn node(n: NodeRef<'_, Node>, out: &mut String) {
    match n.value() {
        Node::Text(t) => escape(&t.text, out),
        Node::Comment(c) => {
            out.push_str("<!--");
            out.push_str(&c.comment);
            out.push_str("-->");
        }
        Node::Doctype(d) => doctype(d, out),
        Node::Document | Node::Fragment => {
            for c in n.children() {
                node(c, out);
            }
        }
        Node::ProcessingInstruction(_) => {}
        Node::Element(e) => {
            let tag = e.name();
            out.push('<');
            out.push_str(tag);
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
            if VOID.contains(&tag) {
                out.push_str("/>");
                return;
            }
            out.push('>');
            if let Some(Node::Text(t)) = n.first_child().map(|c| c.value()) {
                if t.text.starts_with('\n') && matches!(tag, "pre" | "listing" | "textarea") {
                    out.push('\n');
                }
            }
            let raw = RAW.contains(&tag);
            for c in n.children() {
                match c.value() {
                    Node::Text(t) if raw => out.push_str(&t.text),
                    _ => node(c, out),
                }
            }
            out.push_str("</");
            out.push_str(tag);
            out.push('>');
        }
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
}
