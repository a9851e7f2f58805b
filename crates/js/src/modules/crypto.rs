//! `k6/crypto`: k6's hashes, HMAC, `createHash`/`createHMAC` and `randomBytes`.

pub const SOURCE: &str = r##"
const L = globalThis.__loadrun;

function data(v) {
  return ArrayBuffer.isView(v) ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v;
}

class Hasher {
  constructor(algorithm, secret) {
    L.hashCheck(String(algorithm));
    this._algorithm = String(algorithm);
    this._secret = secret === undefined ? undefined : data(secret);
    this._parts = [];
  }
  update(input) {
    this._parts.push(data(input));
  }
  digest(outputEncoding) {
    return this._secret === undefined
      ? L.hash(this._algorithm, this._parts, String(outputEncoding))
      : L.hmac(this._algorithm, this._secret, this._parts, String(outputEncoding));
  }
}

export function createHash(algorithm) {
  return new Hasher(algorithm);
}

export function createHMAC(algorithm, secret) {
  return new Hasher(algorithm, secret === undefined ? "" : secret);
}

export function hmac(algorithm, secret, input, outputEncoding) {
  return L.hmac(String(algorithm), data(secret), [data(input)], String(outputEncoding));
}

function hashFn(algorithm) {
  return (input, outputEncoding) => L.hash(algorithm, [data(input)], String(outputEncoding));
}

export const md4 = hashFn("md4");
export const md5 = hashFn("md5");
export const sha1 = hashFn("sha1");
export const sha256 = hashFn("sha256");
export const sha384 = hashFn("sha384");
export const sha512 = hashFn("sha512");
export const sha512_224 = hashFn("sha512_224");
export const sha512_256 = hashFn("sha512_256");
export const ripemd160 = hashFn("ripemd160");

export function randomBytes(size) {
  return L.randomBytes(Number(size));
}

export default {
  createHash, createHMAC, hmac, md4, md5, sha1, sha256, sha384, sha512, sha512_224,
  sha512_256, ripemd160, randomBytes,
};
"##;
