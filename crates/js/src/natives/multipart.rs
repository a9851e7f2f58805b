//! The `multipart/form-data` body k6 sends for an object body that holds an `http.file()`:
//! Go's `mime/multipart` framing, with a random 60-hex-digit boundary as Go makes.

use std::fmt::Write as _;

use rand::Rng;
use rquickjs::{Array, ArrayBuffer, Ctx, Function, Object, Result, Value};

pub(crate) fn install<'js>(ctx: &Ctx<'js>, l: &Object<'js>) -> Result<()> {
    l.set(
        "multipart",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, parts: Array<'js>| {
            multipart(&ctx, &parts)
        })?,
    )?;
    Ok(())
}

/// One field: its name, its data, and for a file its file name and content type.
struct Part {
    name: String,
    data: Vec<u8>,
    file: Option<(String, String)>,
}

/// `parts` is `[[name, data, filename|null, contentType|null], ...]`; the answer is
/// `[body (ArrayBuffer), Content-Type header]`.
fn multipart<'js>(ctx: &Ctx<'js>, parts: &Array<'js>) -> Result<Array<'js>> {
    let mut list = Vec::with_capacity(parts.len());
    for p in parts.iter::<Array<'js>>() {
        let p = p?;
        let name: String = p.get(0)?;
        let data: Value<'js> = p.get(1)?;
        let filename: Option<String> = p.get(2)?;
        let content_type: Option<String> = p.get(3)?;
        list.push(Part {
            name,
            data: super::bytes::of(ctx, "http.file() data", &data)?,
            file: filename.map(|f| (f, content_type.unwrap_or_default())),
        });
    }
    let boundary = boundary();
    let body = encode(&boundary, &list);
    let out = Array::new(ctx.clone())?;
    out.set(0, ArrayBuffer::new(ctx.clone(), body)?)?;
    out.set(1, format!("multipart/form-data; boundary={boundary}"))?;
    Ok(out)
}

fn boundary() -> String {
    let mut rng = rand::thread_rng();
    let mut s = String::with_capacity(60);
    for _ in 0..30 {
        let _ = write!(s, "{:02x}", rng.gen::<u8>());
    }
    s
}

/// Go's `quoteEscaper`: a name or file name inside a quoted header parameter.
fn escape_quotes(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn encode(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        let head = match &p.file {
            // k6 writes a file part's field name unescaped, its file name escaped.
            Some((filename, content_type)) => format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                p.name,
                escape_quotes(filename),
                content_type
            ),
            None => format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n",
                escape_quotes(&p.name)
            ),
        };
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&p.data);
    }
    let _ = write!(
        WriteBytes(&mut out),
        "{}--{boundary}--\r\n",
        if parts.is_empty() { "" } else { "\r\n" }
    );
    out
}

struct WriteBytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for WriteBytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_multipart_framing() {
        let parts = [
            Part {
                name: "field".into(),
                data: b"v".to_vec(),
                file: None,
            },
            Part {
                name: "file".into(),
                data: vec![0, 255],
                file: Some(("a\"b.bin".into(), "application/octet-stream".into())),
            },
        ];
        let body = encode("B", &parts);
        let mut want = b"--B\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nv\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\\\"b.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
        want.extend_from_slice(&[0, 255]);
        want.extend_from_slice(b"\r\n--B--\r\n");
        assert_eq!(body, want);
        assert_eq!(boundary().len(), 60);
    }
}
