//! The live-updates benchmark (issues 12 and 20), measured from outside release servers:
//! `scripts/bench` builds it and runs `bench --server <release binary> --n 1000,10000`, on
//! SQLite, and with `--postgres URL` on PostgreSQL with one instance and (given nginx's
//! `--proxy-port` and `--instance-ports`) with two. Figures go to `target/bench/*.json` and
//! `target/bench/table.md`.

mod load;
mod prepare;
mod report;
mod server;
mod streams;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::report::{ms, summary};
use crate::server::{Deployment, Setup};

/// The person's page is timed on this many links (first visit and reload, one at a time).
const TIMED_PAGES: usize = 200;
/// The steady rate the issue names, and for how long it is held.
const STEADY_RATE: f64 = 100.0;
const STEADY_SECONDS: f64 = 10.0;
/// Rates tried, each for [`RAMP_SECONDS`], until one loses something or falls behind.
const RAMP: [f64; 10] = [
    250.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0, 4000.0, 5000.0, 6000.0,
];
const RAMP_SECONDS: f64 = 3.0;
/// An event not on its stream this long after the last callback of its phase is lost.
const SETTLE: Duration = Duration::from_secs(5);
/// A rate is kept up with when callbacks went out and were answered at ≥ 90 % of it and
/// the slowest percentile of events stayed under this.
const KEPT_UP_P99: Duration = Duration::from_secs(1);
/// Polling pages: callbacks watched, at the steady rate.
const POLLED_CALLBACKS: usize = 300;

struct Args {
    server: PathBuf,
    sizes: Vec<usize>,
    out: PathBuf,
    setups: Vec<Setup>,
}

const USAGE: &str = "usage: bench --server PATH [--n 1000,10000] [--out DIR] \
     [--postgres URL [--proxy-port PORT --instance-ports PORT,PORT]] [--setups sqlite,postgres,postgres-2]";

