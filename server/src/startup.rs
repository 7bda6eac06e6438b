//! Builds the application: database, sessions, routes; then serves until SIGTERM, when open
//! event streams are told to reconnect and the process stops within [`shutdown::GRACE`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use app::ssr::AppState;
use app::{App, shell};
use axum::extract::Request;
use axum::middleware;
use axum::routing::{get, post};
use axum::{Extension, Router};
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use tower_sessions::session_store::ExpiredDeletion;
use traceless::config::Settings;
use traceless::db::Pool;
use traceless::live::postgres::PostgresRelay;
use traceless::live::{InProcess, Publisher};
use traceless::mail::transport::Transport;
use traceless::mail::worker::Deliverer;
use traceless::reactions::Effects;
use traceless::verification::Verifier;

use crate::shutdown::{self, Shutdown};
use crate::{cross_site, rate_limit, routes, security_headers};

/// How often expired sessions are deleted, and how soon again after a failed round.
const SESSION_SWEEP: Duration = Duration::from_secs(15 * 60);
const SESSION_SWEEP_RETRY: Duration = Duration::from_secs(60);

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    router: Router,
    local_addr: SocketAddr,
    state: AppState,
    microsoft: crate::microsoft::Microsoft,
    shutdown: Shutdown,
    metrics_addr: Option<SocketAddr>,
}

impl Application {
    /// Opens and migrates the database, binds the listener and assembles the routes.
    pub async fn build(mut settings: Settings) -> anyhow::Result<Self> {
        let pool = traceless::db::connect(settings.database_url.as_str())
            .await
            .context("preparing the database")?;
        let listener = TcpListener::bind(settings.bind_addr)
            .await
            .with_context(|| format!("binding {}", settings.bind_addr))?;
        let local_addr = listener.local_addr()?;
        if settings.public_url.port() == Some(0) {
            // Bound to port 0 (tests): the default public URL names the real port.
            let _ = settings.public_url.set_port(Some(local_addr.port()));
        }

        let leptos_options = LeptosOptions::builder()
            .output_name("traceless")
            .site_root(site_root())
            .site_pkg_dir("pkg")
            .site_addr(local_addr)
            .build();
        let microsoft_redirect_uri = settings
            .public_url
            .join(app::ssr::MICROSOFT_CALLBACK_PATH)
            .context("building the Microsoft redirect URI")?;
        let microsoft = crate::microsoft::connect(&settings, &microsoft_redirect_uri).await?;
        let callback_url = settings
            .public_url
            .join(app::ssr::VERIFIED_ID_CALLBACK_PATH)
            .context("building the Verified ID callback URL")?;
        let relay = relay_for(&pool);
        let verifier = Arc::new(
            Verifier::new(
                pool.clone(),
                microsoft.client.clone(),
                relay.clone(),
                callback_url,
                microsoft.identity.clone(),
                settings.public_url.clone(),
                Arc::new(Effects::new(settings.public_url.clone())),
            )
            .with_presentation_limit(settings.limits.presentations_per_link),
        );
        let transport = Transport::new(settings.mail.smtp.as_ref())
            .context("setting up the SMTP transport (TRACELESS_SMTP_*)")?;
        let mailbox = transport.is_mailbox();
        let limits = traceless::rate_limit::RateLimits::start(settings.limits.clone());
        let shared_limits = traceless::shared_limits::SharedLimits::start(&settings.limits, &pool);
        let shutdown = Shutdown::new();
        tokio::spawn(expire_overdue_verifications(
            verifier.clone(),
            shutdown.clone(),
        ));
        tokio::spawn({
            let stop = shutdown.clone();
            Deliverer::new(pool.clone(), transport, relay, &settings.mail)
                .run(async move { stop.triggered().await })
        });
        tokio::spawn({
            let stop = shutdown.clone();
            traceless::webhooks::worker::Worker::new(pool.clone(), settings.webhooks.clone())
                .context("building the webhook client")?
                .run(async move { stop.triggered().await })
        });
        if settings.webhooks.allow_private {
            tracing::warn!(
                "TRACELESS_WEBHOOK_ALLOW_PRIVATE is on: webhooks may be sent to loopback and private network addresses (for development and tests only)"
            );
        }
        tokio::spawn(traceless::retention::keep_erasing(
            pool.clone(),
            settings.retention,
            {
                let stop = shutdown.clone();
                async move { stop.triggered().await }
            },
        ));
        // Nothing stale: each connected tenant is re-read from Microsoft daily (issue 17).
        tokio::spawn({
            let stop = shutdown.clone();
            traceless::integrations::refresh::run_daily(
                pool.clone(),
                microsoft.client.clone(),
                settings
                    .public_url
                    .join("organization/integrations")
                    .context("the integrations page URL")?,
                async move { stop.triggered().await },
            )
        });
        // Its own listener, off unless configured: never on the public address.
        let metrics_addr = match settings.metrics_addr {
            Some(addr) => Some(crate::metrics::serve(addr, pool.clone(), shutdown.clone()).await?),
            None => None,
        };
        let state = AppState {
            verifier,
            pool,
            settings: Arc::new(settings),
            leptos_options,
            microsoft: Arc::new(microsoft.client.clone()),
            recovery: microsoft.recovery.clone().map(Arc::new),
            microsoft_redirect_uri,
            limits,
            shared_limits,
            mailbox,
        };
        let router = router(state.clone(), shutdown.clone()).await?;
        Ok(Self {
            listener,
            router,
            local_addr,
            state,
            microsoft,
            shutdown,
            metrics_addr,
        })
    }

