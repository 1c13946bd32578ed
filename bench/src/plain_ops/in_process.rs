//! `--in-process`: the CPU time one request costs in each router, without sockets, HTTP parsing
//! or wrk. The request wrk sends is built, handed to the axum `Router` as hyper would hand it,
//! and the whole response body collected, on a current-thread tokio runtime. What is measured
//! is the code between the connection and the store (routing, extraction, the handler,
//! serialization): where the two servers differ.
//!
//! The routers take turns in blocks of [`BLOCK`] requests (the order flipping every block) and
//! each block is timed by this thread's CPU clock, so that other work on the machine weighs on
//! both alike; a round's ratio is the sum of its blocks. `--only KIND` runs one router alone,
//! for a profiler (`perf record … plain-ops --in-process --only generated --ops get`).

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use tower_service::Service;

use crate::Op;
use crate::servers::{self, Kind};

/// Requests in one block of a round.
pub const BLOCK: u32 = 500;

/// The request of `op`, with the headers wrk sends.
fn request(op: Op) -> Result<Request<Body>, String> {
    let builder = Request::builder()
        .uri(op.path())
        .header(header::HOST, "127.0.0.1");
    match op {
        Op::Get => builder.method("GET").body(Body::empty()),
        Op::Post => builder
            .method("POST")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, servers::AUTHORIZATION)
            .header(header::CONTENT_LENGTH, servers::POST_BODY.len())
            .body(Body::from(servers::POST_BODY)),
    }
    .map_err(|e| format!("cannot build the request of {}: {e}", op.route()))
}

/// The CPU time this thread has used, in ns.
fn thread_cpu_ns() -> Result<u64, String> {
    // SAFETY: a zeroed timespec is a valid output buffer for clock_gettime.
    let (result, now) = unsafe {
        let mut now: libc::timespec = std::mem::zeroed();
        let result = libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now);
        (result, now)
    };
    if result != 0 {
        return Err(format!(
            "cannot read this thread's CPU time: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64)
}

/// Send `requests` requests of `op` through `router`, each answered with a 2xx and read
/// whole: the CPU time they took, in ns.
async fn run(router: &mut Router, op: Op, requests: u32) -> Result<u64, String> {
    let start = thread_cpu_ns()?;
    for _ in 0..requests {
        let Ok(response) = router.call(request(op)?).await;
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .map_err(|e| format!("cannot read a response body: {e}"))?;
        if !status.is_success() || body.is_empty() {
            return Err(format!(
                "{} answered {status}: {}",
                op.route(),
                String::from_utf8_lossy(&body)
            ));
        }
    }
    Ok(thread_cpu_ns()? - start)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))
}

/// Every operation of `ops`, `rounds` rounds of about `requests` requests per router: a table
/// of CPU ns per request and ratios, then the median ratio per operation.
pub fn measure(ops: &[Op], rounds: u32, requests: u32) -> Result<(), String> {
    runtime()?.block_on(async {
        let mut generated = servers::router(Kind::Generated);
        let mut hand_written = servers::router(Kind::HandWritten);
        let blocks = (requests / BLOCK).max(1);
        println!(
            "In process, no sockets: CPU time per request, {rounds} rounds of {} requests per \
             router, in alternating blocks of {BLOCK}",
            blocks * BLOCK
        );
        println!();
        println!("| operation | round | generated ns/req | hand-written ns/req | CPU ratio |");
        println!("| --- | ---: | ---: | ---: | ---: |");
        let mut ratios: Vec<(Op, f64)> = Vec::new();
        for round in 1..=rounds {
            for &op in ops {
                // Warm-up: caches, the allocator, the store's order queue.
                run(&mut generated, op, BLOCK).await?;
                run(&mut hand_written, op, BLOCK).await?;
                let (mut g, mut h) = (0, 0);
                for block in 0..blocks {
                    if block % 2 == 0 {
                        g += run(&mut generated, op, BLOCK).await?;
                        h += run(&mut hand_written, op, BLOCK).await?;
                    } else {
                        h += run(&mut hand_written, op, BLOCK).await?;
                        g += run(&mut generated, op, BLOCK).await?;
                    }
                }
                let count = f64::from(blocks * BLOCK);
                let (g, h) = (g as f64 / count, h as f64 / count);
                println!(
                    "| {} | {round} | {g:.0} | {h:.0} | {:.3}× |",
                    op.route(),
                    g / h
                );
                ratios.push((op, g / h));
            }
        }
        println!();
        for &op in ops {
            let of: Vec<f64> = ratios
                .iter()
                .filter(|(o, _)| *o == op)
                .map(|(_, ratio)| *ratio)
                .collect();
            println!(
                "in process {}: median CPU ratio {:.3}× ({}) over {rounds} rounds",
                op.route(),
                crate::median(of.clone()),
                crate::range(&of)
            );
        }
        Ok(())
    })
}

/// `requests` requests of `op` through the router of `kind` alone (for a profiler).
pub fn only(kind: Kind, op: Op, requests: u32) -> Result<(), String> {
    runtime()?.block_on(async {
        let mut router = servers::router(kind);
        let ns = run(&mut router, op, requests).await?;
        println!(
            "{} {}: {:.0} ns of CPU per request over {requests}",
            kind.name(),
            op.route(),
            ns as f64 / f64::from(requests)
        );
        Ok(())
    })
}
