//! The head and idle deadlines of one connection. The socket wrapper notes
//! when bytes arrive, the service notes when a request starts and when its
//! answer is done, and [`Watch::expired`] resolves once the connection has
//! overstayed, so the connection task drops it.
//!
//! The rule follows Go's `ReadHeaderTimeout` and `IdleTimeout`: a new
//! connection must deliver its first request head within the header timeout;
//! between requests it may stay silent for the idle timeout, and once the next
//! head's first byte arrives, that head must be complete within the header
//! timeout. Neither deadline moves when more bytes arrive, so trickling a head
//! a byte at a time gains nothing. While a request is in flight (from the
//! service call until its answer's body is finished or dropped), no deadline
//! applies here: the request body has its own rule (`pace.rs`), and a handler
//! may take as long as it needs.
//!
//! This sits below hyper on purpose: hyper's own `header_read_timeout` starts
//! only once the protocol is known (a silent connection is never timed out
//! behind the HTTP/1-or-2 detection) and would also cut every idle
//! keep-alive connection at the header timeout.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// One connection's activity and deadlines.
pub(crate) struct Watch {
    state: Mutex<State>,
    changed: Notify,
    header_read: Duration,
    idle: Duration,
}

struct State {
    /// Requests whose answer is not finished yet (more than one over HTTP/2).
    in_flight: usize,
    /// When the connection last had no request in flight.
    idle_since: Instant,
    /// When the first byte of the next request head arrived (at accept for
    /// the first request).
    head_since: Option<Instant>,
}

impl Watch {
    pub(crate) fn new(header_read: Duration, idle: Duration) -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: now,
                head_since: Some(now),
            }),
            changed: Notify::new(),
            header_read,
            idle,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the connection must be dropped, if nothing changes; `None` while
    /// a request is in flight.
    fn deadline(&self) -> Option<Instant> {
        let state = self.state();
        if state.in_flight > 0 {
            return None;
        }
        Some(match state.head_since {
            Some(since) => since + self.header_read,
            None => state.idle_since + self.idle,
        })
    }

    fn bytes_arrived(&self) {
        let mut state = self.state();
        if state.in_flight == 0 && state.head_since.is_none() {
            state.head_since = Some(Instant::now());
            drop(state);
            self.changed.notify_one();
        }
    }

    /// A request's head is complete and the service runs it; the connection
    /// stays exempt until the returned guard is dropped.
    pub(crate) fn request_started(self: &Arc<Self>) -> InFlight {
        self.state().in_flight += 1;
        self.changed.notify_one();
        InFlight(self.clone())
    }

    /// Resolves once the connection has passed its deadline.
    pub(crate) async fn expired(&self) {
        loop {
            match self.deadline() {
                // `notify_one` keeps a permit when nobody waits, so a change
                // between reading the deadline and waiting is not missed.
                None => self.changed.notified().await,
                Some(deadline) => {
                    tokio::select! {
                        () = self.changed.notified() => {}
                        () = tokio::time::sleep_until(deadline) => {
                            if self.deadline().is_some_and(|d| d <= Instant::now()) {
                                return;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A request in flight; dropped with its answer's body, once that is sent
/// or abandoned.
pub(crate) struct InFlight(Arc<Watch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            state.head_since = None;
        }
        drop(state);
        self.0.changed.notify_one();
    }
}

/// The socket, noting in its [`Watch`] when request bytes arrive.
pub(crate) struct Watched<T> {
    io: T,
    watch: Arc<Watch>,
}

impl<T> Watched<T> {
    pub(crate) fn new(io: T, watch: Arc<Watch>) -> Self {
        Self { io, watch }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.watch.bytes_arrived();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
