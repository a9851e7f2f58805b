//! The out-of-process contract, defined once: the host ([`super::ProcessOutput`]), the
//! conformance kit and the templates in other languages all follow what is written here.
//!
//! The host starts the executable with stdin and stdout as pipes (stderr goes to the log).
//! The child first writes one line, [`HANDSHAKE_PREFIX`] and its API version
//! (`loadrun-output 1.3\n`). From then on both sides exchange frames: a 5-byte header, the
//! payload's length as a little-endian `u32` then a [`kind`] byte, then the payload.
//!
//! Host to child, in this order: [`kind::INFO`] (any number of times), then for one output
//! instance [`kind::INIT`], [`kind::START`], any number of writes ([`kind::DEFS`] when there
//! are new definitions, then [`kind::SAMPLES`]) and [`kind::FLUSH`]es, and [`kind::STOP`].
//! The host then closes stdin; the child exits. Every frame but `DEFS` gets exactly one
//! reply: [`kind::OK`], [`kind::RETRY`] (writes only) or [`kind::ERROR`]. Before its reply the
//! child may send any number of [`kind::LOG`], [`kind::COUNTER`] and [`kind::ABORT`] frames.
//!
//! Payloads are UTF-8 JSON, except `SAMPLES`: the samples as raw little-endian records of
//! [`SAMPLE_SIZE`] bytes, the layout of [`Sample`] (`u32` series, `u32` reserved, `i64` unix
//! ns, `f64` value), so a little-endian host writes its slice as it is.

use std::io::{self, Read, Write};

use crate::abi::Sample;

/// What the child's first line starts with; the API version follows after one space.
pub const HANDSHAKE_PREFIX: &str = "loadrun-output";
/// The longest handshake line accepted, newline included.
pub const MAX_HANDSHAKE: usize = 256;
/// The largest frame a child may send: anything longer is garbage, not a reply.
pub const MAX_CHILD_FRAME: u32 = 16 << 20;
/// Bytes of one sample in a `SAMPLES` payload.
pub const SAMPLE_SIZE: usize = 24;
/// Bytes of a frame header.
pub const HEADER_SIZE: usize = 5;

/// Frame kinds. Host to child below `0x80`, child to host from `0x80`.
pub mod kind {
    /// `{}` → `OK` with the plugin document: `{"format":1,"plugin","version","api","outputs"}`,
    /// `outputs` as in [`crate::declaration::options_json`].
    pub const INFO: u8 = 0x01;
    /// `{"output","arg","config","options","test"}` → `OK` or `ERROR` (the options refused).
    pub const INIT: u8 = 0x02;
    /// `{}` → `OK` or `ERROR`.
    pub const START: u8 = 0x03;
    /// `{"metrics":[…],"series":[…]}`: definitions the next `SAMPLES` uses. No reply.
    pub const DEFS: u8 = 0x04;
    /// Raw samples → `OK`, `RETRY` or `ERROR` (fatal: the output is quarantined).
    pub const SAMPLES: u8 = 0x05;
    /// `{"timeoutMs"}` → `OK` or `ERROR`.
    pub const FLUSH: u8 = 0x06;
    /// `{"timeoutMs","outcome":{"passed","reason","durationMs","thresholds"}}` → `OK` or `ERROR`.
    pub const STOP: u8 = 0x07;

    /// The call succeeded; payload empty or, for `INFO`, the plugin document.
    pub const OK: u8 = 0x80;
    /// `{"afterMs": n|null, "reason"}`: write the same batch again later.
    pub const RETRY: u8 = 0x81;
    /// `{"reason"}`: the call failed.
    pub const ERROR: u8 = 0x82;
    /// `{"level":"error|warn|info|debug|trace","message"}`.
    pub const LOG: u8 = 0x90;
    /// `{"name","delta"}`: adds to a counter (`samples_lost`, `samples_rejected`, or its own).
    pub const COUNTER: u8 = 0x91;
    /// `{"reason"}`: asks the host to stop the test (honoured with `abortOnError=true`).
    pub const ABORT: u8 = 0x92;
}

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
    let mut header = [0u8; HEADER_SIZE];
    header[..4].copy_from_slice(&len.to_le_bytes());
    header[4] = kind;
    w.write_all(&header)?;
    w.write_all(payload)
}

