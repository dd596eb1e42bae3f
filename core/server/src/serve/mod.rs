//! Serving the endpoint on a TCP listener, with what keeps slow or silent
//! clients from holding connections: a connection limit, head and idle
//! deadlines (`watch.rs`) and a pace for request bodies (`pace.rs`).
//!
//! This replaces poem's `Server`, which offers none of them: its
//! `idle_timeout` restarts on every byte (so a trickled head or body never
//! trips it) and cannot reach a connection still in protocol detection, and
//! it does not expose hyper's connection builder. poem still turns requests
//! and answers into its own types; hyper-util's auto builder serves HTTP/1.1
//! and cleartext HTTP/2 as poem's server did.

mod pace;
mod watch;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use aegis_core::config::HttpSettings;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use poem::Endpoint;
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use pace::{BodyPace, PacedBody, Stalled};
use watch::{InFlight, Watch, Watched};

/// The connection limit and timeouts, from `[http]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    max_connections: usize,
    header_read: Duration,
    idle: Duration,
    body: BodyPace,
}

impl Limits {
    pub(crate) fn new(http: &HttpSettings) -> Self {
        Self {
            max_connections: http.max_connections,
            header_read: Duration::from_secs(http.header_read_timeout_seconds),
            idle: Duration::from_secs(http.idle_timeout_seconds),
            body: BodyPace {
                timeout: Duration::from_secs(http.body_read_timeout_seconds),
                min_bytes_per_second: http.body_min_bytes_per_second,
            },
        }
    }
}

/// What every connection task shares.
struct Shared {
    endpoint: BoxEndpoint<'static>,
    builder: auto::Builder<TokioExecutor>,
    limits: Limits,
    local: LocalAddr,
    /// Asks connections to finish their current request and close.
    stopping: CancellationToken,
    /// Drops the connections still open once the grace period is over.
    stopped: CancellationToken,
}

/// Serves `endpoint` until `shutdown` resolves, then lets open connections
/// finish for up to `grace`.
pub(crate) async fn serve(
    listener: TcpListener,
    endpoint: BoxEndpoint<'static>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The watch owns the head deadline (see watch.rs); hyper's would also
    // close idle keep-alive connections at the header timeout.
    builder.http1().header_read_timeout(None);
    // As poem's server set them.
    builder
        .http2()
        .max_pending_accept_reset_streams(20_usize)
        .max_header_list_size(16384);
    let shared = Arc::new(Shared {
        endpoint,
        builder,
        limits,
        local: LocalAddr(listener.local_addr()?.into()),
        stopping: CancellationToken::new(),
        stopped: CancellationToken::new(),
    });
    // Semaphore permits are u32 at most; validation keeps the limit far below.
    let slots_total = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let slots = Arc::new(Semaphore::new(slots_total as usize));
    tokio::pin!(shutdown);
    loop {
        // At the limit, accept nothing: new connections wait in the kernel's
        // listen backlog, connected but unanswered, and are served as soon
        // as an open one closes; the head and idle deadlines make sure open
        // ones do. Refusing them instead would turn a burst into errors.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((socket, peer)) => {
                tokio::spawn(serve_connection(shared.clone(), socket, peer, slot));
            }
            Err(error) => {
                // Out of file descriptors, typically: pause instead of
                // spinning on an accept that keeps failing.
                tracing::warn!(%error, "could not accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(listener);
    shared.stopping.cancel();
    // Every slot back means every connection has ended.
    if tokio::time::timeout(grace, slots.acquire_many(slots_total))
        .await
        .is_err()
    {
        tracing::info!("closing the connections still open after the grace period");
        shared.stopped.cancel();
        let _ = slots.acquire_many(slots_total).await;
    }
    Ok(())
}

async fn serve_connection(
    shared: Arc<Shared>,
    socket: TcpStream,
    peer: SocketAddr,
    _slot: OwnedSemaphorePermit,
) {
    let watch = Watch::new(shared.limits.header_read, shared.limits.idle);
    let io = TokioIo::new(Watched::new(socket, watch.clone()));
    let service = {
        let shared = shared.clone();
        let watch = watch.clone();
        let remote = RemoteAddr(peer.into());
        hyper::service::service_fn(move |request| {
            answer(shared.clone(), watch.clone(), remote.clone(), request)
        })
    };
    let connection = shared.builder.serve_connection(io, service);
    tokio::pin!(connection);
    // Dropping the connection closes the socket at once: right for a client
    // that overstayed its deadline, whatever it was doing.
    tokio::select! {
        _ = connection.as_mut() => return,
        () = watch.expired() => {
            tracing::debug!(%peer, "closing a connection past its head or idle deadline");
            return;
        }
        () = shared.stopping.cancelled() => {}
    }
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        _ = connection => {}
        () = watch.expired() => {}
        () = shared.stopped.cancelled() => {}
    }
}

/// One request through the endpoint, its body held to the pace.
async fn answer(
    shared: Arc<Shared>,
    watch: Arc<Watch>,
    remote: RemoteAddr,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<BoxBody<Bytes, io::Error>>, Infallible> {
    let in_flight = watch.request_started();
    let mut request = poem::Request::from((request, shared.local.clone(), remote, Scheme::HTTP));
    let stalled = Stalled::default();
    let body = PacedBody::new(
        BoxBody::from(request.take_body()),
        shared.limits.body,
        stalled.clone(),
    );
    request.set_body(poem::Body::from(BoxBody::new(body)));
    let mut response = shared.endpoint.get_response(request).await;
    if stalled.happened() {
        // Whatever the handler made of the failed read, the client was too
        // slow; the rest of its body is not read, so the connection closes.
        response = crate::http::request_timeout();
    }
    let response: hyper::Response<BoxBody<Bytes, io::Error>> = response.into();
    Ok(response.map(|body| {
        BoxBody::new(Answer {
            body,
            _in_flight: in_flight,
        })
    }))
}

/// An answer's body, which keeps its request in flight until it is sent or
/// dropped.
struct Answer {
    body: BoxBody<Bytes, io::Error>,
    _in_flight: InFlight,
}

impl Body for Answer {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
