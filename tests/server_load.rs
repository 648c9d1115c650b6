//! The ingest server under load on loopback: 50 laptops at once, 2,000 records each, in
//! batches of 500, against SQLite and PostgreSQL. Every record stored exactly once, batch
//! latency reported (p50/p99), the server's memory flat. `BOOTH_LOAD_LAPTOPS` and
//! `BOOTH_LOAD_RECORDS` change the size; the figures in docs/reliability.md come from
//! `cargo test --release --test server_load -- --nocapture`.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Instant;

use common::net::{
    Server, add_device, batch_by, batch_item_by, http_client, laptop_key, members_on_server,
    post_signed, test_dbs,
};
use common::valid_id;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident and peak memory of a process, in MB (Linux).
fn rss_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// What one round of the load showed.
struct Round {
    seconds: f64,
    latencies_ms: Vec<f64>,
    rss_after: f64,
}

impl Round {
    fn percentile(&self, q: f64) -> f64 {
        let n = self.latencies_ms.len();
        self.latencies_ms[((n as f64 * q) as usize).min(n - 1)]
    }
}

/// Every laptop posts its share of records `first..first + laptops × per_laptop` at the same
/// moment; asserts each is accepted once.
fn round(server: &Server, tokens: &[String], first: u32, per_laptop: u32) -> Round {
    let batch_size = 500;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    // every laptop's batches, built before the clock starts
    let work: Vec<Vec<Vec<u8>>> = (0..tokens.len() as u32)
        .map(|l| {
            let key = laptop_key(l);
            (0..per_laptop)
                .map(|k| {
                    let n = first + l * per_laptop + k;
                    batch_item_by(&key, n, &valid_id(n), day)
                })
                .collect::<Vec<_>>()
                .chunks(batch_size)
                .map(|c| serde_json::to_vec(&batch_by(&key, c.to_vec())).unwrap())
                .collect()
        })
        .collect();
    let barrier = Arc::new(Barrier::new(tokens.len()));
    let started = Instant::now();
    let handles: Vec<_> = work
        .into_iter()
        .zip(tokens.to_vec())
        .enumerate()
        .map(|(l, (batches, token))| {
            let url = server.url();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let client = http_client();
                barrier.wait();
                let mut latencies = Vec::new();
                let mut accepted = 0;
                for body in batches {
                    let t = Instant::now();
                    let key = laptop_key(l as u32);
                    let (status, v) =
                        post_signed(&client, &url, &token, body, "application/json", Some(&key))
                            .unwrap();
                    latencies.push(t.elapsed().as_secs_f64() * 1e3);
                    assert_eq!(status, 200, "{v}");
                    accepted += v["results"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|r| r["status"] == "accepted")
                        .count();
                }
                (latencies, accepted)
            })
        })
        .collect();
    let mut latencies_ms = Vec::new();
    let mut accepted = 0;
    for h in handles {
        let (l, a) = h.join().unwrap();
        latencies_ms.extend(l);
        accepted += a;
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        accepted,
        tokens.len() * per_laptop as usize,
        "every record accepted once"
    );
    latencies_ms.sort_by(f64::total_cmp);
    Round {
        seconds,
        latencies_ms,
        rss_after: rss_mb(server.pid()).0,
    }
}

#[test]
fn fifty_laptops_at_once() {
    let laptops = env_or("BOOTH_LOAD_LAPTOPS", 50);
    let per_laptop = env_or("BOOTH_LOAD_RECORDS", 2000) as u32;
    // Several rounds, each storing as much again: a server whose memory followed what it has
    // stored (a cache of members, a leak per request) keeps growing round after round, while
    // the allocator's working set levels off after two or three.
    let rounds = env_or("BOOTH_LOAD_ROUNDS", 4).max(3) as u32;
    let per_round = laptops as u32 * per_laptop;
    for db in test_dbs() {
        let server = Server::start(&db.url);
        let tokens: Vec<String> = (0..laptops)
            .map(|i| add_device(&db.url, &format!("laptop{i}")))
            .collect();
        // warm up, then measure the server's memory before the load
        let (status, _) = post_signed(
            &http_client(),
            &server.url(),
            &tokens[0],
            serde_json::to_vec(&batch_by(&laptop_key(0), vec![])).unwrap(),
            "application/json",
            Some(&laptop_key(0)),
        )
        .unwrap();
        assert_eq!(status, 200);
        let (rss_before, _) = rss_mb(server.pid());

        let mut after = Vec::new();
        for r in 0..rounds {
            let figures = round(&server, &tokens, r * per_round, per_laptop);
            println!(
                "{} round {}: {laptops} laptops × {per_laptop} records in batches of 500: {per_round} stored once in {:.1} s ({:.0} records/s); batch latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; server RSS {rss_before:.1} MB before the load, {:.1} MB after this round",
                db.label,
                r + 1,
                figures.seconds,
                f64::from(per_round) / figures.seconds,
                figures.percentile(0.5),
                figures.percentile(0.99),
                figures.percentile(1.0),
                figures.rss_after,
            );
            after.push(figures.rss_after);
        }
        assert_eq!(
            members_on_server(&db.url),
            u64::from(rounds * per_round),
            "stored exactly once"
        );
        let (_, peak) = rss_mb(server.pid());
        println!("{}: server peak RSS {peak:.1} MB", db.label);
        // "flat": bounded by the batches in flight, and levelled off by the last round. On
        // this machine: +40–50 MB in round 1, then allocator noise of −7 to +6 MB in round 4;
        // a leak of 200 bytes per stored record would add 20 MB per round.
        assert!(
            after[0] < rss_before + 150.0,
            "server memory grew from {rss_before:.0} to {:.0} MB in the first round",
            after[0]
        );
        let (last, before_last) = (after[after.len() - 1], after[after.len() - 2]);
        assert!(
            last < before_last + 20.0,
            "server memory still growing with what it stored: {before_last:.0} MB, then {last:.0} MB after round {rounds}"
        );
    }
}
