//! Globals every VU has: `console` (`open()` is a native: see `natives/files.rs`).

pub const SOURCE: &str = r##"
(() => {
  const L = globalThis.__loadrun;
  function text(args) {
    return args
      .map((a) => {
        if (typeof a === "string") return a;
        if (a instanceof Error) return String(a);
        try {
          const j = JSON.stringify(a);
          return j === undefined ? String(a) : j;
        } catch (e) {
          return String(a);
        }
      })
      .join(" ");
  }
  globalThis.console = {
    debug: (...a) => L.log(0, text(a)),
    log: (...a) => L.log(1, text(a)),
    info: (...a) => L.log(1, text(a)),
    warn: (...a) => L.log(2, text(a)),
    error: (...a) => L.log(3, text(a)),
  };
})();
"##;
