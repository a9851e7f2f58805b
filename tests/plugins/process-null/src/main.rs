//! `loadrun-output-null`: the process face's cost without any output behind it. It answers
//! every call with `OK`, reading each batch into one reused buffer (as any real child must
//! read it) and looking at nothing but the sample count.

use std::io::{self, BufWriter, Read, Write};

use loadrun_plugin_api::process::protocol::{self, kind, HEADER_SIZE, SAMPLE_SIZE};

const INFO: &str = r#"{"format":1,"plugin":"process-null","version":"0.1.0","api":"1.3.0","outputs":[{"name":"process-null","aliases":[],"description":"Reads every sample and keeps none.","positional":null,"modeOption":null,"options":[]}]}"#;

fn main() {
    if let Err(e) = serve() {
        // The host closing the pipes ends the run: nothing to say then.
        if e.kind() != io::ErrorKind::UnexpectedEof && e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("loadrun-output-null: {e}");
            std::process::exit(1);
        }
    }
}

fn serve() -> io::Result<()> {
    let mut input = io::stdin().lock();
    let mut output = BufWriter::new(io::stdout().lock());
    output.write_all(format!("{} 1.3\n", protocol::HANDSHAKE_PREFIX).as_bytes())?;
    output.flush()?;
    let mut payload = Vec::new();
    let mut samples: u64 = 0;
    loop {
        let mut header = [0u8; HEADER_SIZE];
        input.read_exact(&mut header)?;
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        payload.resize(len, 0);
        input.read_exact(&mut payload)?;
        match header[4] {
            kind::DEFS => continue,
            kind::INFO => protocol::write_frame(&mut output, kind::OK, INFO.as_bytes())?,
            kind::SAMPLES => {
                samples += (len / SAMPLE_SIZE) as u64;
                protocol::write_frame(&mut output, kind::OK, b"")?
            }
            kind::STOP => {
                eprintln!("loadrun-output-null: read {samples} samples");
                protocol::write_frame(&mut output, kind::OK, b"")?
            }
            _ => protocol::write_frame(&mut output, kind::OK, b"")?,
        }
        output.flush()?;
    }
}
