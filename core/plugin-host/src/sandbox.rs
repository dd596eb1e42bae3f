//! The sandbox every call runs in: one engine with epoch interruption (and
//! fuel when configured), a fresh store per call with a memory cap, and no
//! import but Aegis's own `host` interface — no WASI, so no files, network,
//! environment or clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aegis_core::config::PluginSettings;
use aegis_core::plugins::PluginFault;
use wasmtime::{Config, Engine, ResourceLimiter, Store, Trap};

/// How often the deadline clock ticks.
const TICK: Duration = Duration::from_millis(10);
/// Log lines one call may write; the rest are dropped so a loop cannot flood the log.
const MAX_LOG_LINES: u32 = 100;
/// Longest log line kept, in bytes.
const MAX_LOG_LINE: usize = 2_000;
/// Tables a call may grow to, in elements.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Call limits, from `[plugins]`.
#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout_ms: u64,
    pub memory_bytes: u64,
    pub fuel: Option<u64>,
}

impl Limits {
    pub fn from_settings(settings: &PluginSettings) -> Self {
        Self {
            timeout_ms: settings.call_timeout_ms.max(1),
            memory_bytes: settings.memory_limit_bytes,
            fuel: settings.fuel,
        }
    }
}

/// The engine and the thread that advances its epoch.
pub struct Sandbox {
    pub engine: Engine,
    pub limits: Limits,
    ticker_stop: Arc<AtomicBool>,
}

impl Sandbox {
    pub fn new(limits: Limits) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.consume_fuel(limits.fuel.is_some());
        config.wasm_component_model(true);
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let (ticking, stop) = (engine.clone(), ticker_stop.clone());
        std::thread::Builder::new()
            .name("aegis-plugin-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    ticking.increment_epoch();
                }
            })?;
        Ok(Self {
            engine,
            limits,
            ticker_stop,
        })
    }

    /// A store for one call, with its deadline, fuel and memory cap set.
    pub fn store(&self, plugin: &str, config: &str) -> wasmtime::Result<Store<CallState>> {
        let state = CallState {
            plugin: plugin.to_owned(),
            config: config.to_owned(),
            memory: MemoryCap {
                limit: usize::try_from(self.limits.memory_bytes).unwrap_or(usize::MAX),
                exceeded: false,
            },
            log_lines: 0,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        let ticks = self.limits.timeout_ms.div_ceil(TICK.as_millis() as u64);
        store.set_epoch_deadline(ticks.max(1));
        if let Some(fuel) = self.limits.fuel {
            store.set_fuel(fuel)?;
        }
        Ok(store)
    }

    /// Turns what a call returned as an error into the typed fault.
    pub fn classify(&self, error: &wasmtime::Error, state: &CallState) -> PluginFault {
        if state.memory.exceeded {
            return PluginFault::OutOfMemory(self.limits.memory_bytes);
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => {
                PluginFault::TimedOut(format!("deadline of {} ms", self.limits.timeout_ms))
            }
            Some(Trap::OutOfFuel) => PluginFault::TimedOut(format!(
                "fuel budget of {}",
                self.limits.fuel.unwrap_or_default()
            )),
            Some(trap) => PluginFault::Trapped(trap.to_string()),
            // Not a trap: the canonical ABI refused what the guest handed back
            // (a bad pointer, invalid UTF-8, an unknown variant case).
            None => PluginFault::InvalidOutput(format!("{error:#}")),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// What one call's store holds: the plugin's name and configuration for the
/// `host` interface, and the memory cap.
pub struct CallState {
    pub plugin: String,
    pub config: String,
    pub memory: MemoryCap,
    log_lines: u32,
}

impl CallState {
    /// The `host.log` import: one tracing event, tagged, bounded.
    pub fn log(&mut self, level: tracing::Level, message: &str) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            return;
        }
        let mut cut = message.len().min(MAX_LOG_LINE);
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        // Control characters could forge log lines or terminal escapes.
        let message: String = message[..cut]
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let plugin = self.plugin.as_str();
        match level {
            tracing::Level::ERROR => tracing::error!(plugin, "{message}"),
            tracing::Level::WARN => tracing::warn!(plugin, "{message}"),
            tracing::Level::INFO => tracing::info!(plugin, "{message}"),
            _ => tracing::debug!(plugin, "{message}"),
        }
    }
}

/// Refuses growth past the cap and remembers that it did, so the fault is
/// reported as memory rather than as whatever trap the guest hit next.
pub struct MemoryCap {
    limit: usize,
    exceeded: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
