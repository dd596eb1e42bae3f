//! The pace a request body must keep. A total deadline would cut off large
//! legitimate uploads (256 MiB of evidence over a slow link takes many
//! minutes), and a silence rule alone lets a client keep a connection for
//! ever by sending a byte just before each deadline. So, as Apache's
//! `mod_reqtimeout` does (`body=20,MinRate=500`), a body may wait at most
//! `timeout` for its next bytes, and all its waits together at most `timeout`
//! plus one second per `min_bytes_per_second` bytes received.
//!
//! Only time spent waiting on the client counts: while the handler is busy
//! (writing to storage, say) it does not read, and that is not the client's
//! fault.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The rule, from `[http]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyPace {
    pub timeout: Duration,
    pub min_bytes_per_second: u64,
}

impl BodyPace {
    /// How long the wait that starts now may last, given the bytes received
    /// and the time already spent waiting for them.
    fn allowed_wait(&self, received: u64, waited: Duration) -> Duration {
        if self.min_bytes_per_second == 0 {
            return self.timeout;
        }
        let earned =
            Duration::from_millis(received.saturating_mul(1000) / self.min_bytes_per_second);
        self.timeout
            .saturating_add(earned)
            .saturating_sub(waited)
            .min(self.timeout)
    }
}

/// Set when a request's body was cut for being too slow, so the answer can
/// be a 408 whatever the handler made of the failed read.
#[derive(Clone, Default)]
pub(crate) struct Stalled(Arc<AtomicBool>);

impl Stalled {
    pub(crate) fn happened(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A request body held to a [`BodyPace`].
pub(crate) struct PacedBody<B> {
    inner: B,
    pace: BodyPace,
    received: u64,
    waited: Duration,
    waiting_since: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
    stalled: Stalled,
}

impl<B> PacedBody<B> {
    pub(crate) fn new(inner: B, pace: BodyPace, stalled: Stalled) -> Self {
        Self {
            inner,
            pace,
            received: 0,
            waited: Duration::ZERO,
            waiting_since: None,
            timer: None,
            stalled,
        }
    }
}

fn too_slow() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "the request body arrived too slowly",
    )
}

impl<B> Body for PacedBody<B>
where
    B: Body<Data = Bytes, Error = io::Error> + Unpin,
{
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.stalled.happened() {
            return Poll::Ready(Some(Err(too_slow())));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                if let Some(since) = this.waiting_since.take() {
                    this.waited += since.elapsed();
                }
                if let Some(data) = frame
                    .as_ref()
                    .and_then(|f| f.as_ref().ok())
                    .and_then(Frame::data_ref)
                {
                    this.received = this.received.saturating_add(data.len() as u64);
                }
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let since = *this.waiting_since.get_or_insert_with(Instant::now);
                let deadline = since + this.pace.allowed_wait(this.received, this.waited);
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                if timer.as_mut().poll(cx).is_ready() {
                    this.stalled.0.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(too_slow())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_byte_buys_waiting_time_but_no_wait_exceeds_the_timeout() {
        let pace = BodyPace {
            timeout: Duration::from_secs(30),
            min_bytes_per_second: 1000,
        };
        let secs = Duration::from_secs;
        // (received, waited so far) -> the next wait may last
        for (received, waited, allowed) in [
            (0, secs(0), secs(30)),
            (0, secs(20), secs(10)),
            (0, secs(30), secs(0)),
            (5_000, secs(30), secs(5)),
            (5_000, secs(40), secs(0)),
            (1_000_000, secs(40), secs(30)),
            (u64::MAX, Duration::MAX, secs(0)),
        ] {
            assert_eq!(
                pace.allowed_wait(received, waited),
                allowed,
                "{received} bytes after {waited:?}"
            );
        }
        let silence_only = BodyPace {
            min_bytes_per_second: 0,
            ..pace
        };
        assert_eq!(silence_only.allowed_wait(0, secs(3000)), secs(30));
    }
}
