//! The interface of earlier 1.x releases, where its layout differs from this release's: what a
//! host checks a plugin built against such a release against (see [`super::init_root_module`]).
//!
//! abi_stable checks every prefix type reachable from the root module (the module, the
//! `OutputFfi` and `HostApi` vtables) one way: the loader's declaration may have fewer fields
//! than the library's, never more. A plugin built against a newer minor therefore loads in an
//! older host, but a host whose `HostApi` gained a method (1.2) would refuse every plugin built
//! before: its own declaration has more fields than theirs. So the host checks each plugin
//! against the interface of the release it was built against (each frozen here, verbatim for
//! the types that differ), then uses the module through today's types, which differ only by
//! methods appended after `last_prefix_field`.
//!
//! Only what leads from the root module to a difference is repeated; every other type is
//! today's (plain structs never change within a major version). When a later minor appends to
//! a host-built prefix type again, freeze the then-current declarations beside these and extend
//! `init_root_module`.

#![allow(non_local_definitions)] // abi_stable 0.11 derive output

/// 1.0.0 and 1.1.0 (their ABIs are identical): `HostApi` ends at `request_abort`.
pub mod v1_1 {
    use abi_stable::{
        declare_root_module_statics,
        library::RootModule,
        package_version_strings, sabi_trait,
        sabi_types::VersionStrings,
        std_types::{RBox, RResult, RString},
        StableAbi,
    };

    use crate::abi::{
        Batch, LogLevel, OutputInit, PluginError, PluginInfo, RunOutcome, WriteStatus,
    };

    #[sabi_trait]
    pub trait HostApi: Send + Sync {
        fn log(&self, level: LogLevel, message: RString);
        fn add_counter(&self, name: RString, delta: u64);
        #[sabi(last_prefix_field)]
        fn request_abort(&self, reason: RString) -> bool;
    }

    pub type HostBox = HostApi_TO<'static, RBox<()>>;

    #[sabi_trait]
    pub trait OutputFfi: Send {
        fn start(&mut self, host: HostBox) -> RResult<(), PluginError>;
        fn write(&mut self, batch: Batch<'_>) -> WriteStatus;
        fn flush(&mut self, timeout_ms: u64) -> RResult<(), PluginError>;
        #[sabi(last_prefix_field)]
        fn stop(&mut self, outcome: &RunOutcome, timeout_ms: u64) -> RResult<(), PluginError>;
    }

    pub type OutputBox = OutputFfi_TO<'static, RBox<()>>;

    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
    #[sabi(missing_field(panic))]
    pub struct PluginModule {
        pub info: extern "C" fn() -> PluginInfo,
        #[sabi(last_prefix_field)]
        pub new_output: extern "C" fn(init: OutputInit) -> RResult<OutputBox, PluginError>,
    }

    impl RootModule for PluginModuleRef {
        declare_root_module_statics! {PluginModuleRef}
        const BASE_NAME: &'static str = "loadrun_output";
        const NAME: &'static str = "loadrun output plugin";
        const VERSION_STRINGS: VersionStrings = package_version_strings!();
    }
}

/// 1.2.0: the root module ends at `new_output` (1.3 appends `declaration`); `HostApi` and
/// `OutputFfi` are today's.
pub mod v1_2 {
    use abi_stable::{
        declare_root_module_statics, library::RootModule, package_version_strings,
        sabi_types::VersionStrings, std_types::RResult, StableAbi,
    };

    use crate::abi::{OutputBox, OutputInit, PluginError, PluginInfo};

    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
    #[sabi(missing_field(panic))]
    pub struct PluginModule {
        pub info: extern "C" fn() -> PluginInfo,
        #[sabi(last_prefix_field)]
        pub new_output: extern "C" fn(init: OutputInit) -> RResult<OutputBox, PluginError>,
    }

    impl RootModule for PluginModuleRef {
        declare_root_module_statics! {PluginModuleRef}
        const BASE_NAME: &'static str = "loadrun_output";
        const NAME: &'static str = "loadrun output plugin";
        const VERSION_STRINGS: VersionStrings = package_version_strings!();
    }
}
