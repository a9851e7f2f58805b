//! The author SDK: implement [`Plugin`] and [`Output`] as plain Rust, then call
//! [`export_plugin!`](crate::export_plugin).
//!
//! Every call that crosses the boundary goes through [`OutputAdapter`], which catches panics: a
//! panic becomes an error (or [`WriteStatus::Fatal`]) the host reports, never an abort. After a
//! panic the instance is considered poisoned and refuses further calls.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RBox, RResult, RString},
};

use crate::abi::{
    Batch, HostBox, LogLevel, OutputBox, OutputDescriptor, OutputFfi, OutputFfi_TO, OutputInit,
    PluginError, PluginInfo, RunOutcome, WriteStatus, API_VERSION,
};

/// The counter (for [`Host::add_counter`]) of samples the output accepted with
/// [`WriteStatus::Ok`] but then lost (a write error after buffering, data still unsent when
/// the stop deadline came). The host moves them from `written` to `dropped.lost`.
pub const COUNTER_SAMPLES_LOST: &str = "samples_lost";
/// The counter of samples the server refused for good (e.g. a 400 for the batch that held
/// them). The host moves them from `written` to `dropped.rejected`.
pub const COUNTER_SAMPLES_REJECTED: &str = "samples_rejected";

/// The host's services, as a cheap-to-clone handle a plugin may keep and use from any thread.
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostBox>,
}

impl Host {
    pub fn new(inner: HostBox) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        self.inner.log(level, RString::from(message.into()));
    }

    pub fn error(&self, message: impl Into<String>) {
        self.log(LogLevel::Error, message);
    }

    pub fn warn(&self, message: impl Into<String>) {
        self.log(LogLevel::Warn, message);
    }

    pub fn info(&self, message: impl Into<String>) {
        self.log(LogLevel::Info, message);
    }

    pub fn debug(&self, message: impl Into<String>) {
        self.log(LogLevel::Debug, message);
    }

    /// Adds to a counter of the plugin's own, reported with the output's self-metrics.
    pub fn add_counter(&self, name: &str, delta: u64) {
        self.inner.add_counter(RString::from(name), delta);
    }

    /// [`Host::add_counter`], shorter: `host.count(COUNTER_SAMPLES_LOST, n)`.
    pub fn count(&self, name: &str, n: u64) {
        self.add_counter(name, n);
    }

    /// Asks the host to stop the test; `false` if the user did not allow it for this output.
    pub fn request_abort(&self, reason: impl Into<String>) -> bool {
        self.inner.request_abort(RString::from(reason.into()))
    }

    /// How long the host still waits for this output once it has begun stopping it (since
    /// API 1.2): `None` while the run goes on, then the time left before the stop deadline
    /// (zero once passed), after which the host abandons an output that is still busy. A
    /// request started in `write` should not outlive it: cap its timeout by this (minus a
    /// small margin), as `flush`/`stop` already cap theirs by the time they are given.
    ///
    /// `None` too under a host older than 1.2, which does not offer it: the call is answered
    /// by the plugin side (abi_stable's fallback for an optional method), never a crash.
    pub fn stop_time_left(&self) -> Option<Duration> {
        self.inner
            .stop_time_left_ms()
            .into_option()
            .map(Duration::from_millis)
    }

    /// [`Host::stop_time_left`] as an instant: when the host gives up on this output.
    pub fn stop_deadline(&self) -> Option<Instant> {
        self.stop_time_left()
            .and_then(|left| Instant::now().checked_add(left))
    }
}

