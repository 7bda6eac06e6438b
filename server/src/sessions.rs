//! Where sessions live: rows of `account_sessions` in the application's database (any
//! instance serves any browser), reached through tower-sessions' `SessionStore`. The cookie
//! value is hashed here, at the store's boundary, so nothing below ever sees it; and
//! [`record_client`] notes when and from where each session was last used.

use app::ssr::AppState;
use axum::extract::{Request, State};
use axum::http::header::USER_AGENT;
use axum::middleware::Next;
use axum::response::Response;
use time::OffsetDateTime;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use traceless::accounts::UserId;
use traceless::accounts::sessions::{self, Client, IDLE_LIFETIME, SessionKey, USER_KEY};
use traceless::db::Pool;

use crate::rate_limit::ClientAddr;
use crate::site_files::is_static_asset;

/// The cookie's name over HTTPS. The `__Host-` prefix makes browsers refuse the cookie
/// unless it is `Secure`, has `Path=/` and no `Domain`: no subdomain or plain-HTTP page
/// can plant or overwrite it.
pub const SECURE_COOKIE: &str = "__Host-traceless_session";

/// The cookie's name over plain HTTP (local development on `http://127.0.0.1`), where a
/// browser would drop a `__Host-` cookie, which must be `Secure`.
pub const PLAIN_COOKIE: &str = "traceless_session";

/// The session layer: cookie `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Domain`; `Secure`
/// and `__Host-` prefixed when the public URL is https; 12 hours idle.
pub fn layer(store: Store, secure: bool) -> SessionManagerLayer<Store> {
    SessionManagerLayer::new(store)
        .with_name(if secure { SECURE_COOKIE } else { PLAIN_COOKIE })
        .with_path("/")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_expiry(Expiry::OnInactivity(idle_lifetime()))
}

fn idle_lifetime() -> time::Duration {
    time::Duration::try_from(IDLE_LIFETIME).expect("twelve hours fit a time::Duration")
}

/// Notes this request on its session's row (device, address, last seen), at most once a
/// minute per session; when it does, the cookie is renewed too, so the 12 idle hours run
/// from the last use. Runs inside the session layer, behind the rate limiter (which found
/// the client's address, trusted proxies considered). The site's own files (wasm, scripts)
/// are not a use of the session and cost no database read.
pub async fn record_client(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if is_static_asset(request.uri().path()) {
        return next.run(request).await;
    }
    let seen = request.extensions().get::<Session>().and_then(|session| {
        let id = session.id()?;
        let address = request.extensions().get::<ClientAddr>()?.0;
        let agent = request
            .headers()
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok());
        Some((session.clone(), id, Client::new(agent, address)))
    });
    if let Some((session, id, client)) = seen {
        let key = SessionKey::of_cookie(&id.to_string());
        match sessions::seen(&state.pool, &key, &client, OffsetDateTime::now_utc()).await {
            // Marks the session changed: the layer saves it with a fresh expiry and
            // sends the cookie again.
            Ok(true) => session.set_expiry(Some(Expiry::OnInactivity(idle_lifetime()))),
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "recording where a session was used"),
        }
    }
    next.run(request).await
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

impl Store {
    pub fn new(pool: &Pool) -> Self {
        Self { pool: pool.clone() }
    }
}

fn key(id: &Id) -> SessionKey {
    SessionKey::of_cookie(&id.to_string())
}

/// The row's copy of the signed-in person (see [`USER_KEY`]).
fn user_of(record: &Record) -> Option<UserId> {
    record
        .data
        .get(USER_KEY)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .map(UserId)
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

#[async_trait::async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = encode(record)?;
        // A 128-bit random id repeats practically never; if it does, draw again.
        while !sessions::insert(
            &self.pool,
            &key(&record.id),
            user_of(record),
            &data,
            record.expiry_date,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        sessions::save(
            &self.pool,
            &key(&record.id),
            user_of(record),
            &encode(record)?,
            record.expiry_date,
        )
        .await
        .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(stored) = sessions::load(&self.pool, &key(id), OffsetDateTime::now_utc())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&stored.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date: stored.expires_at,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sessions::delete(&self.pool, &key(id))
            .await
            .map_err(backend)
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for Store {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sessions::delete_expired(&self.pool, OffsetDateTime::now_utc())
            .await
            .map(drop)
            .map_err(backend)
    }
}
