//! `loadrun serve`: the built-in httpbin-like test target, standalone.

use std::net::SocketAddr;

use clap::builder::TypedValueParser as _;
use loadrun_engine::server::Limits;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Limits: a request head must arrive within 10 s of the connection opening (of its first byte on a
kept-alive connection), else 408 and close; a keep-alive connection idle for 60 s is closed; a
body must arrive within 60 s. Headers built from request data (Location, Set-Cookie) with CR, LF
or other control bytes get 400. Echo responses are at most about 3x the request body plus a few
times its head; /bytes/N is at most 100 MB.")]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        short = 'l',
        default_value = "127.0.0.1:8080",
        value_name = "ADDR:PORT"
    )]
    pub listen: SocketAddr,

    /// Worker threads (default: the CPUs this process may use).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Largest request body in bytes; a larger one gets 413 and is not read.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body)]
    pub max_body: usize,

    /// Connections served at once; further ones wait in the listen backlog until one closes.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections,
          value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub max_connections: usize,
}

pub fn execute(args: ServeArgs) -> anyhow::Result<u8> {
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let limits = Limits {
        max_body: args.max_body,
        max_connections: args.max_connections,
        ..Limits::default()
    };
    let server = loadrun_engine::server::TestServer::start_with(args.listen, threads, limits)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    crate::errln!(
        "loadrun test server listening on {} (Ctrl-C to stop). Endpoints: /get /post /anything \
         /headers /status/CODE /delay/SECONDS /bytes/N /json /redirect/N /redirect-to?url=U \
         /cookies /cookies/set?k=v /cookies/delete?k",
        server.url()
    );
    // The server runs on its own threads; this one only waits for the signal that ends the process.
    loop {
        std::thread::park();
    }
}
