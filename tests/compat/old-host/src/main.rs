//! `conformance-host PLUGIN_FILE OUTPUT [ARG]`: runs the conformance kit of the
//! `loadrun-plugin-api` release this is built against on one output of a plugin file, acting as
//! that release's host (its recording host offers that release's `HostApi`, no more), prints the
//! report and the API version, and exits 0 if every check passed.

use loadrun_plugin_api::testkit::Conformance;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, output, arg) = match args.as_slice() {
        [path, output] => (path, output, None),
        [path, output, arg] => (path, output, Some(arg)),
        _ => {
            eprintln!("usage: conformance-host PLUGIN_FILE OUTPUT [ARG]");
            std::process::exit(2);
        }
    };
    let mut kit = Conformance::new(path, output);
    if let Some(arg) = arg {
        kit = kit.arg(arg);
    }
    let report = kit.run();
    print!("{report}");
    println!("host API {}", loadrun_plugin_api::API_VERSION);
    std::process::exit(if report.passed() { 0 } else { 1 });
}
