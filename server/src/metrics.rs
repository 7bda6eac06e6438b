//! `GET /metrics` in the Prometheus text format, on `TRACELESS_METRICS_ADDR` only: a
//! listener of its own, so the numbers are never served on the public address (bind it to
//! loopback or a private network the scraper reaches). What is recorded, and under which
//! names, is `traceless::observe`.

use std::net::SocketAddr;
use std::sync::OnceLock;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use traceless::db::{self, Pool};
use traceless::observe::{self, Queue};

use crate::shutdown::Shutdown;

/// Latency buckets (seconds) of every histogram: from a millisecond (a callback's commit)
/// to ten seconds (Microsoft on a bad day).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder: `metrics` takes one per process, installed by the first
/// instance that serves metrics (tests run several instances in one process; they share it).
static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

fn recorder() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = RECORDER.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .context("the metrics' histogram buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    Ok(RECORDER.get_or_init(|| handle).clone())
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    pool: Pool,
}

/// Binds `addr` and serves `/metrics` there until `shutdown`; returns the bound address.
pub async fn serve(addr: SocketAddr, pool: Pool, shutdown: Shutdown) -> anyhow::Result<SocketAddr> {
    let handle = recorder()?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics address {addr} (TRACELESS_METRICS_ADDR)"))?;
    let bound = listener.local_addr()?;
    let router = Router::new()
        .route("/metrics", get(metrics))
        .with_state(Scrape { handle, pool });
    tokio::spawn(async move {
        let stop = async move { shutdown.triggered().await };
        if let Err(error) = axum::serve(listener, router)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    tracing::info!(address = %bound, "serving metrics at /metrics");
    Ok(bound)
}

async fn metrics(State(scrape): State<Scrape>) -> Response {
    // What the database holds is read now, at the scrape, rather than counted along the way:
    // every instance sees the same backlog, whichever wrote it.
    let (open, idle) = scrape.pool.connections();
    observe::pool_connections(open, idle);
    for (queue, table) in [
        (Queue::Mail, "outbox_messages"),
        (Queue::Webhook, "webhook_deliveries"),
    ] {
        match db::query(&format!(
            "SELECT COUNT(*) FROM {table} WHERE state = 'pending'"
        ))
        .fetch_scalar_on(&scrape.pool)
        .await
        {
            Ok(waiting) => observe::backlog(queue, waiting),
            Err(error) => {
                tracing::warn!(%error, queue = queue.label(), "reading a backlog for the metrics")
            }
        }
    }
    scrape.handle.run_upkeep();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        scrape.handle.render(),
    )
        .into_response()
}