    /// Where `/metrics` is served (`TRACELESS_METRICS_ADDR`, its port as bound), if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops the server as SIGTERM would (tests hold one).
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The built-in emulator, when no real Microsoft app is configured.
    #[cfg(feature = "emulator")]
    pub fn emulator(&self) -> Option<&microsoft_emulator::RunningEmulator> {
        self.microsoft.emulator.as_ref()
    }

    /// Serves until SIGTERM, Ctrl-C or [`Application::shutdown`]; then stops accepting, ends
    /// every event stream with a reconnect hint, lets in-flight requests finish, and returns
    /// within [`shutdown::GRACE`] whatever is still open.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let stop = self.shutdown.clone();
        let os_signal = shutdown::os_signal();
        self.run_until(async move {
            tokio::select! {
                () = os_signal => stop.trigger(),
                () = stop.triggered() => {}
            }
        })
        .await
    }

    async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(
            addr = %self.local_addr,
            public_url = %self.state.settings.public_url,
            "Traceless is listening"
        );
        let serve = axum::serve(
            self.listener,
            // The peer's address is the client for rate limits (crate::rate_limit).
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop);
        let deadline = async {
            self.shutdown.triggered().await;
            tokio::time::sleep(shutdown::GRACE).await;
        };
        tokio::select! {
            served = serve.into_future() => served.context("serving HTTP")?,
            () = deadline => tracing::warn!(
                grace = ?shutdown::GRACE,
                "connections still open after the grace period: stopping without them"
            ),
        }
        #[cfg(feature = "emulator")]
        if let Some(emulator) = self.microsoft.emulator {
            // Its own requests are short; a stuck one must not hold the process.
            let _ = tokio::time::timeout(Duration::from_secs(1), emulator.shutdown()).await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

async fn router(state: AppState, shutdown: Shutdown) -> anyhow::Result<Router> {
    let session_store = crate::sessions::Store::new(&state.pool);
    tokio::spawn({
        let store = session_store.clone();
        keep_deleting_expired_sessions(
            move || {
                let store = store.clone();
                async move { store.delete_expired().await }
            },
            SESSION_SWEEP,
            SESSION_SWEEP_RETRY,
            shutdown.clone(),
        )
    });
    let sessions = crate::sessions::layer(session_store, state.settings.secure_cookies());

    // The route list is built once per process. Building it sets a process-wide flag in Leptos
    // (leptos-rs/leptos#4773) under which an `SsrMode::Async` page rendered at that moment by
    // another server in the same process waits forever; the integration tests start many servers
    // in one process, and the list never changes.
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    let routes = ROUTES.get_or_init(|| generate_route_list(App)).clone();
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            security_headers::provide_request_nonce();
            // Lets <Redirect/> answer a server-rendered request with a real 302.
            leptos_router::components::provide_server_redirect(leptos_axum::redirect);
        }
    };
    let app_shell = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    Ok(Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route(app::ssr::MICROSOFT_CALLBACK_PATH, get(routes::microsoft_connect::callback))
        .route(routes::microsoft_connect::FINISHING_PATH, get(routes::microsoft_connect::finishing))
        .route(app::ssr::RECOVERY_CONSENT_CALLBACK_PATH, get(routes::recovery_consent::callback))
        .route(app::ssr::MICROSOFT_SIGN_IN_PATH, get(routes::microsoft_sign_in::start))
        .route(app::ssr::MICROSOFT_SIGN_IN_CALLBACK_PATH, get(routes::microsoft_sign_in::callback))
        .route(
            app::ssr::VERIFIED_ID_CALLBACK_PATH,
            // The handler reads the body itself, after the key, within 10 MB and the budget.
            post(routes::verified_id_callback::callback).layer(Extension(
                routes::verified_id_callback::CallbackBudget::new(
                    state.settings.capacity.callback_inflight_bytes,
                ),
            )),
        )
        .merge(crate::api_v1::router(&state))
        .route("/verify/{token}/events", get(routes::events::recipient))
        .route("/verify/{token}/status", get(routes::link_status::link_status))
        .route("/organization/verifications/{id}/events", get(routes::events::agent))
        .route("/organization/tickets/{id}/events", get(routes::events::ticket))
        .leptos_routes_with_context(&state, routes, context.clone(), app_shell)
        // Static files, else the app's own 404 page, rendered with the same context
        // as every other page (its header asks who is signed in).
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            cross_site::refuse_cross_site,
        ))
        // Event streams end themselves when the server stops, and are counted while open.
        .layer(Extension(shutdown))
        .layer(Extension(routes::stream_slots::StreamSlots::new(&state.settings.capacity)))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::sessions::record_client,
        ))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit::limit))
        .layer(
            // Log paths without query strings, and with link tokens blanked out.
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    tracing::info_span!("http", method = %request.method(), path = %loggable_path(request.uri().path()))
                })
                // A 5xx is a warning here: our own failures are logged once, as errors, with
                // their cause where they happen (`ssr::internal`); a 503 because Microsoft is
                // not answering is not our error.
                .on_failure(
                    tower_http::trace::DefaultOnFailure::new().level(tracing::Level::WARN),
                ),
        )
        .layer(middleware::from_fn_with_state(
            security_headers::SecurityHeaders::new(&state),
            security_headers::add,
        ))
        .with_state(state))
}

