//! Stopping on purpose. SIGTERM or Ctrl-C (or a test) triggers one shared signal; every open
//! event stream hears it, tells its page to reconnect, and ends. Without that, graceful
//! shutdown would wait on streams that never end, and a restart would freeze every open page.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// The most a stop may take: connections still open after this are dropped.
pub const GRACE: Duration = Duration::from_secs(10);

/// A cloneable handle on the server's stop signal.
#[derive(Clone, Debug, Default)]
pub struct Shutdown(CancellationToken);

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the stop. Triggering twice is harmless.
    pub fn trigger(&self) {
        self.0.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Resolves once the stop has started (at once if it already has).
    pub async fn triggered(&self) {
        self.0.cancelled().await
    }
}

/// Resolves on SIGTERM (what service managers and container runtimes send) or Ctrl-C
/// (SIGINT). The handlers are installed when this is called, not when the future is first
/// polled: a SIGTERM that arrives right after "listening" must stop us cleanly, not kill us
/// with the default action.
pub fn os_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
            match s {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(interrupt) => tracing::info!("Ctrl-C: stopping"),
            () = wait(terminate) => tracing::info!("SIGTERM: stopping"),
        }
    }
}
