//! `k6/crypto`'s hashes, HMACs and random bytes, over the RustCrypto crates.

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::digest::{Digest, KeyInit};
use hmac::{Mac, SimpleHmac};
use rand::RngCore;
use rquickjs::{Array, ArrayBuffer, Ctx, Exception, Function, IntoJs, Object, Result, Value};

use super::bytes;

/// The largest `randomBytes(n)`: a larger one is a script's mistake, not a test's data.
const MAX_RANDOM_BYTES: usize = 64 << 20;

/// k6's hash algorithms, by the names its functions and `createHash` take.
#[derive(Clone, Copy)]
enum Algorithm {
    Md4,
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    Sha512_224,
    Sha512_256,
    Ripemd160,
}

impl Algorithm {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "md4" => Self::Md4,
            "md5" => Self::Md5,
            "sha1" => Self::Sha1,
            "sha256" => Self::Sha256,
            "sha384" => Self::Sha384,
            "sha512" => Self::Sha512,
            "sha512_224" => Self::Sha512_224,
            "sha512_256" => Self::Sha512_256,
            "ripemd160" => Self::Ripemd160,
            _ => return None,
        })
    }

    fn hash(self, parts: &[Vec<u8>]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[Vec<u8>]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            Self::Md4 => run::<md4::Md4>(parts),
            Self::Md5 => run::<md5::Md5>(parts),
            Self::Sha1 => run::<sha1::Sha1>(parts),
            Self::Sha256 => run::<sha2::Sha256>(parts),
            Self::Sha384 => run::<sha2::Sha384>(parts),
            Self::Sha512 => run::<sha2::Sha512>(parts),
            Self::Sha512_224 => run::<sha2::Sha512_224>(parts),
            Self::Sha512_256 => run::<sha2::Sha512_256>(parts),
            Self::Ripemd160 => run::<ripemd::Ripemd160>(parts),
        }
    }

    fn hmac(self, key: &[u8], parts: &[Vec<u8>]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[Vec<u8>]) -> Vec<u8> {
            // An HMAC takes a key of any length (a long one is hashed first).
            let Ok(mut m) = <M as KeyInit>::new_from_slice(key) else {
                return Vec::new();
            };
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes().to_vec()
        }
        match self {
            Self::Md4 => run::<SimpleHmac<md4::Md4>>(key, parts),
            Self::Md5 => run::<SimpleHmac<md5::Md5>>(key, parts),
            Self::Sha1 => run::<SimpleHmac<sha1::Sha1>>(key, parts),
            Self::Sha256 => run::<SimpleHmac<sha2::Sha256>>(key, parts),
            Self::Sha384 => run::<SimpleHmac<sha2::Sha384>>(key, parts),
            Self::Sha512 => run::<SimpleHmac<sha2::Sha512>>(key, parts),
            Self::Sha512_224 => run::<SimpleHmac<sha2::Sha512_224>>(key, parts),
            Self::Sha512_256 => run::<SimpleHmac<sha2::Sha512_256>>(key, parts),
            Self::Ripemd160 => run::<SimpleHmac<ripemd::Ripemd160>>(key, parts),
        }
    }
}

fn algorithm(ctx: &Ctx<'_>, name: &str) -> Result<Algorithm> {
    Algorithm::parse(name)
        .ok_or_else(|| Exception::throw_message(ctx, &format!("invalid algorithm: {name}")))
}

fn parts<'js>(ctx: &Ctx<'js>, what: &str, list: &Array<'js>) -> Result<Vec<Vec<u8>>> {
    list.iter::<Value>()
        .map(|v| bytes::of(ctx, what, &v?))
        .collect()
}

/// A digest in k6's output encodings; `binary` is an ArrayBuffer.
fn encode<'js>(ctx: &Ctx<'js>, sum: Vec<u8>, encoding: &str) -> Result<Value<'js>> {
    let text = match encoding {
        "hex" => hex(&sum),
        "base64" => STANDARD.encode(&sum),
        "base64url" => URL_SAFE.encode(&sum),
        "base64rawurl" => URL_SAFE_NO_PAD.encode(&sum),
        "binary" => return Ok(ArrayBuffer::new(ctx.clone(), sum)?.into_value()),
        other => {
            return Err(Exception::throw_message(
                ctx,
                &format!("invalid output encoding: {other}"),
            ))
        }
    };
    text.into_js(ctx)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, l: &Object<'js>) -> Result<()> {
    l.set(
        "hashCheck",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, name: String| {
            algorithm(&ctx, &name).map(|_| ())
        })?,
    )?;
    l.set(
        "hash",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, name: String, list: Array<'js>, encoding: String| {
                let a = algorithm(&ctx, &name)?;
                let data = parts(&ctx, &name, &list)?;
                encode(&ctx, a.hash(&data), &encoding)
            },
        )?,
    )?;
    l.set(
        "hmac",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, name: String, key: Value<'js>, list: Array<'js>, encoding: String| {
                let a = algorithm(&ctx, &name)?;
                let key = bytes::of(&ctx, "hmac() secret", &key)?;
                let data = parts(&ctx, "hmac()", &list)?;
                encode(&ctx, a.hmac(&key, &data), &encoding)
            },
        )?,
    )?;
    l.set(
        "randomBytes",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, size: f64| {
            // NaN is no size either.
            if size.is_nan() || size < 1.0 {
                return Err(Exception::throw_message(&ctx, "invalid size"));
            }
            if size > MAX_RANDOM_BYTES as f64 {
                return Err(Exception::throw_message(
                    &ctx,
                    &format!("randomBytes(): {size} bytes is more than {MAX_RANDOM_BYTES}"),
                ));
            }
            let mut buf = vec![0u8; size as usize];
            rand::thread_rng().fill_bytes(&mut buf);
            ArrayBuffer::new(ctx.clone(), buf)
        })?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(a: &str, data: &str) -> String {
        hex(&Algorithm::parse(a)
            .unwrap()
            .hash(&[data.as_bytes().to_vec()]))
    }

    #[test]
    fn hashes_match_known_vectors() {
        assert_eq!(h("md4", "abc"), "a448017aaf21d8525fc10ae87aa6729d");
        assert_eq!(h("md5", "abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(h("sha1", "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            h("sha256", "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            h("sha384", "abc"),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        );
        assert_eq!(
            h("sha512", "abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(
            h("sha512_224", "abc"),
            "4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa"
        );
        assert_eq!(
            h("sha512_256", "abc"),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
        );
        assert_eq!(
            h("ripemd160", "abc"),
            "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"
        );
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test case 2.
        let mac = Algorithm::Sha256.hmac(
            b"Jefe",
            &[b"what do ya want ".to_vec(), b"for nothing?".to_vec()],
        );
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