/// One output instance, written as plain Rust. The host calls it from one thread at a time.
pub trait Output: Send + 'static {
    /// Called once before the first `write`. Connect, create tables, spawn threads here.
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        let _ = host;
        Ok(())
    }

    /// Takes a batch. The batch is borrowed: copy what must outlive the call.
    fn write(&mut self, batch: Batch<'_>) -> WriteStatus;

    /// Writes out what is buffered, within `timeout`.
    fn flush(&mut self, timeout: Duration) -> Result<(), PluginError> {
        let _ = timeout;
        Ok(())
    }

    /// The last call: write out everything held, within `timeout`, and release resources.
    fn stop(&mut self, outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError>;
}

/// A plugin library: its identity, the outputs it provides and how to build them.
pub trait Plugin {
    /// The plugin's name, e.g. `out_influxdb`.
    const NAME: &'static str;
    /// The plugin's own version.
    const VERSION: &'static str;
    /// The outputs this plugin provides: names, aliases, description and (since 1.3) options.
    /// The one declaration: [`Plugin::outputs`] is derived from it, and
    /// [`export_plugin!`](crate::export_plugin) writes its names into the library file so that
    /// the host finds which file provides `-o NAME` without loading every plugin on its path
    /// (see [`crate::declaration`]). Empty (the default), the host finds the plugin by its file
    /// name `libout_NAME.so`, or else by loading it, and `outputs()` must be written by hand.
    const DECLARED_OUTPUTS: &'static [crate::declaration::DeclaredOutput] = &[];

    /// What `loadrun plugins info` shows. Derived from [`Plugin::DECLARED_OUTPUTS`]; override
    /// only for a plugin that declares nothing.
    fn outputs() -> Vec<OutputDescriptor> {
        Self::DECLARED_OUTPUTS
            .iter()
            .map(crate::declaration::DeclaredOutput::descriptor)
            .collect()
    }

    /// The declaration of the output `init` asks for (by name or alias).
    fn declared(name: &str) -> Option<&'static crate::declaration::DeclaredOutput> {
        Self::DECLARED_OUTPUTS.iter().find(|d| d.is_called(name))
    }

    /// Builds an output. Validate every option here: an error stops the run before it starts.
    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError>;
}

/// Wraps an SDK [`Output`] into the ABI's [`OutputFfi`], containing panics.
pub struct OutputAdapter {
    inner: Box<dyn Output>,
    poisoned: Option<String>,
}

impl OutputAdapter {
    pub fn new(inner: Box<dyn Output>) -> Self {
        Self {
            inner,
            poisoned: None,
        }
    }

    /// The adapter as the host-facing trait object.
    pub fn into_ffi(inner: Box<dyn Output>) -> OutputBox {
        OutputFfi_TO::from_value(Self::new(inner), TD_Opaque)
    }

    fn guarded<T>(
        &mut self,
        what: &str,
        call: impl FnOnce(&mut dyn Output) -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        if let Some(panic) = &self.poisoned {
            return Err(PluginError::new(format!(
                "output is unusable after an earlier panic: {panic}"
            )));
        }
        let inner = &mut self.inner;
        match catch_unwind(AssertUnwindSafe(|| call(inner.as_mut()))) {
            Ok(result) => result,
            Err(payload) => {
                let message = format!("panicked in {what}: {}", panic_message(&*payload));
                self.poisoned = Some(message.clone());
                Err(PluginError::new(message))
            }
        }
    }
}

impl OutputFfi for OutputAdapter {
    fn start(&mut self, host: HostBox) -> RResult<(), PluginError> {
        let host = Host::new(host);
        install_panic_hook();
        self.guarded("start", |o| o.start(host)).into()
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        match self.guarded("write", |o| Ok(o.write(batch))) {
            Ok(status) => status,
            Err(e) => WriteStatus::Fatal(e),
        }
    }

    fn flush(&mut self, timeout_ms: u64) -> RResult<(), PluginError> {
        self.guarded("flush", |o| o.flush(Duration::from_millis(timeout_ms)))
            .into()
    }

    fn stop(&mut self, outcome: &RunOutcome, timeout_ms: u64) -> RResult<(), PluginError> {
        self.guarded("stop", |o| {
            o.stop(outcome, Duration::from_millis(timeout_ms))
        })
        .into()
    }
}

/// Turns a panic payload into text.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Each plugin carries its own copy of std and so its own panic hook: the default one prints a
/// message and backtrace to stderr on top of the error the host already reports. Silence it; the
/// adapter turns the panic into an error with the same message.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("LOADRUN_PLUGIN_PANIC_BACKTRACE").is_none() {
            std::panic::set_hook(Box::new(|_| {}));
        }
    });
}

/// Builds the [`PluginInfo`] for a plugin type.
pub fn plugin_info<P: Plugin>() -> PluginInfo {
    match catch_unwind(P::outputs) {
        Ok(outputs) => PluginInfo {
            name: P::NAME.into(),
            version: P::VERSION.into(),
            api_version: API_VERSION.into(),
            outputs: outputs.into(),
        },
        Err(_) => PluginInfo {
            name: P::NAME.into(),
            version: P::VERSION.into(),
            api_version: API_VERSION.into(),
            outputs: Vec::new().into(),
        },
    }
}

