//! Shared emulator state: the seed, the signing key, and what Microsoft would remember between
//! calls (consents, authorization codes, refresh tokens, presentation requests).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use crate::faults::Faults;
use crate::keys::Keys;
use crate::seed::Seed;
use crate::verifiedid::PresentationRequest;

/// Cheap to clone; everything lives behind one `Arc`.
#[derive(Clone)]
pub struct EmulatorState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub base: String,
    seed: RwLock<Seed>,
    pub keys: Keys,
    store: Mutex<Store>,
    pub faults: Faults,
    pub http: reqwest::Client,
}

#[derive(Default)]
pub(crate) struct Store {
    /// (tenant id, client id): an admin consented for the whole tenant.
    pub tenant_consents: HashSet<(String, String)>,
    /// (user oid, client id): a user consented for themselves only.
    pub user_consents: HashSet<(String, String)>,
    /// Sign-in pages shown and not yet answered, by transaction id.
    pub pending: HashMap<String, crate::login::PendingSignIn>,
    pub codes: HashMap<String, crate::login::AuthCode>,
    pub refresh_tokens: HashMap<String, crate::login::RefreshGrant>,
    pub requests: HashMap<String, PresentationRequest>,
    /// Requests whose `request_retrieved` is held back by an `out_of_order` fault.
    pub deferred_retrieved: HashSet<String>,
}

impl EmulatorState {
    /// `base` is the emulator's own base URL without a trailing slash, e.g. `http://127.0.0.1:4000`.
    pub fn new(base: &str, seed: Seed) -> anyhow::Result<EmulatorState> {
        let mut store = Store::default();
        for t in &seed.tenants {
            for c in &t.consented_clients {
                store
                    .tenant_consents
                    .insert((t.id.to_ascii_lowercase(), c.to_ascii_lowercase()));
            }
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(EmulatorState(Arc::new(Inner {
            base: base.trim_end_matches('/').to_string(),
            seed: RwLock::new(seed),
            keys: Keys::dev()?,
            store: Mutex::new(store),
            faults: Faults::default(),
            http,
        })))
    }

    pub(crate) fn seed(&self) -> RwLockReadGuard<'_, Seed> {
        self.0.seed.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.0.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn login_url(&self) -> String {
        format!("{}/login", self.0.base)
    }
    pub(crate) fn graph_url(&self) -> String {
        format!("{}/graph", self.0.base)
    }
    pub(crate) fn verified_id_url(&self) -> String {
        format!("{}/verifiedid", self.0.base)
    }
    pub(crate) fn authenticator_url(&self) -> String {
        format!("{}/authenticator", self.0.base)
    }

    /// The v2.0 issuer for a tenant GUID (or Microsoft's `{tenantid}` placeholder).
    pub(crate) fn issuer(&self, tid: &str) -> String {
        format!("{}/{tid}/v2.0", self.login_url())
    }

    /// Adds a redirect URI to a registered client app (tests learn their port after binding).
    pub fn register_redirect_uri(&self, client_id: &str, uri: &str) -> bool {
        let mut seed = self.0.seed.write().unwrap_or_else(|e| e.into_inner());
        match seed
            .clients
            .iter_mut()
            .find(|c| c.client_id.eq_ignore_ascii_case(client_id))
        {
            Some(c) => {
                if !c.redirect_uris.iter().any(|u| u == uri) {
                    c.redirect_uris.push(uri.to_string());
                }
                true
            }
            None => false,
        }
    }

    /// Records an admin's tenant-wide consent, as if they pressed Accept with prompt=consent.
    pub fn grant_admin_consent(&self, tenant_id: &str, client_id: &str) {
        self.store().tenant_consents.insert((
            tenant_id.to_ascii_lowercase(),
            client_id.to_ascii_lowercase(),
        ));
    }

    /// Removes a tenant's consent (the admin removed the app in Entra).
    pub fn revoke_admin_consent(&self, tenant_id: &str, client_id: &str) {
        self.store().tenant_consents.remove(&(
            tenant_id.to_ascii_lowercase(),
            client_id.to_ascii_lowercase(),
        ));
    }

    /// Lifetime of presentation requests created from now on.
    pub fn set_request_lifetime_secs(&self, secs: u64) {
        self.0
            .seed
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .request_lifetime_secs = secs;
    }

    /// Makes a presentation request expire now (the wallet can no longer use it); false if unknown.
    pub fn expire_request(&self, request_id: &str) -> bool {
        match self.store().requests.get_mut(request_id) {
            Some(r) => {
                r.expiry = crate::keys::now() - 1;
                true
            }
            None => false,
        }
    }

    pub(crate) fn tenant_consented(&self, tid: &str, client_id: &str) -> bool {
        self.store()
            .tenant_consents
            .contains(&(tid.to_ascii_lowercase(), client_id.to_ascii_lowercase()))
    }
}
