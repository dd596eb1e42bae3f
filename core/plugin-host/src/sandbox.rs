//! The sandbox every call runs in: one engine with epoch interruption (and
//! fuel when configured), a fresh store per call with a memory cap, and no
//! import but Aegis's own `host` interface — no WASI, so no files, network,
//! environment or clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aegis_core::plugins::PluginFault;
use aegis_core::plugins::PluginSettings;
use wasmtime::{Config, Engine, ResourceLimiter, Store, Trap};

/// How often the deadline clock ticks.
const TICK: Duration = Duration::from_millis(10);
/// Log lines one call may write; the rest are dropped so a loop cannot flood the log.
const MAX_LOG_LINES: u32 = 100;
/// Longest log line kept, in bytes.
const MAX_LOG_LINE: usize = 2_000;
/// Table elements a call may hold, all tables together.
const MAX_TABLE_ELEMENTS: usize = 100_000;
/// Core instances, linear memories and tables one call may create. The
/// components built by our toolchains use a handful of each.
const MAX_INSTANCES: usize = 64;
const MAX_MEMORIES: usize = 8;
const MAX_TABLES: usize = 32;

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
            memory: MemoryCap::new(usize::try_from(self.limits.memory_bytes).unwrap_or(usize::MAX)),
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
        // Control characters could forge log lines or terminal escapes.
        let message = crate::clean(message, MAX_LOG_LINE, false);
        let plugin = self.plugin.as_str();
        match level {
            tracing::Level::ERROR => tracing::error!(plugin, "{message}"),
            tracing::Level::WARN => tracing::warn!(plugin, "{message}"),
            tracing::Level::INFO => tracing::info!(plugin, "{message}"),
            _ => tracing::debug!(plugin, "{message}"),
        }
    }
}

/// Caps the call's memory as a whole — every linear memory of every
/// instance together, since a component may declare many — and remembers a
/// refusal, so the fault is reported as memory rather than as whatever trap
/// the guest hit next. Tables and instance counts are capped too.
pub struct MemoryCap {
    limit: usize,
    used: usize,
    table_elements: usize,
    exceeded: bool,
}

impl MemoryCap {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            used: 0,
            table_elements: 0,
            exceeded: false,
        }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.used.saturating_add(desired.saturating_sub(current));
        if total > self.limit {
            self.exceeded = true;
            return Ok(false);
        }
        self.used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .table_elements
            .saturating_add(desired.saturating_sub(current));
        if total > MAX_TABLE_ELEMENTS {
            return Ok(false);
        }
        self.table_elements = total;
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn the_memory_cap_counts_every_memory_together() {
        let mut cap = MemoryCap::new(32 * MIB);
        assert!(matches!(cap.memory_growing(0, 20 * MIB, None), Ok(true)));
        // A second memory of the same size would pass a per-memory check.
        assert!(matches!(cap.memory_growing(0, 20 * MIB, None), Ok(false)));
        assert!(cap.exceeded);
        // Growing the first memory counts only the growth.
        let mut cap = MemoryCap::new(32 * MIB);
        assert!(matches!(cap.memory_growing(0, 16 * MIB, None), Ok(true)));
        assert!(matches!(
            cap.memory_growing(16 * MIB, 30 * MIB, None),
            Ok(true)
        ));
        assert!(!cap.exceeded);
        assert!(cap.memories() <= 8 && cap.instances() <= 64 && cap.tables() <= 32);
    }

    #[test]
    fn table_elements_are_capped_across_tables() {
        let mut cap = MemoryCap::new(MIB);
        assert!(matches!(cap.table_growing(0, 60_000, None), Ok(true)));
        assert!(matches!(cap.table_growing(0, 60_000, None), Ok(false)));
    }
}
