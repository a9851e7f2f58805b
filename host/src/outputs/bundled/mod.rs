//! Outputs compiled into the host, registered through the same plugin API as external ones.

pub mod dashboard;
mod null;

use loadrun_plugin_api::abi::PluginModuleRef;
use loadrun_plugin_api::sdk::in_process_module;

/// The root modules of the bundled plugins.
pub fn modules() -> Vec<PluginModuleRef> {
    vec![
        in_process_module::<null::NullPlugin>(),
        in_process_module::<out_csv::CsvPlugin>(),
        in_process_module::<out_json::JsonPlugin>(),
        in_process_module::<out_web_dashboard::DashboardPlugin>(),
    ]
}
