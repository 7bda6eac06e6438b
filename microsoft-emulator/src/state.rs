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
    /// How long a consent given at the sign-in pages takes to reach the token endpoint.
    propagation: Mutex<Propagation>,
}

/// Consent propagation delays (both zero by default). Microsoft's directory is replicated: for
/// a while after admin consent, client credentials may fail with AADSTS700016 (the service
/// principal is not there yet) or succeed without `roles` (the app role assignment is not).
// Learn: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
// ("it can take a few minutes for the permissions to propagate" after admin consent; a token
// without the roles claim is issued when no role is assigned).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Propagation {
    /// After consent, client credentials answer AADSTS700016 for this long.
    #[serde(default)]
    pub service_principal_ms: u64,
    /// After consent, app tokens carry no `roles` for this long (counted from the consent).
    #[serde(default)]
    pub roles_ms: u64,
}

#[derive(Default)]
pub(crate) struct Store {
    /// What was consented to whom (service principals, delegated grants, app role assignments).
    pub grants: Grants,
    /// Sign-in sessions (the `emu_estsauth` cookie's value) → the signed-in user's oid.
    pub sessions: HashMap<String, String>,
    /// Sign-in pages shown and not yet answered, by transaction id.
    pub pending: HashMap<String, crate::signin::PendingSignIn>,
    pub codes: HashMap<String, crate::login::AuthCode>,
    pub refresh_tokens: HashMap<String, crate::login::RefreshGrant>,
    /// Refresh tokens already exchanged for new ones (refused if presented again; see
    /// `login::redeem_refresh`).
    pub spent_refresh_tokens: HashSet<String>,
    /// The serial number of the last refresh token issued (`RefreshGrant::serial`).
    pub refresh_serial: u64,
    /// `revokeSignInSessions` per user (`tid:oid`, lowercase): refresh tokens with a serial up
    /// to this one are refused (the user's `signInSessionsValidFromDateTime`).
    pub sessions_valid_after: HashMap<(String, String), u64>,
    pub requests: HashMap<String, PresentationRequest>,
    /// Requests whose `request_retrieved` is held back by an `out_of_order` fault.
    pub deferred_retrieved: HashSet<String>,
    /// Each tenant's Temporary Access Pass policy and the passes issued.
    pub temporary_access_passes: crate::temporary_access_pass::TapStore,
}

/// The consent state of client apps in tenants, as Entra stores it: the app's service principal in
/// the tenant, `oauth2PermissionGrant`s (delegated; for all principals or one user) and
/// `appRoleAssignment`s (application permissions). Keys are lowercase.
#[derive(Default)]
pub(crate) struct Grants {
    /// (tenant id, client id): the client's service principal exists in the tenant. Any consent
    /// creates it (consent-types-developer); client credentials need it (AADSTS700016 otherwise).
    pub service_principals: HashSet<(String, String)>,
    /// (tenant id, client id) → delegated permission keys granted for every user of the tenant.
    pub tenant_delegated: HashMap<(String, String), HashSet<String>>,
    /// (user oid, client id) → delegated permission keys the user (or an admin for themselves)
    /// consented to.
    pub user_delegated: HashMap<(String, String), HashSet<String>>,
    /// (tenant id, client id) → app roles granted by admin consent. Only these go into `roles`
    /// (v2-oauth2-client-creds-grant-flow: app-only tokens can be issued without a roles claim).
    pub app_roles: HashMap<(String, String), HashSet<String>>,
    /// (tenant id, client id) → when someone last consented at the sign-in pages (see
    /// `Propagation`). Consents from the seed or the control API are propagated already.
    pub consented_at: HashMap<(String, String), std::time::Instant>,
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_ascii_lowercase(), b.to_ascii_lowercase())
}

impl Grants {
    pub fn add_tenant_delegated(
        &mut self,
        tid: &str,
        client: &str,
        keys: impl IntoIterator<Item = String>,
    ) {
        self.service_principals.insert(pair(tid, client));
        self.tenant_delegated
            .entry(pair(tid, client))
            .or_default()
            .extend(keys);
    }

    pub fn add_user_delegated(
        &mut self,
        tid: &str,
        oid: &str,
        client: &str,
        keys: impl IntoIterator<Item = String>,
    ) {
        self.service_principals.insert(pair(tid, client));
        self.user_delegated
            .entry(pair(oid, client))
            .or_default()
            .extend(keys);
    }

    pub fn add_app_roles(&mut self, tid: &str, client: &str, roles: &[String]) {
        self.service_principals.insert(pair(tid, client));
        self.app_roles
            .entry(pair(tid, client))
            .or_default()
            .extend(roles.iter().cloned());
    }

