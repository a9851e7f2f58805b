//! The `loadrun plugins info` text of a file output, without the ABI structs' ceremony.

use loadrun_plugin_api::{OptionDoc, OutputDescriptor};

/// One output, with no alias.
pub fn output(name: &str, description: &str, options: Vec<OptionDoc>) -> Vec<OutputDescriptor> {
    vec![OutputDescriptor {
        name: name.into(),
        aliases: Default::default(),
        description: description.into(),
        options: options.into(),
    }]
}

/// One option; a file output has no secret to hide.
pub fn option(name: &str, env: &str, default: &str, description: &str) -> OptionDoc {
    OptionDoc {
        name: name.into(),
        env: env.into(),
        default: default.into(),
        description: description.into(),
        secret: false,
    }
}
