//! Percentiles, the machine, the wasm's size, and the markdown table.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q` quantile (nearest rank); zero for no samples.
pub fn percentile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn distribution(samples: &[Duration]) -> Value {
    json!({
        "samples": samples.len(),
        "p50": ms(percentile(samples, 0.5)),
        "p99": ms(percentile(samples, 0.99)),
        "max": ms(percentile(samples, 1.0)),
    })
}

/// "p50 / p99 / max" in milliseconds, for the console.
pub fn summary(samples: &[Duration]) -> String {
    format!(
        "p50 {:.1} / p99 {:.1} / max {:.1} ms ({} samples)",
        ms(percentile(samples, 0.5)),
        ms(percentile(samples, 0.99)),
        ms(percentile(samples, 1.0)),
        samples.len()
    )
}

pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or("? GB".into(), |kib| {
            format!("{:.0} GB", kib as f64 / 1024.0 / 1024.0)
        });
    format!("{cores} cores ({model}), {memory} RAM, Linux, loopback")
}

/// The machine's 1-minute load average (runnable tasks, all processes).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// The release hydrate wasm: `scripts/wasm-size`'s figures when it ran, else the release
/// site's `pkg/` files (raw and gzip) as `scripts/test` last built them, else "not built".
pub fn wasm_size(out: &Path) -> Value {
    if let Ok(text) = std::fs::read_to_string(out.join("wasm.json"))
        && let Ok(value) = serde_json::from_str::<Value>(&text)
    {
        return json!({"source": "scripts/wasm-size (target/bench/wasm.json)", "figures": value});
    }
    // Where `scripts/test` builds the release site (`target/site` may hold a debug build).
    let pkg = Path::new("target/site-release/pkg");
    let Ok(entries) = std::fs::read_dir(pkg) else {
        return json!({"source": "not built", "files": []});
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let _ = gz.write_all(&bytes);
        let gzip = gz.finish().map_or(0, |g| g.len());
        files.push(json!({
            "file": path.file_name().map(|f| f.to_string_lossy().into_owned()),
            "raw_bytes": bytes.len(),
            "gzip_bytes": gzip,
        }));
    }
    json!({"source": format!("{} as last built", pkg.display()), "files": files})
}

/// Issue 20's figures, one line per run: the highest callback rate kept up with nothing
/// lost, callback → page p99 at 100/s, server CPU per callback at 100/s, events lost (every
/// phase), and the machine's load; then two instances against one on PostgreSQL.
fn callback_table(all: &Value) -> String {
    let mut t = String::from(
        "| setup | open pages | callbacks/s kept up, zero loss | callback → page p99 at 100/s | CPU per callback at 100/s | events lost (at the rates kept up) | load average (1 min) start / end |\n|---|---|---|---|---|---|---|\n",
    );
    let runs: Vec<&Value> = all["runs"].as_array().into_iter().flatten().collect();
    for run in &runs {
        let lost = run["steady"]["lost"].as_u64().unwrap_or(0)
            + run["polling"]["streams_lost"].as_u64().unwrap_or(0)
            + run["ramp"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|step| step["kept_up"].as_bool() == Some(true))
                .filter_map(|step| step["lost"].as_u64())
                .sum::<u64>();
        t.push_str(&format!(
            "| {} | {} | {} | {} ms | {} ms | {} | {} / {} |\n",
            run["setup_described"].as_str().unwrap_or("?"),
            run["open_streams"],
            kept_up_rate(run).map_or("none".into(), |r| format!("{r:.0}")),
            f(run, &["steady", "callback_to_event_ms", "p99"]),
            f(run, &["steady", "server_cpu_ms_per_callback"]),
            lost,
            run["load_average_1min"]["start"].as_str().unwrap_or("?"),
            run["load_average_1min"]["end"].as_str().unwrap_or("?"),
        ));
    }
    for one in runs.iter().filter(|r| r["setup"] == "postgres") {
        let two = runs
            .iter()
            .find(|r| r["setup"] == "postgres-2" && r["open_streams"] == one["open_streams"]);
        if let (Some(a), Some(b)) = (kept_up_rate(one), two.and_then(|two| kept_up_rate(two))) {
            t.push_str(&format!(
                "\nPostgreSQL, {} open pages: two instances kept up with {:.2}× one instance's callbacks/s.\n",
                one["open_streams"],
                b / a
            ));
        }
    }
    t
}