    /// Delegated permission keys in force for a user: their own grants and the tenant's.
    pub fn delegated_for(&self, tid: &str, oid: &str, client: &str) -> HashSet<String> {
        let mut out = self
            .tenant_delegated
            .get(&pair(tid, client))
            .cloned()
            .unwrap_or_default();
        if let Some(own) = self.user_delegated.get(&pair(oid, client)) {
            out.extend(own.iter().cloned());
        }
        out
    }

    /// Marks a consent just given at the sign-in pages (starts its propagation delay).
    pub fn note_consent(&mut self, tid: &str, client: &str) {
        self.consented_at
            .insert(pair(tid, client), std::time::Instant::now());
    }

    /// How long ago the tenant consented at the sign-in pages, if it did.
    pub fn consent_age(&self, tid: &str, client: &str) -> Option<std::time::Duration> {
        self.consented_at
            .get(&pair(tid, client))
            .map(std::time::Instant::elapsed)
    }

    pub fn has_service_principal(&self, tid: &str, client: &str) -> bool {
        self.service_principals.contains(&pair(tid, client))
    }

    /// App roles granted in the tenant, in a stable order.
    pub fn roles(&self, tid: &str, client: &str) -> Vec<String> {
        let mut roles: Vec<String> = self
            .app_roles
            .get(&pair(tid, client))
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default();
        roles.sort();
        roles
    }
}