/// A request path fit for logs: the secret segment of a verification, invite, reset or
/// confirmation link is replaced, so logs never hold a working link.
pub fn loggable_path(path: &str) -> String {
    for prefix in crate::site_files::SECRET_LINK_PREFIXES {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest
                .split_once('/')
                .map(|(_, tail)| format!("/{tail}"))
                .unwrap_or_default();
            return format!("{prefix}{{token}}{tail}");
        }
    }
    path.to_owned()
}

/// How a committed event reaches the open pages: within this process on SQLite (one
/// instance); through PostgreSQL's `LISTEN/NOTIFY` to every instance otherwise.
fn relay_for(pool: &Pool) -> Arc<dyn Publisher> {
    match pool {
        Pool::Sqlite(_) => InProcess::new(),
        Pool::Postgres(pool) => PostgresRelay::start(pool.clone()),
    }
}

/// Microsoft sends nothing when a request simply runs out: links that expire are
/// marked expired here, with an event the agent sees.
async fn expire_overdue_verifications(verifier: Arc<Verifier>, shutdown: Shutdown) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            () = shutdown.triggered() => return,
            _ = tick.tick() => {}
        }
        match verifier.expire_overdue().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "expired verification links"),
            Err(error) => tracing::error!(%error, "expiring verification links"),
        }
    }
}

/// Where the compiled site (`pkg/traceless.js`, `.wasm`, `.css`) lives: cargo-leptos
/// says so in `LEPTOS_SITE_ROOT`; otherwise `target/site` of this workspace.
fn site_root() -> String {
    if let Ok(root) = std::env::var("LEPTOS_SITE_ROOT") {
        return root;
    }
    let relative = PathBuf::from("target/site");
    if relative.exists() {
        return relative.display().to_string();
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/site")
        .display()
        .to_string()
}

/// Deletes expired sessions every `period` until the server stops. A failed round (the
/// database locked or briefly unreachable) is logged and tried again after `retry`:
/// tower-sessions' own `continuously_delete_expired` stops for good at its first error.
async fn keep_deleting_expired_sessions<F, Fut, E>(
    mut delete_expired: F,
    period: Duration,
    retry: Duration,
    shutdown: Shutdown,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    loop {
        let pause = match delete_expired().await {
            Ok(()) => period,
            Err(error) => {
                tracing::warn!(%error, retry_in = ?retry, "deleting expired sessions failed");
                retry
            }
        };
        tokio::select! {
            () = shutdown.triggered() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::{keep_deleting_expired_sessions, loggable_path};
    use crate::shutdown::Shutdown;

    #[tokio::test]
    async fn the_session_sweep_keeps_going_after_an_error_and_stops_with_the_server() {
        let rounds = Arc::new(AtomicUsize::new(0));
        let shutdown = Shutdown::new();
        let sweep = tokio::spawn(keep_deleting_expired_sessions(
            {
                let rounds = rounds.clone();
                move || {
                    let round = rounds.fetch_add(1, Ordering::SeqCst);
                    async move {
                        match round {
                            0 | 1 => Err("database is locked"),
                            _ => Ok(()),
                        }
                    }
                }
            },
            Duration::from_millis(5),
            Duration::from_millis(5),
            shutdown.clone(),
        ));
        tokio::time::timeout(Duration::from_secs(5), async {
            while rounds.load(Ordering::SeqCst) < 4 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("rounds after the errors");
        shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(1), sweep)
            .await
            .expect("the sweep stops with the server")
            .unwrap();
    }

    #[test]
    fn link_tokens_never_reach_the_logs() {
        assert_eq!(loggable_path("/verify/abcDEF123_-xyz"), "/verify/{token}");
        assert_eq!(
            loggable_path("/verify/abcDEF123_-xyz/events"),
            "/verify/{token}/events"
        );
        assert_eq!(loggable_path("/invite/secret"), "/invite/{token}");
        assert_eq!(
            loggable_path("/reset-password/secret"),
            "/reset-password/{token}"
        );
        assert_eq!(
            loggable_path("/confirm-email/secret"),
            "/confirm-email/{token}"
        );
        assert_eq!(loggable_path("/organization/team"), "/organization/team");
    }
}