/// The highest ramp rate kept up with (answered ≥ 90 % of it, nothing lost or refused).
fn kept_up_rate(run: &Value) -> Option<f64> {
    run["max_sustained"]["rate_per_s"].as_f64()
}

fn f(value: &Value, path: &[&str]) -> String {
    let mut v = value;
    for key in path {
        v = &v[*key];
    }
    match v.as_f64() {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.1}"),
        None => "–".into(),
    }
}

pub fn table(all: &Value) -> String {
    let mut t = String::new();
    t.push_str(&format!(
        "Machine: {}\n\n",
        all["machine"].as_str().unwrap_or("?")
    ));
    t.push_str(&callback_table(all));
    t.push_str("\nEvery figure, per setup:\n\n");
    t.push_str("| setup | open streams | callback → event at 100/s, p50 / p99 / max | polling every 1 s: staleness p50 / p99, requests/s | highest rate with zero loss (p50 / p99 there) | server CPU per callback (100/s / top rate) | resident memory per open stream | person's page TTFB p50 / p99 (Microsoft's call) |\n|---|---|---|---|---|---|---|---|\n");
    for run in all["runs"].as_array().into_iter().flatten() {
        let best = &run["max_sustained"];
        let top = if best.is_null() {
            "none kept up".to_owned()
        } else {
            format!(
                "{}/s ({} / {} ms)",
                f(best, &["rate_per_s"]),
                f(best, &["callback_to_event_ms", "p50"]),
                f(best, &["callback_to_event_ms", "p99"])
            )
        };
        t.push_str(&format!(
            "| {} | {} | {} / {} / {} ms | {} / {} ms, {}/s | {} | {} / {} ms | {} KiB | {} / {} ms ({} ms) |\n",
            run["setup_described"].as_str().unwrap_or("?"),
            run["open_streams"],
            f(run, &["steady", "callback_to_event_ms", "p50"]),
            f(run, &["steady", "callback_to_event_ms", "p99"]),
            f(run, &["steady", "callback_to_event_ms", "max"]),
            f(run, &["polling", "staleness_ms", "p50"]),
            f(run, &["polling", "staleness_ms", "p99"]),
            f(run, &["polling", "requests_per_s"]),
            top,
            f(run, &["steady", "server_cpu_ms_per_callback"]),
            f(best, &["server_cpu_ms_per_callback"]),
            f(run, &["memory", "per_open_stream_kib"]),
            f(run, &["person_page_ms", "reload_ttfb", "p50"]),
            f(run, &["person_page_ms", "reload_ttfb", "p99"]),
            f(run, &["person_page_ms", "microsoft_call_p50"]),
        ));
    }
    for run in all["runs"].as_array().into_iter().flatten() {
        t.push_str(&format!(
            "\n{}, {} streams: the machine's load average was {} at the start and {} at the end (other work shares the {} cores).",
            run["setup_described"].as_str().unwrap_or("?"),
            run["open_streams"],
            run["load_average_1min"]["start"].as_str().unwrap_or("?"),
            run["load_average_1min"]["end"].as_str().unwrap_or("?"),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
        ));
    }
    t.push('\n');
    let wasm = &all["wasm"];
    t.push_str(&format!(
        "\nHydrate wasm: {}\n",
        match wasm["source"].as_str() {
            Some("not built") => "not built".to_owned(),
            _ => serde_json::to_string(wasm).unwrap_or_default(),
        }
    ));
    t.push_str(&format!(
        "\nRate limits raised for the run (one loopback address plays every client): {}\n",
        all["raised_rate_limits"]
            .as_array()
            .map(|a| a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    ));
    t
}
