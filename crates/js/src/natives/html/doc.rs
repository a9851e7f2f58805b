//! A parsed HTML document and goquery's walks over it, on node numbers.
//!
//! A node's number is its position in document order, so a Selection on the JavaScript side is
//! a plain array of numbers and "document order" is a numeric sort.

use std::collections::HashSet;

use ego_tree::{NodeId, NodeRef};
use scraper::{ElementRef, Html, Node, Selector};

pub(crate) struct Doc {
    html: Html,
    order: Vec<NodeId>,
    number: std::collections::HashMap<NodeId, u32>,
}

/// The node types of the DOM, as k6's `nodeType()` returns them.
pub(crate) const ELEMENT: i32 = 1;
pub(crate) const TEXT: i32 = 3;
pub(crate) const COMMENT: i32 = 8;
pub(crate) const DOCUMENT: i32 = 9;
pub(crate) const DOCTYPE: i32 = 10;

/// How a walk from each node goes, as goquery's adjacent functions do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Walk {
    Children,
    Contents,
    Parent,
    Parents,
    Next,
    NextAll,
    Prev,
    PrevAll,
    Siblings,
}

impl Walk {
    pub(crate) fn parse(name: &str) -> Option<Walk> {
        Some(match name {
            "children" => Walk::Children,
            "contents" => Walk::Contents,
            "parent" => Walk::Parent,
            "parents" => Walk::Parents,
            "next" => Walk::Next,
            "nextAll" => Walk::NextAll,
            "prev" => Walk::Prev,
            "prevAll" => Walk::PrevAll,
            "siblings" => Walk::Siblings,
            _ => return None,
        })
    }
}

/// A selector, or one that matches nothing: goquery answers an invalid selector with an empty
/// selection rather than an error, and k6 scripts rely on what k6 does.
pub(crate) struct Matcher(Option<Selector>);

impl Matcher {
    pub(crate) fn new(selector: &str) -> Matcher {
        Matcher(Selector::parse(selector).ok())
    }
}

impl Doc {
    pub(crate) fn parse(src: &str) -> Doc {
        let html = Html::parse_document(src);
        let order: Vec<NodeId> = html.tree.root().descendants().map(|n| n.id()).collect();
        let number = order
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();
        Doc {
            html,
            order,
            number,
        }
    }