/// Writes a `SAMPLES` frame: on a little-endian machine the slice itself, without copying.
pub fn write_samples(w: &mut impl Write, samples: &[Sample]) -> io::Result<()> {
    let len = u32::try_from(samples.len() * SAMPLE_SIZE)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "batch over 4 GiB"))?;
    let mut header = [0u8; HEADER_SIZE];
    header[..4].copy_from_slice(&len.to_le_bytes());
    header[4] = kind::SAMPLES;
    w.write_all(&header)?;
    w.write_all(&sample_bytes(samples))
}

#[cfg(target_endian = "little")]
fn sample_bytes(samples: &[Sample]) -> std::borrow::Cow<'_, [u8]> {
    const _: () = assert!(std::mem::size_of::<Sample>() == SAMPLE_SIZE);
    // SAFETY: `Sample` is `repr(C)`, 24 bytes without padding (u32, u32, i64, f64), so its
    // memory is exactly the little-endian records of the contract on this machine.
    std::borrow::Cow::Borrowed(unsafe {
        std::slice::from_raw_parts(
            samples.as_ptr().cast::<u8>(),
            std::mem::size_of_val(samples),
        )
    })
}

#[cfg(target_endian = "big")]
fn sample_bytes(samples: &[Sample]) -> std::borrow::Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(samples.len() * SAMPLE_SIZE);
    for s in samples {
        out.extend_from_slice(&s.series.to_le_bytes());
        out.extend_from_slice(&s._reserved.to_le_bytes());
        out.extend_from_slice(&s.time_ns.to_le_bytes());
        out.extend_from_slice(&s.value.to_le_bytes());
    }
    std::borrow::Cow::Owned(out)
}

/// Reads samples back from a `SAMPLES` payload (the child's side, and tests).
pub fn read_samples(payload: &[u8]) -> Vec<Sample> {
    payload
        .chunks_exact(SAMPLE_SIZE)
        .map(|c| {
            let u32_at = |i: usize| u32::from_le_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
            let u64_at = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&c[i..i + 8]);
                u64::from_le_bytes(b)
            };
            Sample {
                series: u32_at(0),
                _reserved: u32_at(4),
                time_ns: u64_at(8) as i64,
                value: f64::from_bits(u64_at(16)),
            }
        })
        .collect()
}

/// Why the child's output is not the contract's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The child closed its stdout (it exited, or will).
    Closed,
    /// Bytes that are not a frame of the contract.
    Garbage(String),
}

/// Reads the handshake line; returns the API version the child speaks.
pub fn read_handshake(r: &mut impl Read) -> Result<String, ReadError> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match r.read(&mut byte) {
            Ok(0) if line.is_empty() => return Err(ReadError::Closed),
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(ReadError::Closed),
        }
        if line.len() >= MAX_HANDSHAKE {
            return Err(ReadError::Garbage(format!(
                "bad handshake: no newline in its first {MAX_HANDSHAKE} bytes"
            )));
        }
    }
    let text = String::from_utf8_lossy(&line);
    let text = text.trim_end_matches('\r');
    let version = text
        .strip_prefix(HANDSHAKE_PREFIX)
        .and_then(|rest| rest.strip_prefix(' '))
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.split('.').all(|p| p.parse::<u32>().is_ok()));
    match version {
        Some(v) => Ok(v.to_string()),
        None => Err(ReadError::Garbage(format!(
            "bad handshake: expected `{HANDSHAKE_PREFIX} <version>`, got {:?}",
            shorten(text)
        ))),
    }
}

