//! Parser throughput: wiregen's `sse::parse::Parser` against `eventsource-stream` 0.2 and
//! `sse-stream` 0.3 on the same generated streams, fed in 8 KiB chunks. Prints MB/s and ratios;
//! asserts nothing about time.
//!
//! `cargo bench -p wiregen-runtime --features sse --bench sse_parse`
//! (`WIREGEN_BENCH_MIB` sets the size of each input, default 64; `WIREGEN_BENCH_ONLY=wiregen`
//! runs wiregen's parser alone, for profiling).

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use wiregen_runtime::sse::parse::{Item, Parser};

const CHUNK: usize = 8 * 1024;
const RUNS: usize = 3;

/// A small deterministic generator, so every run parses the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// JSON events like a pet store sends: a name, an id, 150–400 bytes of data.
fn realistic(size: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(size + 1024);
    let statuses = ["available", "pending", "sold"];
    let mut n = 0u64;
    while out.len() < size {
        n += 1;
        let tags: Vec<String> = (0..rng.below(4))
            .map(|t| format!("\"tag-{}\"", rng.below(100) + t))
            .collect();
        let note = "lorem ipsum dolor sit amet ".repeat(rng.below(6) as usize);
        let json = format!(
            "{{\"id\":{n},\"name\":\"pet-{}\",\"status\":\"{}\",\"tags\":[{}],\"price\":{}.{:02},\
             \"updatedAt\":\"2026-11-24T12:{:02}:{:02}Z\",\"owner\":{{\"name\":\"Owner {}\",\"email\":\"o{}@example.com\"}},\
             \"note\":\"{note}\"}}",
            rng.below(10_000),
            statuses[rng.below(3) as usize],
            tags.join(","),
            rng.below(500),
            rng.below(100),
            rng.below(60),
            rng.below(60),
            rng.below(1000),
            rng.below(1000),
        );
        out.extend_from_slice(format!("event: pet.updated\nid: {n}\ndata: {json}\n\n").as_bytes());
    }
    out
}

/// Tiny events (about 20 bytes): per-event overhead dominates.
fn tiny(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 64);
    let mut n = 0u64;
    while out.len() < size {
        n += 1;
        out.extend_from_slice(format!("data: {{\"n\":{n}}}\n\n").as_bytes());
    }
    out
}

/// Large events: 64 KiB data lines, each spanning many chunks.
fn large(size: usize) -> Vec<u8> {
    let line = "x".repeat(64 * 1024);
    let mut out = Vec::with_capacity(size + 70 * 1024);
    let mut n = 0u64;
    while out.len() < size {
        n += 1;
        out.extend_from_slice(format!("id: {n}\ndata: {line}\n\n").as_bytes());
    }
    out
}

fn chunks(input: &[u8]) -> Vec<Bytes> {
    let whole = Bytes::copy_from_slice(input);
    (0..input.len())
        .step_by(CHUNK)
        .map(|at| whole.slice(at..(at + CHUNK).min(input.len())))
        .collect()
}

/// Events and data bytes seen: checked equal across parsers so each does the same work.
type Tally = (usize, usize);

fn wiregen(chunks: &[Bytes]) -> Tally {
    let mut parser = Parser::new();
    let (mut events, mut bytes) = (0, 0);
    for chunk in chunks {
        parser.push(chunk, &mut |item| {
            if let Item::Event(event) = item {
                events += 1;
                bytes += black_box(event).data.len();
            }
        });
    }
    parser.finish();
    (events, bytes)
}

fn eventsource_stream(runtime: &tokio::runtime::Runtime, chunks: &[Bytes]) -> Tally {
    let input = futures_util::stream::iter(chunks.iter().cloned().map(Ok::<Bytes, Infallible>));
    runtime.block_on(
        input
            .eventsource()
            .fold((0, 0), |(events, bytes), event| async move {
                match event {
                    Ok(event) => (events + 1, bytes + black_box(event).data.len()),
                    Err(_) => (events, bytes),
                }
            }),
    )
}

fn sse_stream(runtime: &tokio::runtime::Runtime, chunks: &[Bytes]) -> Tally {
    let input = futures_util::stream::iter(chunks.iter().cloned().map(Ok::<Bytes, Infallible>));
    runtime.block_on(sse_stream::SseByteStream::new(input).fold(
        (0, 0),
        |(events, bytes), block| async move {
            match block {
                Ok(block) => match black_box(block).data {
                    Some(data) => (events + 1, bytes + data.len()),
                    None => (events, bytes),
                },
                Err(_) => (events, bytes),
            }
        },
    ))
}

/// The best of `RUNS` runs, in MB/s (10^6 bytes per second).
fn measure(len: usize, mut run: impl FnMut() -> Tally) -> (f64, Tally) {
    let mut best = Duration::MAX;
    let mut tally = (0, 0);
    for _ in 0..RUNS {
        let start = Instant::now();
        tally = run();
        best = best.min(start.elapsed());
    }
    (len as f64 / best.as_secs_f64() / 1e6, tally)
}

fn main() {
    let mib: usize = std::env::var("WIREGEN_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let size = mib * 1024 * 1024;
    let only_ours = std::env::var("WIREGEN_BENCH_ONLY").is_ok_and(|only| only == "wiregen");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    println!(
        "SSE parser throughput, {mib} MiB per input in {} KiB chunks, best of {RUNS} runs",
        CHUNK / 1024
    );
    for (name, input) in [
        ("realistic JSON events", realistic(size)),
        ("tiny events", tiny(size)),
        ("64 KiB events", large(size)),
    ] {
        let chunks = chunks(&input);
        let (ours, ours_tally) = measure(input.len(), || wiregen(&chunks));
        if only_ours {
            println!("{name} ({} events): wiregen {ours:.0} MB/s", ours_tally.0);
            continue;
        }
        let (es, es_tally) = measure(input.len(), || eventsource_stream(&runtime, &chunks));
        let (ss, ss_tally) = measure(input.len(), || sse_stream(&runtime, &chunks));
        println!("\n{name} ({} events):", ours_tally.0);
        println!("  wiregen            {ours:>8.0} MB/s");
        println!(
            "  eventsource-stream {es:>8.0} MB/s   wiregen is {:.1}x",
            ours / es
        );
        println!(
            "  sse-stream         {ss:>8.0} MB/s   wiregen is {:.1}x",
            ours / ss
        );
        for (parser, tally) in [("eventsource-stream", es_tally), ("sse-stream", ss_tally)] {
            if tally != ours_tally {
                println!(
                    "  note: {parser} saw {tally:?} (events, data bytes), wiregen {ours_tally:?}"
                );
            }
        }
    }
}
