//! `k6/encoding`: base64 with k6's four encodings.

pub const SOURCE: &str = r##"
const L = globalThis.__loadrun;

function data(v) {
  return ArrayBuffer.isView(v) ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v;
}

export function b64encode(input, encoding) {
  return L.b64encode(data(input), encoding);
}

export function b64decode(input, encoding, format) {
  return L.b64decode(data(input), encoding, format);
}

export default { b64encode, b64decode };
"##;