/// Reads one frame of a child: its kind and payload.
pub fn read_frame(r: &mut impl Read) -> Result<(u8, Vec<u8>), ReadError> {
    let mut header = [0u8; HEADER_SIZE];
    match read_exact_or_eof(r, &mut header) {
        Ok(true) => {}
        Ok(false) => return Err(ReadError::Closed),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let kind = header[4];
    if !(kind::OK..=kind::ERROR).contains(&kind) && !(kind::LOG..=kind::ABORT).contains(&kind) {
        return Err(ReadError::Garbage(format!(
            "unknown frame kind 0x{kind:02x} (header {})",
            hex(&header)
        )));
    }
    if len > MAX_CHILD_FRAME {
        return Err(ReadError::Garbage(format!(
            "a frame of {len} bytes, over the {MAX_CHILD_FRAME} allowed (header {})",
            hex(&header)
        )));
    }
    let mut payload = vec![0u8; len as usize];
    match read_exact_or_eof(r, &mut payload) {
        Ok(true) => Ok((kind, payload)),
        Ok(false) => Err(ReadError::Garbage(format!(
            "stdout closed inside a frame of {len} bytes"
        ))),
        Err(e) => Err(e),
    }
}

/// `Ok(false)` at a clean end of stream before the first byte.
fn read_exact_or_eof(r: &mut impl Read, buf: &mut [u8]) -> Result<bool, ReadError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => {
                return Err(ReadError::Garbage(format!(
                    "stdout closed after {got} of {} bytes",
                    buf.len()
                )))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(ReadError::Closed),
        }
    }
    Ok(true)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// At most 80 characters of what a child said, for a one-line message.
pub fn shorten(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn samples_cross_as_little_endian_records() {
        let samples = [
            Sample::new(7, -3, 1.5),
            Sample::new(u32::MAX, i64::MAX, -0.0),
        ];
        let mut buf = Vec::new();
        write_samples(&mut buf, &samples).unwrap();
        assert_eq!(&buf[..4], &48u32.to_le_bytes());
        assert_eq!(buf[4], kind::SAMPLES);
        assert_eq!(&buf[5..9], &7u32.to_le_bytes());
        assert_eq!(&buf[13..21], &(-3i64).to_le_bytes());
        assert_eq!(read_samples(&buf[5..]), samples);
    }

    #[test]
    fn handshakes_are_read_or_refused_in_one_line() {
        assert_eq!(
            read_handshake(&mut &b"loadrun-output 1.3\n"[..]),
            Ok("1.3".into())
        );
        assert_eq!(
            read_handshake(&mut &b"loadrun-output 1.3.0\r\n"[..]),
            Ok("1.3.0".into())
        );
        assert_eq!(read_handshake(&mut &b""[..]), Err(ReadError::Closed));
        let Err(ReadError::Garbage(e)) = read_handshake(&mut &b"hello world\n"[..]) else {
            panic!("garbage accepted");
        };
        assert!(e.contains("\"hello world\""), "{e}");
        let long = vec![b'x'; 1000];
        assert!(matches!(
            read_handshake(&mut &long[..]),
            Err(ReadError::Garbage(_))
        ));
    }

    #[test]
    fn frames_that_are_not_the_contracts_are_garbage() {
        let mut ok = Vec::new();
        write_frame(&mut ok, kind::OK, b"{}").unwrap();
        assert_eq!(read_frame(&mut &ok[..]), Ok((kind::OK, b"{}".to_vec())));
        assert_eq!(read_frame(&mut &b""[..]), Err(ReadError::Closed));
        assert!(matches!(
            read_frame(&mut &b"Traceback (most recent"[..]),
            Err(ReadError::Garbage(_))
        ));
        let huge = [0xff, 0xff, 0xff, 0x7f, kind::OK];
        assert!(matches!(
            read_frame(&mut &huge[..]),
            Err(ReadError::Garbage(_))
        ));
        assert!(matches!(
            read_frame(&mut &ok[..6]),
            Err(ReadError::Garbage(_))
        ));
    }
}
