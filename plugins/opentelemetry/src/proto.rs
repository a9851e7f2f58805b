//! Hand-written protobuf wire encoding (and a small schema-less decoder).
//!
//! OTLP needs only a handful of messages, so a code generator (and `protoc` in the build) would
//! cost more than these few functions. The decoder reads server answers (gRPC error details,
//! partial success) and lets the tests check what the encoder wrote.

/// Wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

pub fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn key(buf: &mut Vec<u8>, field: u32, wire: u8) {
    varint(buf, (u64::from(field) << 3) | u64::from(wire));
}

pub fn uint(buf: &mut Vec<u8>, field: u32, v: u64) {
    key(buf, field, VARINT);
    varint(buf, v);
}

/// `sint32`/`sint64` (zigzag).
pub fn sint(buf: &mut Vec<u8>, field: u32, v: i64) {
    uint(buf, field, ((v << 1) ^ (v >> 63)) as u64);
}

pub fn boolean(buf: &mut Vec<u8>, field: u32, v: bool) {
    uint(buf, field, u64::from(v));
}

pub fn fixed64(buf: &mut Vec<u8>, field: u32, v: u64) {
    key(buf, field, FIXED64);
    buf.extend_from_slice(&v.to_le_bytes());
}

pub fn double(buf: &mut Vec<u8>, field: u32, v: f64) {
    fixed64(buf, field, v.to_bits());
}

pub fn bytes(buf: &mut Vec<u8>, field: u32, v: &[u8]) {
    key(buf, field, LEN);
    varint(buf, v.len() as u64);
    buf.extend_from_slice(v);
}

pub fn string(buf: &mut Vec<u8>, field: u32, v: &str) {
    bytes(buf, field, v.as_bytes());
}

/// A nested message: `body` writes its fields at the end of `buf`, then the length prefix is
/// slotted in front of them (one move of the nested bytes, no scratch buffer).
pub fn message(buf: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    key(buf, field, LEN);
    let start = buf.len();
    body(buf);
    let len = buf.len() - start;
    let mut prefix = Vec::with_capacity(10);
    varint(&mut prefix, len as u64);
    buf.splice(start..start, prefix);
}

/// `repeated fixed64` / `repeated double`, packed.
pub fn packed_fixed64(buf: &mut Vec<u8>, field: u32, values: impl ExactSizeIterator<Item = u64>) {
    key(buf, field, LEN);
    varint(buf, (values.len() * 8) as u64);
    for v in values {
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

/// `repeated uint64`, packed.
pub fn packed_varint(buf: &mut Vec<u8>, field: u32, values: &[u64]) {
    message(buf, field, |b| {
        for v in values {
            varint(b, *v);
        }
    });
}

/// One decoded field value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

impl<'a> Value<'a> {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Varint(v) | Value::Fixed64(v) => Some(v),
            Value::Fixed32(v) => Some(u64::from(v)),
            Value::Bytes(_) => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Fixed64(v) => Some(f64::from_bits(v)),
            _ => None,
        }
    }

    pub fn as_sint(&self) -> Option<i64> {
        match *self {
            Value::Varint(v) => Some(((v >> 1) as i64) ^ -((v & 1) as i64)),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&'a str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }
}

/// Malformed protobuf input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed protobuf at byte {0}")]
pub struct DecodeError(pub usize);

fn read_varint(data: &[u8], pos: &mut usize) -> Result<u64, DecodeError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos).ok_or(DecodeError(*pos))?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err(DecodeError(*pos))
}

fn take<'a>(data: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], DecodeError> {
    let end = pos.checked_add(n).ok_or(DecodeError(*pos))?;
    let s = data.get(*pos..end).ok_or(DecodeError(*pos))?;
    *pos = end;
    Ok(s)
}