/// The JSON of [`Plugin::DECLARED_OUTPUTS`] with their options, for the root module.
pub fn declaration_json<P: Plugin>() -> RString {
    catch_unwind(|| crate::declaration::options_json(P::DECLARED_OUTPUTS))
        .unwrap_or_default()
        .into()
}

/// Calls a plugin's constructor with panics contained.
pub fn new_output<P: Plugin>(init: OutputInit) -> RResult<OutputBox, PluginError> {
    install_panic_hook();
    match catch_unwind(AssertUnwindSafe(|| P::new_output(init))) {
        Ok(Ok(output)) => RResult::ROk(OutputAdapter::into_ffi(output)),
        Ok(Err(e)) => RResult::RErr(e),
        Err(payload) => RResult::RErr(PluginError::new(format!(
            "panicked in new_output: {}",
            panic_message(&*payload)
        ))),
    }
}

/// Keeps `RBox` reachable for the macro without making authors import abi_stable.
#[doc(hidden)]
pub type __RBox<T> = RBox<T>;

/// Exports a [`Plugin`] as this library's root module.
///
/// ```ignore
/// loadrun_plugin_api::export_plugin!(MyPlugin);
/// ```
///
/// Why abi_stable is pinned exactly (`=0.11.3` in the workspace manifest): this macro expands,
/// in the plugin's crate, to abi_stable's own loader symbol and `LibHeader`, whose name and
/// layout abi_stable may change in any release, patch ones included. Host and plugins must
/// therefore be built with the very same abi_stable, or the host's `lib_header_from_path` does
/// not find or does not accept the header; a caret requirement would let a plugin drift.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub mod __loadrun_plugin_export {
            use super::*;
            use $crate::__private::abi_stable;

            extern "C" fn __info() -> $crate::abi::PluginInfo {
                $crate::sdk::plugin_info::<$plugin>()
            }

            extern "C" fn __new_output(
                init: $crate::abi::OutputInit,
            ) -> abi_stable::std_types::RResult<$crate::abi::OutputBox, $crate::abi::PluginError>
            {
                $crate::sdk::new_output::<$plugin>(init)
            }

            extern "C" fn __declaration() -> abi_stable::std_types::RString {
                $crate::sdk::declaration_json::<$plugin>()
            }

            fn __root_module() -> $crate::abi::PluginModuleRef {
                use abi_stable::prefix_type::PrefixTypeTrait;
                $crate::abi::PluginModule {
                    info: __info,
                    new_output: __new_output,
                    declaration: __declaration,
                }
                .leak_into_prefix()
            }

            const __DECLARATION_LEN: usize = $crate::declaration::encoded_len(
                <$plugin as $crate::sdk::Plugin>::NAME,
                <$plugin as $crate::sdk::Plugin>::VERSION,
                $crate::abi::API_VERSION,
                <$plugin as $crate::sdk::Plugin>::DECLARED_OUTPUTS,
            );

            // Read by the host from the file, never through this symbol; exported only so the
            // linker keeps the section.
            #[no_mangle]
            #[used]
            #[cfg_attr(
                not(any(target_vendor = "apple", target_os = "windows")),
                link_section = ".loadrun_outputs"
            )]
            pub static LOADRUN_DECLARED_OUTPUTS: [u8; __DECLARATION_LEN] =
                $crate::declaration::encode::<__DECLARATION_LEN>(
                    <$plugin as $crate::sdk::Plugin>::NAME,
                    <$plugin as $crate::sdk::Plugin>::VERSION,
                    $crate::abi::API_VERSION,
                    <$plugin as $crate::sdk::Plugin>::DECLARED_OUTPUTS,
                );

            #[no_mangle]
            pub static _1as_0lib_1header_0root_bmodule_bloader: abi_stable::library::LibHeader = {
                pub extern "C" fn _sabi_erased_module() -> abi_stable::library::RootModuleResult {
                    abi_stable::library::__call_root_module_loader(__root_module)
                }
                unsafe {
                    abi_stable::library::LibHeader::from_constructor::<$crate::abi::PluginModuleRef>(
                        _sabi_erased_module,
                        abi_stable::library::CheckTypeLayout::Yes,
                    )
                }
            };
        }
    };
}