impl EmulatorState {
    /// `base` is the emulator's own base URL without a trailing slash, e.g. `http://127.0.0.1:4000`.
    pub fn new(base: &str, seed: Seed) -> anyhow::Result<EmulatorState> {
        let mut store = Store::default();
        for t in &seed.tenants {
            for c in &t.consented_clients {
                if let Some(client) = seed.client(c) {
                    grant_full(&mut store.grants, &t.id, client);
                }
            }
        }
        for c in &seed.clients {
            for a in &c.assigned_app_roles {
                store.grants.add_app_roles(
                    &a.tenant_id,
                    &c.client_id,
                    std::slice::from_ref(&a.role),
                );
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
            propagation: Mutex::new(Propagation::default()),
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

    /// Full admin consent for the tenant, as after the admin consent endpoint: every static
    /// delegated permission for all users, and every app role (v2-admin-consent). It skips the
    /// service-principal check of the real flow, so it also works in a tenant without Verified
    /// ID (whose Verified ID tokens still fail with AADSTS500011). False if the client is unknown.
    pub fn grant_admin_consent(&self, tenant_id: &str, client_id: &str) -> bool {
        let Some(client) = self.seed().client(client_id).cloned() else {
            return false;
        };
        grant_full(&mut self.store().grants, tenant_id, &client);
        true
    }

    /// Tenant-wide consent to delegated permissions only, no app roles: what an admin gets by
    /// consenting for the organization to dynamic scopes (consent-types-developer). `scopes` are
    /// `{resource}/{permission}` (a bare name is Graph's); `{resource}/.default` means the app's
    /// static delegated permissions. False (and nothing granted) if a scope names an unknown
    /// resource or the client is unknown.
    pub fn grant_delegated_consent(
        &self,
        tenant_id: &str,
        client_id: &str,
        scopes: &[&str],
    ) -> bool {
        let Some(client) = self.seed().client(client_id).cloned() else {
            return false;
        };
        let mut keys = Vec::new();
        for s in scopes {
            match crate::scopes::split(s) {
                Ok((_, p)) if p == ".default" => keys.extend(
                    crate::scopes::static_delegated(&client)
                        .iter()
                        .map(|(r, p)| crate::scopes::key(r, p)),
                ),
                Ok((r, p)) => keys.push(crate::scopes::key(r, &p)),
                Err(_) => return false,
            }
        }
        self.store()
            .grants
            .add_tenant_delegated(tenant_id, client_id, keys);
        true
    }

    /// Removes the app from the tenant (the admin deleted its enterprise application): its
    /// service principal, every grant in the tenant, and its users' own consents.
    pub fn revoke_admin_consent(&self, tenant_id: &str, client_id: &str) {
        let oids: Vec<String> = self
            .seed()
            .tenant(tenant_id)
            .map(|t| t.users.iter().map(|u| u.oid.clone()).collect())
            .unwrap_or_default();
        let mut store = self.store();
        let g = &mut store.grants;
        let k = pair(tenant_id, client_id);
        g.service_principals.remove(&k);
        g.tenant_delegated.remove(&k);
        g.app_roles.remove(&k);
        for oid in oids {
            g.user_delegated.remove(&pair(&oid, client_id));
        }
    }

    /// `revokeSignInSessions` for a user (by object id, UPN or mail): every refresh token issued to
    /// any app for them so far is refused, and their sign-in sessions end. False if the tenant
    /// or user is unknown.
    // Learn: https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions ("Invalidates
    // all the refresh tokens issued to applications for a user (and session cookies in a
    // user's browser)"). Microsoft notes a delay of a few minutes; here it is immediate.
    pub fn revoke_sign_in_sessions(&self, tenant_id: &str, user: &str) -> bool {
        let Some(oid) = self.seed().tenant(tenant_id).and_then(|t| {
            t.users
                .iter()
                .find(|u| u.is_named(user))
                .map(|u| u.oid.clone())
        }) else {
            return false;
        };
        let mut store = self.store();
        let serial = store.refresh_serial;
        store
            .sessions_valid_after
            .insert(pair(tenant_id, &oid), serial);
        store.sessions.retain(|_, o| !o.eq_ignore_ascii_case(&oid));
        true
    }

    /// Replaces a user's directory roles (an admin changed them in Entra). Refresh tokens stay
    /// valid (a role change is not among what revokes them: refresh-tokens, "Token
    /// revocation"); the admin API checks the roles at each call. False if unknown.
    pub fn set_user_roles(&self, tenant_id: &str, user: &str, roles: &[&str]) -> bool {
        self.with_tenant(tenant_id, |t| {
            let Some(u) = t.users.iter_mut().find(|u| u.is_named(user)) else {
                return false;
            };
            u.roles = roles.iter().map(|r| r.to_string()).collect();
            // An explicit empty list means no role, not "Global Administrator by `is_admin`".
            u.is_admin = !u.roles.is_empty() && u.is_admin;
            true
        })
    }

    /// Changes a user's mail (an admin renamed the mailbox in Entra); the object id stays.
    /// `None` removes it. False if the tenant or user is unknown.
    pub fn set_user_mail(&self, tenant_id: &str, user: &str, mail: Option<&str>) -> bool {
        self.with_tenant(tenant_id, |t| {
            let Some(u) = t.users.iter_mut().find(|u| u.is_named(user)) else {
                return false;
            };
            u.mail = mail.map(str::to_owned);
            true
        })
    }

    /// Changes whether an authority's linked domain is verified (the admin verified or broke
    /// it in Entra). False if the tenant or authority is unknown.
    pub fn set_linked_domain_verified(
        &self,
        tenant_id: &str,
        authority_id: &str,
        verified: bool,
    ) -> bool {
        self.with_authority(tenant_id, authority_id, |a| {
            a.linked_domains_verified = verified
        })
    }

    /// Adds a contract (a credential type) to an authority. False if unknown.
    pub fn add_contract(
        &self,
        tenant_id: &str,
        authority_id: &str,
        contract: crate::seed::Contract,
    ) -> bool {
        self.with_authority(tenant_id, authority_id, |a| a.contracts.push(contract))
    }

    fn with_tenant(
        &self,
        tenant_id: &str,
        change: impl FnOnce(&mut crate::seed::Tenant) -> bool,
    ) -> bool {
        let mut seed = self.0.seed.write().unwrap_or_else(|e| e.into_inner());
        seed.tenants
            .iter_mut()
            .find(|t| t.id.eq_ignore_ascii_case(tenant_id))
            .is_some_and(change)
    }

    fn with_authority(
        &self,
        tenant_id: &str,
        authority_id: &str,
        change: impl FnOnce(&mut crate::seed::Authority),
    ) -> bool {
        self.with_tenant(tenant_id, |t| {
            match t
                .verified_id
                .iter_mut()
                .chain(t.other_authorities.iter_mut())
                .find(|a| a.id.eq_ignore_ascii_case(authority_id))
            {
                Some(a) => {
                    change(a);
                    true
                }
                None => false,
            }
        })
    }

    /// A domain leaves a tenant (an admin removed it in Entra): Graph stops listing it.
    /// False if the tenant or the domain is unknown.
    pub fn remove_domain(&self, tenant_id: &str, domain: &str) -> bool {
        let mut seed = self.0.seed.write().unwrap_or_else(|e| e.into_inner());
        let Some(tenant) = seed
            .tenants
            .iter_mut()
            .find(|t| t.id.eq_ignore_ascii_case(tenant_id))
        else {
            return false;
        };
        let before = tenant.domains.len();
        tenant
            .domains
            .retain(|d| !d.name.eq_ignore_ascii_case(domain));
        tenant.domains.len() != before
    }

    /// Consent propagation delays for consents given from now on at the sign-in pages.
    pub fn set_consent_propagation(&self, propagation: Propagation) {
        *self.0.propagation.lock().unwrap_or_else(|e| e.into_inner()) = propagation;
    }

    pub(crate) fn consent_propagation(&self) -> Propagation {
        *self.0.propagation.lock().unwrap_or_else(|e| e.into_inner())
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
}

/// Every static delegated permission for all users, and every app role.
fn grant_full(grants: &mut Grants, tid: &str, client: &crate::seed::ClientApp) {
    let keys = crate::scopes::static_delegated(client)
        .iter()
        .map(|(r, p)| crate::scopes::key(r, p))
        .collect::<Vec<_>>();
    grants.add_tenant_delegated(tid, &client.client_id, keys);
    grants.add_app_roles(tid, &client.client_id, &client.app_roles);
}