fn args() -> anyhow::Result<Args> {
    let mut server = None;
    let mut sizes = vec![1000, 10_000];
    let mut out = PathBuf::from("target/bench");
    let mut postgres = None;
    let mut proxy_port = None;
    let mut instance_ports = None;
    let mut only: Option<Vec<String>> = None;
    let mut args = std::env::args().skip(1);
    let list = |value: Option<String>, what: &str| -> anyhow::Result<Vec<String>> {
        Ok(value
            .with_context(|| format!("{what}; {USAGE}"))?
            .split(',')
            .map(|s| s.trim().to_owned())
            .collect())
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--server" => server = args.next().map(PathBuf::from),
            "--n" => {
                sizes = list(args.next(), "--n 1000,10000")?
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<_, _>>()?
            }
            "--out" => out = args.next().map(PathBuf::from).context("--out DIR")?,
            "--postgres" => postgres = Some(args.next().context("--postgres URL")?),
            "--proxy-port" => proxy_port = Some(args.next().context("--proxy-port PORT")?.parse()?),
            "--instance-ports" => {
                let ports = list(args.next(), "--instance-ports PORT,PORT")?
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<Vec<u16>, _>>()?;
                instance_ports = Some(
                    <[u16; 2]>::try_from(ports)
                        .map_err(|_| anyhow::anyhow!("--instance-ports takes two ports"))?,
                );
            }
            "--setups" => only = Some(list(args.next(), "--setups sqlite,postgres,postgres-2")?),
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    let mut setups = vec![Setup::Sqlite];
    if let Some(url) = postgres {
        setups.push(Setup::Postgres { url: url.clone() });
        if let (Some(proxy_port), Some(instance_ports)) = (proxy_port, instance_ports) {
            setups.push(Setup::PostgresTwo {
                url,
                proxy_port,
                instance_ports,
            });
        }
    }
    if let Some(only) = only {
        for name in &only {
            if !setups.iter().any(|s| s.name() == name) {
                bail!("setup {name:?} is not available with these arguments; {USAGE}");
            }
        }
        setups.retain(|s| only.iter().any(|name| name == s.name()));
    }
    Ok(Args {
        server: server.context("--server PATH (the release server binary)")?,
        sizes,
        out,
        setups,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    std::fs::create_dir_all(&args.out)?;
    let machine = report::machine();
    println!("machine: {machine}");
    let (soft, hard) = server::open_file_limit();
    println!(
        "open files: soft limit {soft}, hard limit {hard} (scripts/bench raises the soft one to the hard one)"
    );
    let mut runs = Vec::new();
    for setup in &args.setups {
        for &n in &args.sizes {
            let needed = n + 1000;
            if soft.parse::<usize>().is_ok_and(|s| s < needed) {
                println!(
                    "warning: {n} streams need about {needed} open files here and the limit is {soft}; it cannot be raised further without privileges"
                );
            }
            println!("\n== {}: {n} open streams", setup.describe());
            let label = format!("{}-{n}", setup.name());
            let mut run = run(&args, setup, &label, n).await?;
            run["setup"] = json!(setup.name());
            run["setup_described"] = json!(setup.describe());
            std::fs::write(
                args.out.join(format!("streams-{label}.json")),
                serde_json::to_string_pretty(&run)?,
            )?;
            runs.push(run);
        }
    }
    let wasm = report::wasm_size(&args.out);
    let all = json!({
        "machine": machine,
        "open_files": {"soft": soft, "hard": hard},
        "raised_rate_limits": server::RAISED_LIMITS.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "runs": runs,
        "wasm": wasm,
    });
    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_string_pretty(&all)?,
    )?;
    let table = report::table(&all);
    std::fs::write(args.out.join("table.md"), &table)?;
    println!("\n{table}");
    println!(
        "figures: {}/results.json, table: {}/table.md",
        args.out.display(),
        args.out.display()
    );
    Ok(())
}

async fn run(args: &Args, setup: &Setup, label: &str, n: usize) -> anyhow::Result<Value> {
    let deployment = Deployment::start(&args.server, setup, &args.out, label).await?;
    let result = measure(&deployment, n).await;
    deployment.stop().await;
    result
}

async fn measure(server: &Deployment, n: usize) -> anyhow::Result<Value> {
    // Other work on the machine shows in every figure: say how busy it was.
    let load_before = report::load_average();
    // Preparing: through the product's flows.
    let prepared = prepare::prepare(server, n, TIMED_PAGES).await?;
    println!(
        "prepared {n} verifications through the product's flows in {:.1} s (sign-up, connect, send_verification, the person's page)",
        prepared.took.as_secs_f64()
    );
    let pages = &prepared.pages;
    let microsoft_share = report::percentile(&pages.first_visit_total, 0.5)
        .saturating_sub(report::percentile(&pages.reload_total, 0.5));
    println!(
        "person's page: reload TTFB {}, whole {}; first visit (asks Microsoft) TTFB {}, whole {}",
        summary(&pages.reload_ttfb),
        summary(&pages.reload_total),
        summary(&pages.first_visit_ttfb),
        summary(&pages.first_visit_total)
    );

    // Open streams, idle: resident memory per stream.
    let verifications = Arc::new(prepared.verifications);
    let addr: SocketAddr = server.base.trim_start_matches("http://").parse()?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = server.rss_kib()?;
    let tracker = streams::Tracker::new(n);
    let opening = Instant::now();
    streams::open_all(addr, &verifications, &tracker, 500).await?;
    let opened_in = opening.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = server.rss_kib()?;
    let per_stream_kib = (rss_after.saturating_sub(rss_before)) as f64 / n as f64;
    println!(
        "opened {n} streams in {:.1} s; server RSS {rss_before} KiB → {rss_after} KiB: {per_stream_kib:.1} KiB per open stream",
        opened_in.as_secs_f64()
    );

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()?;
    let callback_url = format!("{}/microsoft/verified-id/callback", server.base);
    let mut next = 0usize;
    let mut phase = 0usize;

    // Warm-up (not reported): connections pooled, caches filled.
    load::fire(
        &client,
        &callback_url,
        &verifications,
        &tracker,
        phase,
        STEADY_RATE,
        100,
        &mut next,
    )
    .await;
    tracker.settle(phase, SETTLE).await;

    // Steady 100 callbacks/s.
    phase += 1;
    let cpu_before = server.cpu()?;
    let count = (STEADY_RATE * STEADY_SECONDS) as usize;
    let fired = load::fire(
        &client,
        &callback_url,
        &verifications,
        &tracker,
        phase,
        STEADY_RATE,
        count,
        &mut next,
    )
    .await;
    let lost = tracker.settle(phase, SETTLE).await;
    let cpu = server.cpu()?.saturating_sub(cpu_before);
    let steady = tracker.latencies(phase);
    println!(
        "steady {STEADY_RATE}/s: {} callbacks, {} refused, {lost} events lost; callback → event {}; server CPU {:.2} ms per callback",
        fired.sent,
        fired.refused,
        summary(&steady),
        ms(cpu) / fired.sent as f64
    );
    let steady_json = json!({
        "rate_per_s": STEADY_RATE,
        "callbacks": fired.sent,
        "refused": fired.refused,
        "lost": lost,
        "callback_to_event_ms": report::distribution(&steady),
        "server_cpu_ms_per_callback": ms(cpu) / fired.sent as f64,
    });

    // Polling pages beside the streams: the same status changes, seen by polls.
    phase += 1;
    let pollers = load::Pollers::start(&server.base, &verifications);
    tokio::time::sleep(Duration::from_secs(3)).await;
    pollers.reset();
    let polls_before = pollers.requests.load(std::sync::atomic::Ordering::Relaxed);
    let window = Instant::now();
    let fired = load::fire(
        &client,
        &callback_url,
        &verifications,
        &tracker,
        phase,
        STEADY_RATE,
        POLLED_CALLBACKS.min(n),
        &mut next,
    )
    .await;
    let lost = tracker.settle(phase, SETTLE).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let polls = pollers.requests.load(std::sync::atomic::Ordering::Relaxed) - polls_before;
    let polls_per_s = polls as f64 / window.elapsed().as_secs_f64();
    let poll_failures = pollers.failed.load(std::sync::atomic::Ordering::Relaxed);
    let mut staleness = Vec::new();
    let mut unseen = 0;
    for (v, sent) in &fired.sends {
        match pollers.first_seen(*v) {
            Some(seen) => staleness.push(seen.saturating_duration_since(*sent)),
            None => unseen += 1,
        }
    }
    pollers.stop().await;
    let streamed = tracker.latencies(phase);
    println!(
        "polling every second ({n} pages, {polls_per_s:.0} requests/s, {poll_failures} failed): status change seen {} ({unseen} not seen); the same changes on the streams {} ({lost} lost)",
        summary(&staleness),
        summary(&streamed)
    );
    let polling_json = json!({
        "pollers": n,
        "requests_per_s": polls_per_s,
        "failed_requests": poll_failures,
        "callbacks": fired.sent,
        "staleness_ms": report::distribution(&staleness),
        "not_seen": unseen,
        "streams_meanwhile_ms": report::distribution(&streamed),
        "streams_lost": lost,
    });

    // Ramp: the highest rate persisted and relayed with nothing lost, kept up with.
    let mut ramp = Vec::new();
    let mut best: Option<Value> = None;
    for rate in RAMP {
        phase += 1;
        let cpu_before = server.cpu()?;
        let count = (rate * RAMP_SECONDS) as usize;
        let fired = load::fire(
            &client,
            &callback_url,
            &verifications,
            &tracker,
            phase,
            rate,
            count,
            &mut next,
        )
        .await;
        let lost = tracker.settle(phase, SETTLE).await;
        tracker.forget(phase);
        let cpu = server.cpu()?.saturating_sub(cpu_before);
        let latencies = tracker.latencies(phase);
        let achieved = fired.sent as f64 / fired.took.as_secs_f64();
        let p99 = report::percentile(&latencies, 0.99);
        let kept_up =
            fired.refused == 0 && lost == 0 && achieved >= 0.9 * rate && p99 <= KEPT_UP_P99;
        println!(
            "{rate:>6.0}/s: {} callbacks answered at {achieved:.0}/s, {} refused, {lost} lost; callback → event {}; CPU {:.2} ms per callback{}",
            fired.sent,
            fired.refused,
            summary(&latencies),
            ms(cpu) / fired.sent as f64,
            if kept_up { "" } else { "  ← not kept up" }
        );
        let step = json!({
            "rate_per_s": rate,
            "callbacks": fired.sent,
            "answered_per_s": achieved,
            "refused": fired.refused,
            "lost": lost,
            "kept_up": kept_up,
            "callback_to_event_ms": report::distribution(&latencies),
            "server_cpu_ms_per_callback": ms(cpu) / fired.sent as f64,
        });
        ramp.push(step.clone());
        if !kept_up {
            break;
        }
        best = Some(step);
        // Let the database's write-ahead log and the pools calm down between steps.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let out_of_order = tracker
        .out_of_order
        .load(std::sync::atomic::Ordering::Relaxed);
    let unexpected = tracker
        .unexpected
        .load(std::sync::atomic::Ordering::Relaxed);
    let ended = tracker.ended.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "streams: {out_of_order} duplicate or out-of-order events, {unexpected} unexpected events, {ended} streams ended early"
    );

    // SQLite's group commit: how many callbacks shared each commit, over the whole run.
    let accepted = server
        .counter("traceless_callbacks_total{outcome=\"accepted\"}")
        .await?;
    let commits = server.counter("traceless_callback_commits_total").await?;
    let per_commit = (commits > 0.0).then(|| accepted / commits);
    if let Some(per_commit) = per_commit {
        println!(
            "group commit: {accepted} callbacks in {commits} commits, {per_commit:.1} per commit"
        );
    }

    let load_after = report::load_average();
    println!(
        "load average (1 min) of the machine: {load_before} at the start, {load_after} at the end"
    );
    Ok(json!({
        "open_streams": n,
        "load_average_1min": {"start": load_before, "end": load_after},
        "prepared": {
            "how": "through the product's flows: sign-up, connect (Microsoft consent and sign-in at the built-in emulator), send_verification per verification, the person's page per link (which asks the emulator for a presentation request); then the stored requests' api-key hash is set to the benchmark's key, since ours is random and only its hash is stored",
            "seconds": prepared.took.as_secs_f64(),
        },
        "callbacks": "request_retrieved, POSTed as Microsoft does (JSON body with requestId, requestStatus, state, correlationId; api-key header) to /microsoft/verified-id/callback; each stores an event (scanned, then 'ignored' repeats) that the stream relays",
        "memory": {
            "rss_before_kib": rss_before,
            "rss_after_kib": rss_after,
            "per_open_stream_kib": per_stream_kib,
            "streams_opened_in_s": opened_in.as_secs_f64(),
        },
        "steady": steady_json,
        "polling": polling_json,
        "ramp": ramp,
        "max_sustained": best,
        "streams": {"out_of_order": out_of_order, "unexpected": unexpected, "ended_early": ended},
        "group_commit": {"callbacks_accepted": accepted, "commits": commits, "callbacks_per_commit": per_commit},
        "person_page_ms": {
            "reload_ttfb": report::distribution(&pages.reload_ttfb),
            "reload_total": report::distribution(&pages.reload_total),
            "first_visit_ttfb": report::distribution(&pages.first_visit_ttfb),
            "first_visit_total": report::distribution(&pages.first_visit_total),
            "microsoft_call_p50": ms(microsoft_share),
            "note": "first visit: the server asks Microsoft (the emulator, in the same process) for a presentation request while rendering; reload: the live request is reused and Microsoft is not called. Microsoft's share is the difference of the medians of the whole page.",
        },
    }))
}
