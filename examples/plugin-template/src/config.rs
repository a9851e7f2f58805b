//! The options of `-o counts`: declared once (for `loadrun plugins info`) and read into a typed
//! [`Config`], so a bad value stops the run before it starts.

use loadrun_plugin_api::abi::OptionDoc;
use loadrun_plugin_api::{Options, OutputInit, PluginError};

const FILE_DEFAULT: &str = "counts.tsv";
const FILE_ENV: &str = "COUNTS_FILE";

/// What `loadrun plugins info` shows.
pub fn option_docs() -> Vec<OptionDoc> {
    vec![OptionDoc {
        name: "file".into(),
        env: FILE_ENV.into(),
        default: FILE_DEFAULT.into(),
        description: "where to write the counts (also accepted as -o counts=FILE)".into(),
        secret: false,
    }]
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub file: String,
}

impl Config {
    /// Plan table < environment < `-o` argument, as every output.
    pub fn parse(init: &OutputInit) -> Result<Self, PluginError> {
        let options = Options::from_init(init)?;
        options.reject_unknown(&["file"])?;
        let file = match options.positional() {
            Some(p) => p.to_string(),
            None => options.get_or("file", &[FILE_ENV], FILE_DEFAULT),
        };
        Ok(Self { file })
    }
}
