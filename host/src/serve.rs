//! `loadrun serve`: the built-in httpbin-like test target, standalone.

use std::net::SocketAddr;

#[derive(Debug, clap::Args)]
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
}

pub fn execute(args: ServeArgs) -> anyhow::Result<u8> {
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let server = loadrun_engine::server::TestServer::start(args.listen, threads)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    eprintln!(
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
