//! The options of `-o counts`: declared once in [`OUTPUT`] (what `loadrun plugins info` shows,
//! what the host checks) and read into a typed [`Config`], so a bad value stops the run before
//! it starts.

use loadrun_plugin_api::{
    DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Positional, Values,
};

const OPTIONS: &[OptionSpec] = &[OptionSpec::new("file", Kind::Str)
    .env(&["COUNTS_FILE"])
    .default("counts.tsv")
    .doc("where to write the counts (also accepted as -o counts=FILE)")];

/// The output, as the plugin declares it.
pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("counts", &[])
    .describe("per-metric sample counts, written to a file at the end of the test")
    .options(OPTIONS)
    .positional(Positional::Value("file"));

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub file: String,
}

impl Config {
    /// Default < plan table < environment < `-o` argument, as every output: checked by the
    /// host (or, under a host older than 1.3, by the SDK here).
    pub fn parse(init: &OutputInit) -> Result<Self, PluginError> {
        let v = Values::from_init(init, &OUTPUT)?;
        Ok(Self {
            file: v.string("file")?,
        })
    }
}
