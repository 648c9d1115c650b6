//! The ingest server under load on loopback: 50 laptops at once, 2,000 records each, in
//! batches of 500, against SQLite and PostgreSQL. Every record stored exactly once, batch
//! latency reported (p50/p99), the server's memory flat. `BOOTH_LOAD_LAPTOPS` and
//! `BOOTH_LOAD_RECORDS` change the size; the figures in docs/reliability.md come from
//! `cargo test --release --test server_load -- --nocapture`.

mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::net::{
    Server, add_device, batch, batch_item, http_client, members_on_server, post, test_dbs,
};

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

#[test]
fn fifty_laptops_at_once() {
    let laptops = env_or("BOOTH_LOAD_LAPTOPS", 50);
    let per_laptop = env_or("BOOTH_LOAD_RECORDS", 2000) as u32;
    let batch_size = 500;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    for db in test_dbs() {
        let server = Server::start(&db.url);
        let tokens: Vec<String> = (0..laptops)
            .map(|i| add_device(&db.url, &format!("laptop{i}")))
            .collect();
        // every laptop's batches, built before the clock starts
        let work: Vec<Vec<Vec<u8>>> = (0..laptops as u32)
            .map(|l| {
                (0..per_laptop)
                    .map(|k| batch_item(l * per_laptop + k, day))
                    .collect::<Vec<_>>()
                    .chunks(batch_size)
                    .map(|c| serde_json::to_vec(&batch(c.to_vec())).unwrap())
                    .collect()
            })
            .collect();
        // warm up, then measure the server's memory before the load
        let client = http_client();
        let (status, _) = post(
            &client,
            &server.url(),
            &tokens[0],
            serde_json::to_vec(&batch(vec![])).unwrap(),
            "application/json",
        )
        .unwrap();
        assert_eq!(status, 200);
        let pid = server.pid();
        let (rss_before, _) = rss_mb(pid);

        let barrier = Arc::new(Barrier::new(laptops));
        let started = Instant::now();
        let handles: Vec<_> = work
            .into_iter()
            .zip(tokens.clone())
            .map(|(batches, token)| {
                let url = server.url();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let client = http_client();
                    barrier.wait();
                    let mut latencies = Vec::new();
                    let mut accepted = 0;
                    for body in batches {
                        let t = Instant::now();
                        let (status, v) =
                            post(&client, &url, &token, body, "application/json").unwrap();
                        latencies.push(t.elapsed());
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
        let mut latencies: Vec<Duration> = Vec::new();
        let mut accepted = 0;
        for h in handles {
            let (l, a) = h.join().unwrap();
            latencies.extend(l);
            accepted += a;
        }
        let elapsed = started.elapsed();
        let total = laptops * per_laptop as usize;
        assert_eq!(accepted, total, "every record accepted once");
        assert_eq!(
            members_on_server(&db.url),
            total as u64,
            "stored exactly once"
        );
        let (rss_after, peak) = rss_mb(pid);
        latencies.sort();
        let p = |q: f64| {
            latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]
                .as_secs_f64()
                * 1e3
        };
        println!(
            "{}: {laptops} laptops × {per_laptop} records in batches of {batch_size}: {total} stored once in {:.1} s ({:.0} records/s); batch latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; server RSS {rss_before:.1} MB before, {rss_after:.1} MB after, peak {peak:.1} MB",
            db.label,
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64(),
            p(0.5),
            p(0.99),
            p(1.0),
        );
        // "flat": bounded by the in-flight batches, not growing with what was stored
        assert!(
            rss_after < rss_before + 150.0,
            "server memory grew from {rss_before:.0} to {rss_after:.0} MB"
        );
    }
}