    pub(crate) fn node(&self, n: u32) -> Option<NodeRef<'_, Node>> {
        let id = *self.order.get(n as usize)?;
        self.html.tree.get(id)
    }

    fn num(&self, node: NodeRef<'_, Node>) -> u32 {
        self.number.get(&node.id()).copied().unwrap_or(0)
    }

    fn nodes<'a>(&'a self, ns: &'a [u32]) -> impl Iterator<Item = NodeRef<'a, Node>> + 'a {
        ns.iter().filter_map(|n| self.node(*n))
    }

    pub(crate) fn matches(&self, n: u32, m: &Matcher) -> bool {
        match (&m.0, self.node(n)) {
            (Some(sel), Some(node)) => ElementRef::wrap(node).is_some_and(|e| sel.matches(&e)),
            _ => false,
        }
    }

    /// The element descendants of each node that match, each node's in document order, no
    /// node twice (goquery's `Find`).
    pub(crate) fn find(&self, ns: &[u32], m: &Matcher) -> Vec<u32> {
        let mut out = Unique::default();
        for node in self.nodes(ns) {
            for d in node.descendants().skip(1) {
                let n = self.num(d);
                if self.matches(n, m) {
                    out.push(n);
                }
            }
        }
        out.list
    }

    /// The nodes that match (`keep`) or do not (goquery's `Filter` and `Not`).
    pub(crate) fn filter(&self, ns: &[u32], m: &Matcher, keep: bool) -> Vec<u32> {
        ns.iter()
            .copied()
            .filter(|n| self.matches(*n, m) == keep)
            .collect()
    }

    /// The nodes with a descendant that matches (goquery's `Has`).
    pub(crate) fn has(&self, ns: &[u32], m: &Matcher) -> Vec<u32> {
        ns.iter()
            .copied()
            .filter(|n| !self.find(&[*n], m).is_empty())
            .collect()
    }

    /// The first of each node and its ancestors that matches (goquery's `Closest`).
    pub(crate) fn closest(&self, ns: &[u32], m: &Matcher) -> Vec<u32> {
        let mut out = Unique::default();
        for node in self.nodes(ns) {
            let mut cur = Some(node);
            while let Some(c) = cur {
                let n = self.num(c);
                if self.matches(n, m) {
                    out.push(n);
                    break;
                }
                cur = c.parent();
            }
        }
        out.list
    }

    /// The nodes `walk` reaches from each node, stopping before one that `until` matches (or
    /// one of `until_nodes`), then those that match `filter`.
    pub(crate) fn walk(
        &self,
        ns: &[u32],
        walk: Walk,
        until: Option<&Matcher>,
        until_nodes: Option<&[u32]>,
        filter: Option<&Matcher>,
    ) -> Vec<u32> {
        let stop = |n: u32| {
            until.is_some_and(|m| self.matches(n, m)) || until_nodes.is_some_and(|u| u.contains(&n))
        };
        let mut out = Unique::default();
        for node in self.nodes(ns) {
            let reached: Vec<NodeRef<'_, Node>> = match walk {
                Walk::Children => node.children().filter(is_element).collect(),
                Walk::Contents => node.children().collect(),
                Walk::Parent => node.parent().filter(is_element).into_iter().collect(),
                Walk::Parents => node.ancestors().filter(is_element).collect(),
                Walk::Next => node.next_siblings().find(is_element).into_iter().collect(),
                Walk::NextAll => node.next_siblings().filter(is_element).collect(),
                Walk::Prev => node.prev_siblings().find(is_element).into_iter().collect(),
                Walk::PrevAll => node.prev_siblings().filter(is_element).collect(),
                Walk::Siblings => node
                    .parent()
                    .map(|p| {
                        p.children()
                            .filter(|c| is_element(c) && c.id() != node.id())
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            for r in reached {
                let n = self.num(r);
                if stop(n) {
                    break;
                }
                if filter.is_none_or(|m| self.matches(n, m)) {
                    out.push(n);
                }
            }
        }
        out.list
    }

    /// The text of the nodes and their descendants, concatenated (goquery's `Text`).
    pub(crate) fn text(&self, ns: &[u32]) -> String {
        let mut s = String::new();
        for node in self.nodes(ns) {
            for d in node.descendants() {
                if let Node::Text(t) = d.value() {
                    s.push_str(&t.text);
                }
            }
        }
        s
    }

    /// The HTML of the node's children, rendered as Go's `html.Render` does.
    pub(crate) fn inner_html(&self, n: u32) -> String {
        let mut s = String::new();
        if let Some(node) = self.node(n) {
            for c in node.children() {
                super::render::node(c, &mut s);
            }
        }
        s
    }

    pub(crate) fn attr(&self, n: u32, name: &str) -> Option<String> {
        let node = self.node(n)?;
        let el = node.value().as_element()?;
        el.attrs()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// The attributes in source order, as `[name, value, name, value, ...]`.
    pub(crate) fn attrs(&self, n: u32) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(el) = self.node(n).and_then(|node| node.value().as_element()) {
            for (k, v) in el.attrs() {
                out.push(k.to_string());
                out.push(v.to_string());
            }
        }
        out
    }

    /// goquery's `NodeName`: the tag for an element, `#text`, `#document`, ... for the others.
    pub(crate) fn name(&self, n: u32) -> String {
        match self.node(n).map(|node| node.value()) {
            Some(Node::Element(e)) => e.name().to_string(),
            Some(Node::Doctype(d)) => d.name().to_string(),
            Some(Node::Text(_)) => "#text".into(),
            Some(Node::Comment(_)) => "#comment".into(),
            Some(Node::Document) | Some(Node::Fragment) => "#document".into(),
            Some(Node::ProcessingInstruction(_)) | None => String::new(),
        }
    }

    pub(crate) fn kind(&self, n: u32) -> i32 {
        match self.node(n).map(|node| node.value()) {
            Some(Node::Element(_)) => ELEMENT,
            Some(Node::Text(_)) => TEXT,
            Some(Node::Comment(_)) => COMMENT,
            Some(Node::Document) | Some(Node::Fragment) => DOCUMENT,
            Some(Node::Doctype(_)) => DOCTYPE,
            Some(Node::ProcessingInstruction(_)) | None => 0,
        }
    }

    /// The node one step away in any direction, of any type (the DOM's `parentNode`,
    /// `firstChild`, `lastChild`, `previousSibling`, `nextSibling`).
    pub(crate) fn step(&self, n: u32, way: &str) -> Option<u32> {
        let node = self.node(n)?;
        let to = match way {
            "parentNode" => node.parent(),
            "firstChild" => node.first_child(),
            "lastChild" => node.last_child(),
            "previousSibling" => node.prev_sibling(),
            "nextSibling" => node.next_sibling(),
            _ => None,
        }?;
        Some(self.num(to))
    }

    /// Whether `inner` is a descendant of `outer` (not `outer` itself).
    pub(crate) fn contains(&self, outer: u32, inner: u32) -> bool {
        match (self.node(outer), self.node(inner)) {
            (Some(o), Some(i)) => i.ancestors().any(|a| a.id() == o.id()),
            _ => false,
        }
    }
}

fn is_element(n: &NodeRef<'_, Node>) -> bool {
    n.value().is_element()
}

/// A list without repeats, in the order first seen (goquery's `mapNodes`).
#[derive(Default)]
struct Unique {
    list: Vec<u32>,
    seen: HashSet<u32>,
}

impl Unique {
    fn push(&mut self, n: u32) {
        if self.seen.insert(n) {
            self.list.push(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html><html><head><title>T</title></head><body>
<div id="a" class="x"><p>one</p><p class="y">two</p><span>three</span></div>
<div id="b"><p>four</p><!-- note --></div></body></html>"#;

    fn names(d: &Doc, ns: &[u32]) -> Vec<String> {
        ns.iter()
            .map(|n| {
                let id = d.attr(*n, "id").or_else(|| d.attr(*n, "class"));
                format!(
                    "{}{}",
                    d.name(*n),
                    id.map(|i| format!("#{i}")).unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn find_walks_and_filters_as_goquery() {
        let d = Doc::parse(PAGE);
        let ps = d.find(&[0], &Matcher::new("p"));
        assert_eq!(d.text(&ps), "onetwofour");
        let divs = d.find(&[0], &Matcher::new("div"));
        assert_eq!(names(&d, &divs), ["div#a", "div#b"]);
        // A selector goquery cannot compile matches nothing rather than failing.
        assert!(d.find(&[0], &Matcher::new("p[")).is_empty());
        let y = d.find(&[0], &Matcher::new(".y"));
        assert_eq!(
            names(&d, &d.walk(&y, Walk::Siblings, None, None, None)),
            ["p", "span"]
        );
        assert_eq!(names(&d, &d.walk(&y, Walk::Prev, None, None, None)), ["p"]);
        assert_eq!(
            names(&d, &d.walk(&y, Walk::Next, None, None, None)),
            ["span"]
        );
        assert_eq!(
            names(
                &d,
                &d.walk(&y, Walk::Parents, Some(&Matcher::new("body")), None, None)
            ),
            ["div#a"]
        );
        assert_eq!(
            names(&d, &d.walk(&[0], Walk::Children, None, None, None)),
            ["html"]
        );
        // The document node is no element, so it is nobody's parent.
        let html = d.walk(&[0], Walk::Children, None, None, None);
        assert!(d.walk(&html, Walk::Parent, None, None, None).is_empty());
        assert_eq!(names(&d, &d.closest(&y, &Matcher::new("div"))), ["div#a"]);
        assert_eq!(names(&d, &d.has(&divs, &Matcher::new("span"))), ["div#a"]);
        assert_eq!(
            names(&d, &d.filter(&divs, &Matcher::new("#b"), false)),
            ["div#a"]
        );
        let b = d.filter(&divs, &Matcher::new("#b"), true);
        assert_eq!(d.inner_html(b[0]), "<p>four</p><!-- note -->");
        assert_eq!(d.kind(0), DOCUMENT);
        assert!(d.contains(divs[0], y[0]));
        assert!(!d.contains(y[0], y[0]));
    }
}
