//! Leases with heartbeats for long work (an ATT&CK sync, a report): the
//! work's own row names the process running it (`lease_owner`, this
//! process's [`InstanceId`]) and until when (`lease_expires_at`), and a
//! [`Heartbeat`] pushes that time on while the work runs. A process killed
//! mid-work stops beating, so once its lease expires ([`LEASE_TTL`]) any
//! replica, or the restarted one, records the work as interrupted. Every
//! write of the work's outcome names its owner and a state still unfinished,
//! so a process that was only paused and comes back finds its work taken and
//! writes nothing. The SQL stays with each module's rows; this holds the
//! timing, the owner's name and the beating.
//!
//! Times come from the kernel clock: replicas' clocks must agree to well
//! within `LEASE_TTL - HEARTBEAT_EVERY` (20 s), which NTP gives.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::time::{Clock, Timestamp};

/// How long work stays its owner's without a heartbeat: a crash blocks a
/// new sync for at most this long, and the sweeps record the work as
/// interrupted within this plus their own period.
pub const LEASE_TTL: Duration = Duration::from_secs(30);

/// How often a heartbeat renews its lease: two beats may fail (a database
/// restart, a busy SQLite writer) before the lease runs out.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// The name of one running Aegis process, as leases record it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceId(Arc<str>);

impl InstanceId {
    /// `<host>:<pid>:<random>`: host and process tell an operator which
    /// replica held the work; the random part keeps apart two processes with
    /// one pid (containers) and two kernels in one process (tests).
    pub fn generate() -> Self {
        let host = whoami::hostname().unwrap_or_else(|_| "aegis".into());
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self(format!("{host}:{}:{}", std::process::id(), &random[..8]).into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// This process's leases: who it is, and the clock their times are read on.
#[derive(Clone, Debug)]
pub struct Leases {
    owner: InstanceId,
    clock: Clock,
}

impl Leases {
    pub fn new(clock: Clock) -> Self {
        Self {
            owner: InstanceId::generate(),
            clock,
        }
    }

    /// What `lease_owner` holds for work this process runs.
    pub fn owner(&self) -> &str {
        self.owner.as_str()
    }

    /// When a lease taken or renewed now runs out.
    pub fn expiry(&self) -> Timestamp {
        self.clock.now() + ttl()
    }

    /// Starts renewing a lease every [`HEARTBEAT_EVERY`] (of the kernel
    /// clock): `renew(new expiry)` answers whether the lease was still this
    /// process's. A `false` means another replica recorded the work as
    /// interrupted, or the work's row is gone: the heartbeat stops and
    /// reports the lease lost. An error (the database is unreachable) is
    /// logged and the next beat tries again. Dropping the heartbeat stops it.
    pub fn heartbeat<F, Fut, E>(&self, what: impl Into<String>, mut renew: F) -> Heartbeat
    where
        F: FnMut(Timestamp) -> Fut + Send + 'static,
        Fut: Future<Output = Result<bool, E>> + Send,
        E: fmt::Display,
    {
        let (lost, lost_rx) = watch::channel(false);
        let (clock, what) = (self.clock.clone(), what.into());
        let every = chrono::Duration::from_std(HEARTBEAT_EVERY).unwrap_or(chrono::Duration::MAX);
        // The first beat is due from now, not from whenever the task first
        // runs: a clock moved in between still brings it.
        let mut due = clock.now() + every;
        let task = tokio::spawn(async move {
            loop {
                clock.sleep_until(due).await;
                match renew(clock.now() + ttl()).await {
                    Ok(true) => due = clock.now() + every,
                    Ok(false) => {
                        tracing::warn!(
                            work = what,
                            "lease lost: the work was recorded as interrupted by another replica, or removed; stopping it"
                        );
                        let _ = lost.send(true);
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(
                            work = what,
                            %error,
                            "cannot renew the lease; the next beat tries again"
                        );
                        due = clock.now() + every;
                    }
                }
            }
        });
        Heartbeat {
            lost: lost_rx,
            task,
        }
    }
}

fn ttl() -> chrono::Duration {
    chrono::Duration::from_std(LEASE_TTL).unwrap_or(chrono::Duration::MAX)
}

/// A running renewal of one lease; dropping it stops the renewal, as a crash
/// would (the lease then runs out).
#[derive(Debug)]
pub struct Heartbeat {
    lost: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    /// Whether a renewal found the lease gone.
    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Runs `work` while the lease holds. `None` when the lease was lost
    /// first: the work is dropped where it stood (a transaction it had open
    /// rolls back) and its outcome is not written.
    pub async fn hold<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let mut lost = self.lost.clone();
        let lost = async move {
            // The sender goes only with a lost lease or a stopped heartbeat;
            // without beats the lease runs out and the guarded writes decide.
            if lost.wait_for(|lost| *lost).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            biased;
            () = lost => None,
            done = work => Some(done),
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn instances_are_told_apart() {
        let (a, b) = (InstanceId::generate(), InstanceId::generate());
        assert_ne!(a, b);
        assert!(a.as_str().contains(&format!(":{}:", std::process::id())));
    }

    /// Beats follow the clock, and a renewal that finds the lease gone
    /// stops the work it holds.
    #[tokio::test]
    async fn a_lost_lease_stops_the_work_it_holds() {
        let clock = Clock::system();
        let leases = Leases::new(clock.clone());
        let beats = Arc::new(AtomicUsize::new(0));
        let (renewed, mut renewals) = tokio::sync::mpsc::unbounded_channel();
        let heartbeat = leases.heartbeat("test work", {
            let beats = beats.clone();
            move |expiry: Timestamp| {
                let (beats, renewed) = (beats.clone(), renewed.clone());
                async move {
                    let beat = beats.fetch_add(1, Ordering::SeqCst) + 1;
                    let _ = renewed.send(expiry);
                    // The second beat finds the lease taken.
                    Ok::<_, std::convert::Infallible>(beat < 2)
                }
            }
        });
        let before = clock.now();
        let step = chrono::Duration::seconds(11);
        clock.advance(step);
        let expiry = renewals.recv().await.expect("a first beat");
        assert!(expiry >= before + step + ttl());
        assert!(!heartbeat.is_lost());

        let work = heartbeat.hold(std::future::pending::<()>());
        tokio::pin!(work);
        assert!(futures::poll!(work.as_mut()).is_pending());
        // The clock moves until the beat comes: the next one is due from
        // when the task finished the first, which may be after a move.
        let wait = Duration::from_secs(1);
        let stopped = loop {
            clock.advance(step);
            if let Ok(done) = tokio::time::timeout(wait, work.as_mut()).await {
                break done;
            }
        };
        assert_eq!(stopped, None, "the work was stopped");
        assert!(heartbeat.is_lost());
        assert_eq!(heartbeat.hold(async { 1 }).await, None);
    }

    #[tokio::test]
    async fn work_ends_normally_while_the_lease_holds() {
        let leases = Leases::new(Clock::system());
        let heartbeat = leases.heartbeat("test work", |_| async {
            Ok::<_, std::convert::Infallible>(true)
        });
        assert_eq!(heartbeat.hold(async { 7 }).await, Some(7));
    }
}
