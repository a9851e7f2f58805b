//! URL parsing and redirect joining on hostile text: whatever is accepted has a target and an
//! authority that can go on a request line and in a Host header as they are (visible ASCII, the
//! target starting with `/`), and its text form parses back to the same URL, so a URL shown in
//! a tag or a message names exactly what was requested.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadrun_engine::http::Url;

fn check(u: &Url) {
    assert!(
        u.path_query.starts_with('/') && u.path_query.bytes().all(|b| b.is_ascii_graphic()),
        "target {:?}",
        u.path_query
    );
    assert!(!u.host.is_empty());
    let authority = u.authority();
    assert!(
        authority.bytes().all(|b| b.is_ascii_graphic()),
        "authority {authority:?}"
    );
    let text = u.to_string();
    let again = Url::parse(&text).unwrap_or_else(|e| panic!("{text:?} does not parse back: {e}"));
    let mut without = u.clone();
    without.credentials = None;
    assert_eq!(again, without, "{text:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A base and a Location, split at the first newline.
    let (base, location) = text.split_once('\n').unwrap_or((text, "/"));
    if let Ok(u) = Url::parse(base) {
        check(&u);
        if let Ok(j) = u.join(location) {
            check(&j);
        }
    }
});