/// Every `(field number, value)` of one message, in wire order.
pub fn fields(data: &[u8]) -> Result<Vec<(u32, Value<'_>)>, DecodeError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let k = read_varint(data, &mut pos)?;
        let field = (k >> 3) as u32;
        let value = match (k & 7) as u8 {
            VARINT => Value::Varint(read_varint(data, &mut pos)?),
            FIXED64 => {
                let b = take(data, &mut pos, 8)?;
                Value::Fixed64(u64::from_le_bytes(
                    b.try_into().map_err(|_| DecodeError(pos))?,
                ))
            }
            LEN => {
                let n = read_varint(data, &mut pos)? as usize;
                Value::Bytes(take(data, &mut pos, n)?)
            }
            FIXED32 => {
                let b = take(data, &mut pos, 4)?;
                Value::Fixed32(u32::from_le_bytes(
                    b.try_into().map_err(|_| DecodeError(pos))?,
                ))
            }
            _ => return Err(DecodeError(pos)),
        };
        out.push((field, value));
    }
    Ok(out)
}

/// The values of one field of a message.
pub fn all<'a>(fields: &[(u32, Value<'a>)], field: u32) -> Vec<Value<'a>> {
    fields
        .iter()
        .filter(|(f, _)| *f == field)
        .map(|(_, v)| *v)
        .collect()
}

/// The last value of one field (proto3: the last one wins).
pub fn one<'a>(fields: &[(u32, Value<'a>)], field: u32) -> Option<Value<'a>> {
    fields
        .iter()
        .rev()
        .find(|(f, _)| *f == field)
        .map(|(_, v)| *v)
}

/// A packed `repeated fixed64`/`double` field.
pub fn unpack_fixed64(data: &[u8]) -> Vec<u64> {
    data.chunks_exact(8)
        .filter_map(|c| c.try_into().ok().map(u64::from_le_bytes))
        .collect()
}

/// A packed `repeated uint64` field.
pub fn unpack_varint(data: &[u8]) -> Result<Vec<u64>, DecodeError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        out.push(read_varint(data, &mut pos)?);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scalars_round_trip() {
        let mut b = Vec::new();
        uint(&mut b, 1, 300);
        sint(&mut b, 2, -3);
        double(&mut b, 3, 2.5);
        string(&mut b, 4, "k6");
        message(&mut b, 5, |m| uint(m, 1, 1));
        packed_varint(&mut b, 6, &[1, 200, 0]);
        // 300 = 0xac 0x02 (the protobuf docs' example)
        assert_eq!(&b[..3], &[0x08, 0xac, 0x02]);
        let f = fields(&b).unwrap();
        assert_eq!(one(&f, 1).unwrap().as_u64(), Some(300));
        assert_eq!(one(&f, 2).unwrap().as_sint(), Some(-3));
        assert_eq!(one(&f, 3).unwrap().as_f64(), Some(2.5));
        assert_eq!(one(&f, 4).unwrap().as_str(), Some("k6"));
        let inner = fields(one(&f, 5).unwrap().as_bytes().unwrap()).unwrap();
        assert_eq!(inner, vec![(1, Value::Varint(1))]);
        let packed = unpack_varint(one(&f, 6).unwrap().as_bytes().unwrap()).unwrap();
        assert_eq!(packed, vec![1, 200, 0]);
    }

    #[test]
    fn long_nested_message_gets_a_two_byte_length() {
        let mut b = Vec::new();
        message(&mut b, 1, |m| string(m, 1, &"x".repeat(200)));
        let f = fields(&b).unwrap();
        let inner = fields(one(&f, 1).unwrap().as_bytes().unwrap()).unwrap();
        assert_eq!(one(&inner, 1).unwrap().as_str().map(str::len), Some(200));
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut b = Vec::new();
        string(&mut b, 1, "hello");
        for cut in 0..b.len() {
            let _ = fields(&b[..cut]);
        }
        assert!(fields(&b[..3]).is_err());
        assert!(fields(&[0xff; 11]).is_err());
    }
}
