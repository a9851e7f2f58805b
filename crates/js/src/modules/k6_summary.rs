//! `https://jslib.k6.io/k6-summary/VERSION/index.js`, which most `handleSummary` scripts import
//! for `textSummary` and `jUnit`: loadrun makes no remote imports, so the published files are
//! built in (see `jslib/k6-summary/README.md`). Their own code runs, so the text is the one k6
//! prints for the same data: the jslib's layout, which is not k6 1.x's default summary.

/// k6 loads these CommonJS files in a function with `module` and `exports`; so does this
/// wrapper (their functions stay local, so `humanizeValue` can be exported by name).
macro_rules! wrapped {
    ($file:literal) => {
        concat!(
            "const module = { exports: {} };\n(function (module, exports) {\n",
            include_str!(concat!("../../jslib/k6-summary/", $file)),
            "\n})(module, module.exports);\nexport const textSummary = module.exports.textSummary;\n",
            "export const jUnit = module.exports.jUnit;\n",
            "export const humanizeValue = module.exports.humanizeValue;\n",
            "export default module.exports;\n",
        )
    };
}

/// The URLs, by version, as scripts write them.
const VERSIONS: [(&str, &str); 5] = [
    (
        "https://jslib.k6.io/k6-summary/0.0.1/index.js",
        wrapped!("0.0.1.js"),
    ),
    (
        "https://jslib.k6.io/k6-summary/0.0.2/index.js",
        wrapped!("0.0.2.js"),
    ),
    (
        "https://jslib.k6.io/k6-summary/0.0.3/index.js",
        wrapped!("0.0.3.js"),
    ),
    (
        "https://jslib.k6.io/k6-summary/0.0.4/index.js",
        wrapped!("0.0.4.js"),
    ),
    (
        "https://jslib.k6.io/k6-summary/0.1.0/index.js",
        wrapped!("0.1.0.js"),
    ),
];

/// The module at `url`, if it is one of the built-in k6-summary versions.
pub fn source(url: &str) -> Option<&'static str> {
    VERSIONS.iter().find(|(u, _)| *u == url).map(|(_, s)| *s)
}

/// The URLs served, for the refusal of another remote import.
pub fn urls() -> impl Iterator<Item = &'static str> {
    VERSIONS.iter().map(|(u, _)| *u)
}