/// Builds the root module of a plugin compiled into the host (the bundled outputs): the same
/// module a `.so` would export, without the library header.
pub fn in_process_module<P: Plugin>() -> crate::abi::PluginModuleRef {
    use abi_stable::prefix_type::PrefixTypeTrait;
    extern "C" fn info<P: Plugin>() -> PluginInfo {
        plugin_info::<P>()
    }
    extern "C" fn make<P: Plugin>(init: OutputInit) -> RResult<OutputBox, PluginError> {
        new_output::<P>(init)
    }
    extern "C" fn declaration<P: Plugin>() -> RString {
        declaration_json::<P>()
    }
    crate::abi::PluginModule {
        info: info::<P>,
        new_output: make::<P>,
        declaration: declaration::<P>,
    }
    .leak_into_prefix()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use abi_stable::std_types::{ROption, RString};

    use super::*;
    use crate::abi::{HostApi, HostApi_TO};

    /// `HostApi` as API 1.1 declared it: the same methods up to `last_prefix_field`, nothing
    /// after. Its vtable is what a 1.1 host hands a plugin.
    #[allow(non_local_definitions)]
    mod v1_1 {
        use abi_stable::{sabi_trait, std_types::RString};

        use crate::abi::LogLevel;

        #[sabi_trait]
        pub trait HostApi: Send + Sync {
            fn log(&self, level: LogLevel, message: RString);
            fn add_counter(&self, name: RString, delta: u64);
            #[sabi(last_prefix_field)]
            fn request_abort(&self, reason: RString) -> bool;
        }
    }

    struct OldHost(Arc<AtomicU64>);

    impl v1_1::HostApi for OldHost {
        fn log(&self, _level: LogLevel, _message: RString) {}
        fn add_counter(&self, _name: RString, delta: u64) {
            self.0.fetch_add(delta, Ordering::Relaxed);
        }
        fn request_abort(&self, _reason: RString) -> bool {
            true
        }
    }

    struct NewHost(Option<u64>);

    impl HostApi for NewHost {
        fn log(&self, _level: LogLevel, _message: RString) {}
        fn add_counter(&self, _name: RString, _delta: u64) {}
        fn request_abort(&self, _reason: RString) -> bool {
            false
        }
        fn stop_time_left_ms(&self) -> ROption<u64> {
            self.0.into()
        }
    }

    #[test]
    fn stop_time_left_is_what_the_host_says() {
        let running = Host::new(HostApi_TO::from_value(NewHost(None), TD_Opaque));
        assert_eq!(running.stop_time_left(), None);
        assert_eq!(running.stop_deadline(), None);
        let stopping = Host::new(HostApi_TO::from_value(NewHost(Some(1500)), TD_Opaque));
        assert_eq!(stopping.stop_time_left(), Some(Duration::from_millis(1500)));
        let at = stopping.stop_deadline().unwrap();
        assert!(at > Instant::now() + Duration::from_millis(1000));
        // A time left too large to add to now does not panic the plugin.
        let huge = Host::new(HostApi_TO::from_value(NewHost(Some(u64::MAX)), TD_Opaque));
        assert!(huge.stop_time_left().is_some());
        let _ = huge.stop_deadline();
    }

    /// A 1.2 plugin under a 1.1 host: the vtable it is handed ends at `request_abort`. Calling
    /// the 1.2 method through it runs the trait's default body (None) instead of reading past
    /// the vtable, and the older methods still reach the host.
    #[test]
    fn an_older_hosts_vtable_answers_none_instead_of_crashing() {
        let counted = Arc::new(AtomicU64::new(0));
        let old = v1_1::HostApi_TO::from_value(OldHost(counted.clone()), TD_Opaque);
        // SAFETY: both are `RObject<'static, RBox<()>, _, VTable_Ref>` over vtables with the same
        // prefix (the same methods in the same order up to `last_prefix_field`): exactly what
        // abi_stable's load-time check lets a 1.2 plugin receive from a 1.1 host. Only the
        // vtable's length differs, which is what the optional method's accessor checks.
        let as_new: HostBox = unsafe { std::mem::transmute(old) };
        let host = Host::new(as_new);
        host.add_counter("x", 3);
        assert_eq!(counted.load(Ordering::Relaxed), 3);
        assert!(host.request_abort("why"));
        assert_eq!(host.stop_time_left(), None);
        assert_eq!(host.stop_deadline(), None);
    }
}
