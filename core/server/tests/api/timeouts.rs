//! Slow and silent clients cannot hold connections: the request head and
//! idle deadlines, the request body's pace and the connection limit
//! (`[http]`), against a real listener. These are HTTP-layer stories, the
//! same on either stack, so they run on the embedded one.

use std::time::Duration;

use aegis_core::config::Settings;
use futures::StreamExt as _;
use reqwest::multipart::{Form, Part};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{ADMIN_PASSWORD, Stack, TestApp, TestEnv, shared_data};
use crate::test_cases::{MINI, load_catalog, test_in_state};

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: aegis\r\n\r\n";

/// Longest the tests wait for the server to act; only a failure waits this long.
const PATIENCE: Duration = Duration::from_secs(30);

fn tight(s: &mut Settings) {
    s.http.header_read_timeout_seconds = 1;
    s.http.idle_timeout_seconds = 2;
    s.http.body_read_timeout_seconds = 1;
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("connects")
}

/// Everything the server sends until it closes the connection (end of
/// stream or reset); fails if it is still open after [`PATIENCE`].
async fn until_closed(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut seen = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read_all)
        .await
        .expect("the server should have closed the connection");
    seen
}

/// The status line of the next answer on `stream`.
async fn status_line(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(2).any(|w| w == b"\r\n") {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("an answer")
            .expect("readable");
        assert!(n > 0, "closed before answering");
        seen.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&seen);
    text.lines().next().unwrap_or_default().to_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed() {
    let Some(env) = TestEnv::new(Stack::Embedded).await else {
        return;
    };
    let app = env.spawn_with(tight).await;

    // Connected, never a byte: the first request head never completes.
    let mut silent = connect(&app).await;
    assert_eq!(text(&until_closed(&mut silent).await), "");

    // One request answered, then silence: the idle timeout ends it.
    let mut kept = connect(&app).await;
    kept.write_all(HEALTH).await.unwrap();
    let seen = text(&until_closed(&mut kept).await);
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_trickled_byte_by_byte_is_cut_off() {
    let Some(env) = TestEnv::new(Stack::Embedded).await else {
        return;
    };
    let app = env.spawn_with(tight).await;
    let (mut reader, mut writer) = connect(&app).await.into_split();
    // A byte every 100 ms, far more often than any timeout, and a header
    // that never ends: each byte is activity, but the head never completes.
    let trickle = tokio::spawn(async move {
        let start = b"GET /health HTTP/1.1\r\nHost: aegis\r\nX-Slow: ";
        for byte in start.iter().chain(std::iter::repeat(&b'a')) {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let seen = text(&until_closed(&mut reader).await);
    trickle.abort();
    assert_eq!(seen, "", "nothing is answered to an unfinished head");
}

/// A login whose declared body never fully arrives; `pause` between bytes.
async fn slow_login(app: &TestApp, body: &'static [u8], pause: Option<Duration>) -> String {
    let (mut reader, mut writer) = connect(app).await.into_split();
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: aegis\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len() + 1000
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let sender = tokio::spawn(async move {
        match pause {
            // Trickled: a byte at a time, then the same byte for ever.
            Some(pause) => {
                for byte in body.iter().chain(std::iter::repeat(&b' ')) {
                    if writer.write_all(&[*byte]).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(pause).await;
                }
            }
            // Stalled: a start, then silence with the connection open.
            None => {
                writer.write_all(body).await.unwrap();
                std::future::pending::<()>().await;
            }
        }
    });
    let seen = text(&until_closed(&mut reader).await);
    sender.abort();
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_bodies_end_in_408() {
    let Some(env) = TestEnv::new(Stack::Embedded).await else {
        return;
    };
    let app = env.spawn_with(tight).await;
    let body = b"{\"username\": \"admin\", \"password\": ";

    // Silent after its first bytes: 408, then the connection closes.
    let seen = slow_login(&app, body, None).await;
    assert!(seen.starts_with("HTTP/1.1 408"), "{seen}");
    assert!(seen.contains("request_timeout"), "{seen}");

    // A byte every 100 ms, never silent for the body timeout, but far
    // below the minimum rate: ended too. Bytes still arriving when the
    // server closes may reset the connection before the 408 is read, so
    // either is an end.
    let seen = slow_login(&app, body, Some(Duration::from_millis(100))).await;
    assert!(
        seen.is_empty() || seen.starts_with("HTTP/1.1 408"),
        "{seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_connection_limit_a_connection_waits_for_a_free_slot() {
    let Some(env) = TestEnv::new(Stack::Embedded).await else {
        return;
    };
    let app = env.spawn_with(|s| s.http.max_connections = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut open = connect(&app).await;
        open.write_all(HEALTH).await.unwrap();
        assert_eq!(status_line(&mut open).await, "HTTP/1.1 200 OK");
        held.push(open);
    }
    // The third connects (the kernel's backlog takes it) but is not served
    // while both slots are held.
    let mut third = connect(&app).await;
    third.write_all(HEALTH).await.unwrap();
    let mut buf = [0u8; 16];
    assert!(
        tokio::time::timeout(Duration::from_secs(1), third.read(&mut buf))
            .await
            .is_err(),
        "served over the limit"
    );
    // One closes: the third is served.
    drop(held.remove(0));
    assert_eq!(status_line(&mut third).await, "HTTP/1.1 200 OK");
    // The one still held is still served.
    held[0].write_all(HEALTH).await.unwrap();
    assert_eq!(status_line(&mut held[0]).await, "HTTP/1.1 200 OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_requests_and_a_slow_steady_upload_still_succeed() {
    let Some(env) = TestEnv::new(Stack::Embedded).await else {
        return;
    };
    let app = env.spawn_with(tight).await;
    // Before any request, so no pause between requests comes near the idle
    // timeout (a client reusing a connection as it closes would see an error).
    load_catalog(&app, &shared_data(MINI)).await;
    assert_eq!(app.login("admin", ADMIN_PASSWORD).await.status, 200);
    let admin = app.admin_token().await;
    let test = test_in_state(&app, &admin, "red_executing").await;
    let id = test["id"].as_str().unwrap();

    // 2 MiB in 64 KiB pieces, 50 ms apart: the upload lasts longer than the
    // body timeout and every pause is shorter, at a rate far above the
    // minimum.
    let content: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let pieces: Vec<Vec<u8>> = content.chunks(64 * 1024).map(<[u8]>::to_vec).collect();
    let steady = futures::stream::iter(pieces).then(|piece| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok::<_, std::io::Error>(piece)
    });
    let part = Part::stream(reqwest::Body::wrap_stream(steady))
        .file_name("capture.pcap")
        .mime_str("application/octet-stream")
        .unwrap();
    let form = Form::new()
        .text("description", "uploaded at a steady pace")
        .part("file", part);
    let reply = app
        .send(
            app.request("POST", &format!("/api/v1/tests/{id}/evidence"), &admin)
                .multipart(form),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let sha256 = format!("{:x}", Sha256::digest(&content));
    assert_eq!(reply.body["sha256"], sha256.as_str());
    let download = app
        .client
        .get(app.url(reply.body["download_url"].as_str().unwrap()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let downloaded = download.bytes().await.unwrap();
    assert_eq!(format!("{:x}", Sha256::digest(&downloaded)), sha256);
}
