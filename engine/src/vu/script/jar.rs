//! A script's cookie jars on the engine VU, where its requests use them: the VU's own
//! (`http.cookieJar()`, every request's by default) and those `new http.CookieJar()` made.

use std::collections::HashMap;

use crate::cookies::{CookieJar, RequestCookie};
use crate::http::Url;
use crate::script::{JarCall, JarOp, VU_JAR};
use crate::vu::Vu;

/// The jars a script made, by the number its runtime gave them. They last for the iteration
/// that made them, so a script that makes one per iteration does not grow the VU.
#[derive(Default)]
pub(crate) struct Jars(HashMap<u32, CookieJar>);

impl Jars {
    /// A copy of jar `id` (empty when the script has not used it yet).
    pub(in crate::vu) fn get(&self, id: u32) -> Option<CookieJar> {
        self.0.get(&id).cloned()
    }

    /// Applies what a copy of jar `id` went through (see [`CookieJar::absorb`]).
    pub(in crate::vu) fn absorb(&mut self, id: u32, before: &CookieJar, after: &CookieJar) {
        self.0.entry(id).or_default().absorb(before, after);
    }
}

impl Vu {
    /// As k6 does for every iteration (its `noCookiesReset` is not taken): the VU's jar starts
    /// empty. This also drops a request's jar left in place by an interrupted iteration.
    pub(in crate::vu) fn reset_script_jars(&mut self) {
        self.jar = CookieJar::default();
        if let Some(state) = self.script.as_mut() {
            state.jars.0.clear();
        }
    }

    /// Answers a jar operation: the cookies of `cookiesForURL`, or why the URL is refused.
    pub(in crate::vu) fn script_jar(
        &mut self,
        call: JarCall,
    ) -> Result<Vec<(String, String)>, String> {
        let url = Url::parse(&call.url).map_err(|e| format!("{}: {e}", call.url))?;
        let jar = if call.jar == VU_JAR {
            &mut self.jar
        } else {
            match self.script.as_mut() {
                Some(state) => state.jars.0.entry(call.jar).or_default(),
                None => return Ok(Vec::new()),
            }
        };
        match call.op {
            JarOp::Set { set_cookie } => jar.store(&url, &set_cookie),
            JarOp::CookiesFor => return Ok(jar.cookies_for(&url)),
            JarOp::Clear => {
                for (name, _) in jar.cookies_for(&url) {
                    jar.delete(&url, &name);
                }
            }
            JarOp::Delete { name } => jar.delete(&url, &name),
        }
        Ok(Vec::new())
    }

    /// Puts the jar a request uses in the VU's place, with the request's own cookies; returns
    /// the VU's jar when it was set aside, for [`Vu::leave_request_jar`].
    pub(in crate::vu) fn enter_request_jar(
        &mut self,
        jar: u32,
        cookies: Vec<RequestCookie>,
    ) -> Option<CookieJar> {
        if jar == VU_JAR {
            if !cookies.is_empty() {
                self.jar.set_request_cookies(cookies);
            }
            return None;
        }
        let mut other = self
            .script
            .as_mut()
            .and_then(|s| s.jars.0.remove(&jar))
            .unwrap_or_default();
        other.set_request_cookies(cookies);
        Some(std::mem::replace(&mut self.jar, other))
    }

    pub(in crate::vu) fn leave_request_jar(&mut self, jar: u32, saved: Option<CookieJar>) {
        self.jar.set_request_cookies(Vec::new());
        if let Some(vu_jar) = saved {
            let other = std::mem::replace(&mut self.jar, vu_jar);
            if let Some(state) = self.script.as_mut() {
                state.jars.0.insert(jar, other);
            }
        }
    }
}
