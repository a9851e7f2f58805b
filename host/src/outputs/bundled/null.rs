//! `-o null`: accepts and discards every sample. For measuring the pipeline, and for checking
//! a plan's outputs wiring without a backend.

use std::time::Duration;

use loadrun_plugin_api::{
    Batch, Host, Output, OutputDescriptor, OutputInit, Plugin, PluginError, RunOutcome, WriteStatus,
};

pub struct NullPlugin;

impl Plugin for NullPlugin {
    const NAME: &'static str = "bundled-null";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn outputs() -> Vec<OutputDescriptor> {
        vec![OutputDescriptor {
            name: "null".into(),
            aliases: Default::default(),
            description: "discards every sample (counts them in the summary)".into(),
            options: Default::default(),
        }]
    }

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        let options = loadrun_plugin_api::Options::from_init(&init)?;
        options.reject_unknown(&[])?;
        if let Some(p) = options.positional() {
            return Err(PluginError::new(format!(
                "null: takes no argument, got {p:?}"
            )));
        }
        Ok(Box::new(NullOutput { host: None }))
    }
}

struct NullOutput {
    host: Option<Host>,
}

impl Output for NullOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        self.host = Some(host);
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        if let Some(h) = &self.host {
            if !batch.samples.is_empty() {
                h.add_counter("samples_discarded", batch.samples.len() as u64);
            }
        }
        WriteStatus::Ok
    }

    fn stop(&mut self, _outcome: &RunOutcome, _timeout: Duration) -> Result<(), PluginError> {
        Ok(())
    }
}
