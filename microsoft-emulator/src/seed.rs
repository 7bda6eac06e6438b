//! The emulator's world: tenants, their domains, Verified ID authorities, users with their
//! credentials, and the registered client apps. Loaded from JSON or `Seed::demo()`.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The demo client app the product uses by default. Only the emulator knows it.
pub const DEV_CLIENT_ID: &str = "5f0c7a3e-9d1b-4c2a-8e6f-2b7d9a1c4e80";
/// The demo client app's secret: not a real secret, it only works against the emulator.
pub const DEV_CLIENT_SECRET: &str = "emulator-dev-secret-not-valid-at-microsoft";

pub const CONTOSO_TENANT_ID: &str = "84841066-274d-4ec0-a5c1-276be684bdd3";
pub const CONTOSO_DID: &str = "did:web:verifiedid.contoso.com";
pub const CONTOSO_AUTHORITY_ID: &str = "00aa00aa-bb11-cc22-dd33-44ee44ee44ee";
/// Contoso's Global Administrator; holds a valid credential.
pub const CONTOSO_ADMIN_EMAIL: &str = "adele.vance@contoso.com";
/// A Contoso employee with a valid VerifiedEmployee credential.
pub const CONTOSO_EMPLOYEE_EMAIL: &str = "megan.bowen@contoso.com";
/// A second Contoso employee with a valid credential.
pub const CONTOSO_EMPLOYEE2_EMAIL: &str = "lee.gu@contoso.com";
/// A Contoso employee whose credential has been revoked.
pub const CONTOSO_REVOKED_EMAIL: &str = "alex.wilber@contoso.com";
/// A Contoso employee who never got a credential.
pub const CONTOSO_NO_CREDENTIAL_EMAIL: &str = "pradeep.gupta@contoso.com";

pub const FABRIKAM_TENANT_ID: &str = "a7f3d2c1-5b6e-4f8a-9c0d-1e2f3a4b5c6d";
pub const FABRIKAM_DID: &str = "did:web:verifiedid.fabrikam.com";
pub const FABRIKAM_AUTHORITY_ID: &str = "11bb11bb-cc22-dd33-ee44-55ff55ff55ff";
pub const FABRIKAM_ADMIN_EMAIL: &str = "diego.siciliani@fabrikam.com";
pub const FABRIKAM_EMPLOYEE_EMAIL: &str = "isaiah.langer@fabrikam.com";

/// A tenant where Verified ID was never set up.
pub const NORTHWIND_TENANT_ID: &str = "3c9e1f7a-2d4b-4a6c-8e0f-9b1d3f5a7c2e";
pub const NORTHWIND_ADMIN_EMAIL: &str = "nestor.wilke@northwindtraders.com";
pub const NORTHWIND_EMPLOYEE_EMAIL: &str = "joni.sherman@northwindtraders.com";

/// Woodgrove Bank: two published authorities with verified linked domains (a legacy `did:ion`
/// listed first, and the `did:web` one that issues the users' credentials), plus one odd entry
/// in the authorities list that a reader must skip.
pub const WOODGROVE_TENANT_ID: &str = "5d2c8b4e-7a61-4f3e-9b0c-2e4f6a8c0d11";
pub const WOODGROVE_DID: &str = "did:web:verifiedid.woodgrovebank.com";
pub const WOODGROVE_AUTHORITY_ID: &str = "22cc22cc-dd33-ee44-ff55-66aa66aa66aa";
pub const WOODGROVE_LEGACY_DID: &str =
    "did:ion:EiBq6VxK3bC9tq1yFHMh0Yk8pR2eW5sN7uJ4aL1oZ0cG3dQ:eyJkZWx0YSI6e319";
pub const WOODGROVE_LEGACY_AUTHORITY_ID: &str = "33dd33dd-ee44-ff55-aa66-77bb77bb77bb";
pub const WOODGROVE_ADMIN_EMAIL: &str = "allan.deyoung@woodgrovebank.com";
pub const WOODGROVE_EMPLOYEE_EMAIL: &str = "christie.cline@woodgrovebank.com";

/// Litware: one `did:web` authority whose linked domain is NOT verified.
pub const LITWARE_TENANT_ID: &str = "6e3d9c5f-8b72-4a4f-8c1d-3f5a7b9d1e22";
pub const LITWARE_DID: &str = "did:web:verifiedid.litware.com";
pub const LITWARE_AUTHORITY_ID: &str = "44ee44ee-ff55-aa66-bb77-88cc88cc88cc";
pub const LITWARE_ADMIN_EMAIL: &str = "henrietta.mueller@litware.com";
pub const LITWARE_EMPLOYEE_EMAIL: &str = "patti.fernandez@litware.com";

/// Adventure Works: Verified ID set up (an authority), but no contracts, so no credentials.
pub const ADVENTURE_WORKS_TENANT_ID: &str = "7f4e0d6a-9c83-4b5a-9d2e-4a6b8c0e2f33";
pub const ADVENTURE_WORKS_DID: &str = "did:web:verifiedid.adventure-works.com";
pub const ADVENTURE_WORKS_AUTHORITY_ID: &str = "55ff55ff-aa66-bb77-cc88-99dd99dd99dd";
pub const ADVENTURE_WORKS_ADMIN_EMAIL: &str = "grady.archie@adventure-works.com";
pub const ADVENTURE_WORKS_EMPLOYEE_EMAIL: &str = "irvin.sayers@adventure-works.com";

/// Tailspin Toys: two contracts, `VerifiedEmployee` and the custom `TailspinMember`
/// (claims `email`, `displayName`, `memberNumber`; no `mail`).
pub const TAILSPIN_TENANT_ID: &str = "8a5f1e7b-0d94-4c6b-8e3f-5b7c9d1f3a44";
pub const TAILSPIN_DID: &str = "did:web:verifiedid.tailspintoys.com";
pub const TAILSPIN_AUTHORITY_ID: &str = "66aa66aa-bb77-cc88-dd99-00ee00ee00ee";
/// The custom credential type whose email claim is `email`.
pub const TAILSPIN_MEMBER_TYPE: &str = "TailspinMember";
/// Tailspin's admin; holds a TailspinMember credential.
pub const TAILSPIN_ADMIN_EMAIL: &str = "kayo.miwa@tailspintoys.com";
/// Holds a TailspinMember credential only.
pub const TAILSPIN_MEMBER_EMAIL: &str = "lidia.holloway@tailspintoys.com";
/// Holds a TailspinMember and a VerifiedEmployee credential.
pub const TAILSPIN_EMPLOYEE_EMAIL: &str = "miriam.graham@tailspintoys.com";

/// A Contoso user without `mail` in the directory, with a valid VerifiedEmployee credential
/// (her presented claims carry no `mail`). She is addressed by UPN.
pub const CONTOSO_NO_MAIL_UPN: &str = "johanna.lorenz@contoso.onmicrosoft.com";

/// The service provider's own tenant (Traceless, the demo app's home tenant): Verified ID set up,
/// and the demo client consented at start, as an app is in its home tenant.
pub const PROVIDER_TENANT_ID: &str = "9b6a2f8c-1ea5-4d7c-9f40-6c8d0e2a4b55";
pub const PROVIDER_DID: &str = "did:web:verifiedid.traceless.example";
pub const PROVIDER_AUTHORITY_ID: &str = "77bb77bb-cc88-dd99-ee00-11ff11ff11ff";
pub const PROVIDER_ADMIN_EMAIL: &str = "rowan.hale@traceless.example";

/// Relecloud: its only contract is a custom badge whose `email` the holder types in
/// (`selfIssued`): never directory-backed, never offered.
pub const RELECLOUD_TENANT_ID: &str = "a1c3e5f7-0b2d-4f6a-8c1e-3a5c7e9b1d01";
pub const RELECLOUD_DID: &str = "did:web:verifiedid.relecloud.com";
pub const RELECLOUD_ADMIN_EMAIL: &str = "ana.bowman@relecloud.com";
pub const RELECLOUD_EMPLOYEE_EMAIL: &str = "rob.young@relecloud.com";
pub const RELECLOUD_BADGE_TYPE: &str = "RelecloudBadge";

/// Wingtip Toys: its only contract maps `email` from an ID token hint (whatever the issuing
/// app copies in): usable only with the admin's explicit choice.
pub const WINGTIP_TENANT_ID: &str = "b2d4f6a8-1c3e-4a7b-9d2f-4b6d8f0c2e02";
pub const WINGTIP_DID: &str = "did:web:verifiedid.wingtiptoys.com";
pub const WINGTIP_ADMIN_EMAIL: &str = "ben.walters@wingtiptoys.com";
pub const WINGTIP_EMPLOYEE_EMAIL: &str = "cecil.folk@wingtiptoys.com";
pub const WINGTIP_PASS_TYPE: &str = "WingtipPass";

/// Lamna Healthcare: its only contract is a custom type mapping `email` from `idTokens` of the
/// tenant's own Entra sign-in (directory-backed), with a photo claim named `portrait`.
pub const LAMNA_TENANT_ID: &str = "c3e5a7b9-2d4f-4b8c-8e3a-5c7e9a1d3f03";
pub const LAMNA_DID: &str = "did:web:verifiedid.lamnahealthcare.com";
pub const LAMNA_ADMIN_EMAIL: &str = "dana.birkby@lamnahealthcare.com";
pub const LAMNA_EMPLOYEE_EMAIL: &str = "eli.lane@lamnahealthcare.com";
pub const LAMNA_MEMBER_TYPE: &str = "LamnaStaff";

/// Fourth Coffee: a contract that names itself `VerifiedEmployee` but maps `mail` from
/// `selfIssued`: not directory-backed, whatever its name.
pub const FOURTH_COFFEE_TENANT_ID: &str = "d4f6b8c0-3e5a-4c9d-9f4b-6d8f0b2e4a04";
pub const FOURTH_COFFEE_DID: &str = "did:web:verifiedid.fourthcoffee.com";
pub const FOURTH_COFFEE_ADMIN_EMAIL: &str = "faith.ng@fourthcoffee.com";

/// Alpine Ski House: VerifiedEmployee from the directory, but the Face Check add-on is not
/// enabled: a request with Face Check gets Microsoft's 400.
pub const ALPINE_TENANT_ID: &str = "e5a7c9d1-4f6b-4dae-8a5c-7e9a1c3f5b05";
pub const ALPINE_DID: &str = "did:web:verifiedid.alpineskihouse.com";
pub const ALPINE_ADMIN_EMAIL: &str = "gia.ruiz@alpineskihouse.com";
pub const ALPINE_EMPLOYEE_EMAIL: &str = "hugo.sato@alpineskihouse.com";

/// Redirect paths registered for the demo client on `127.0.0.1:3000` and `localhost:3000`.
/// Other URIs: `RunningEmulator::register_redirect_uri` or `POST /_control/redirect_uris`.
pub const DEMO_REDIRECT_PATHS: [&str; 4] = [
    "/auth/microsoft/callback",
    "/integrations/microsoft/callback",
    "/organization/integrations/microsoft/callback",
    // "Sign in with Microsoft": a second web redirect URI on the same registration.
    "/sign-in/microsoft/callback",
];

/// The credential type most demo authorities issue.
pub const VERIFIED_EMPLOYEE: &str = "VerifiedEmployee";

/// The granular, least-privilege app role for presentation requests (admin-api, whats-new:
/// "VerifiableCredential.Create.PresentRequest"); the demo app registers this one.
pub const PRESENT_REQUEST_ROLE: &str = "VerifiableCredential.Create.PresentRequest";

/// Everything the emulator knows. Field names are snake_case in the JSON file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Seed {
    pub tenants: Vec<Tenant>,
    pub clients: Vec<ClientApp>,
    /// Real Microsoft refuses a callback URL that is not public ("URL must be public").
    /// Off by default so loopback callbacks work locally.
    #[serde(default)]
    pub require_public_callback: bool,
    /// Lifetime of a presentation request (`expiry` = now + this). Microsoft: 300 s.
    #[serde(default = "default_request_lifetime")]
    pub request_lifetime_secs: u64,
}

fn default_request_lifetime() -> u64 {
    300
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tenant {
    /// The tenant GUID (`tid`).
    pub id: String,
    pub display_name: String,
    pub domains: Vec<Domain>,
    /// The authority that issues this tenant's users' credentials. `None` (and no
    /// `other_authorities`): Verified ID is not set up, so its service principals are missing.
    #[serde(default)]
    pub verified_id: Option<Authority>,
    /// Further authorities of the tenant (e.g. a legacy `did:ion`), listed before `verified_id`.
    #[serde(default)]
    pub other_authorities: Vec<Authority>,
    /// Raw entries appended to the admin API's authorities list as they are (malformed ones a
    /// client must skip).
    #[serde(default)]
    pub odd_authority_entries: Vec<Value>,
    pub users: Vec<User>,
    /// Client ids an admin already granted full admin consent to (static delegated permissions
    /// and app roles) for the whole tenant.
    #[serde(default)]
    pub consented_clients: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Domain {
    pub name: String,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub is_initial: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Authority {
    pub id: String,
    pub name: String,
    pub did: String,
    pub linked_domain_urls: Vec<String>,
    pub contracts: Vec<Contract>,
    /// Whether the Face Check add-on (billing) is enabled for this authority.
    #[serde(default = "yes")]
    pub face_check_enabled: bool,
    /// Whether the DID's linked domain is verified (admin API `linkedDomainsVerified`).
    #[serde(default = "yes")]
    pub linked_domains_verified: bool,
    /// `didModel.didDocumentStatus`.
    #[serde(default = "published")]
    pub did_document_status: String,
    /// The admin API's list and get answers leave out `linkedDomainsVerified`, as Microsoft's
    /// own List/Get authority examples do (admin-api); `validateWellKnownDidConfiguration`
    /// still tells.
    #[serde(default)]
    pub listing_omits_linked_domains_verified: bool,
    /// Extra fields merged into this authority's admin API JSON (fields a client does not know).
    #[serde(default)]
    pub extra_fields: Map<String, Value>,
}

fn yes() -> bool {
    true
}
fn published() -> String {
    "published".into()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Contract {
    pub id: String,
    pub name: String,
    pub vc_types: Vec<String>,
    /// The credential's claim names (`vc.credentialSubject.{claim}`). Empty for VerifiedEmployee
    /// means Microsoft's VerifiedEmployee claims.
    #[serde(default)]
    pub claims: Vec<String>,
    /// The attestation its claims are mapped from (`rules.attestations`), which decides how
    /// far a verifier can trust them.
    #[serde(default)]
    pub attestation: ContractAttestation,
    /// The claim the display shows as an image (`image/jpg;base64url`): Face Check's photo.
    /// `None`: `photo` when the credential has a claim of that name.
    #[serde(default)]
    pub photo_claim: Option<String>,
}

/// Where a contract's claims come from, as `rules.attestations` names the flows.
/// Learn: https://learn.microsoft.com/en-us/entra/verified-id/rules-and-display-definitions-model
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ContractAttestation {
    /// VerifiedEmployee: `accessTokens` (the directory); a custom type: `idTokens` from the
    /// tenant's own Entra sign-in.
    #[default]
    Auto,
    /// `accessTokens`: read from the tenant's directory.
    AccessTokens,
    /// `idTokens` from the identity provider whose OpenID configuration is `configuration`
    /// (`None`: the tenant's own Entra sign-in at this emulator).
    IdTokens {
        #[serde(default)]
        configuration: Option<String>,
    },
    /// `idTokenHints`: whatever the issuing app puts in the request.
    IdTokenHints,
    /// `presentations`: copied from another verifiable credential.
    Presentations,
    /// `selfIssued`: typed by the holder.
    SelfIssued,
}

/// The claims of Microsoft's VerifiedEmployee credential (verified-employee card).
pub const VERIFIED_EMPLOYEE_CLAIMS: [&str; 8] = [
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "preferredLanguage",
    "mail",
    "photo",
    "revocationId",
];

impl Contract {
    pub(crate) fn claim_names(&self) -> Vec<String> {
        if self.claims.is_empty() && self.vc_types.iter().any(|t| t == VERIFIED_EMPLOYEE) {
            VERIFIED_EMPLOYEE_CLAIMS
                .iter()
                .map(|c| c.to_string())
                .collect()
        } else {
            self.claims.clone()
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub oid: String,
    pub upn: String,
    #[serde(default)]
    pub mail: Option<String>,
    pub display_name: String,
    pub given_name: String,
    pub surname: String,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub preferred_language: Option<String>,
    #[serde(default)]
    pub is_admin: bool,
    /// Directory roles (Entra built-in role names, e.g. "Application Administrator"). Empty:
    /// a Global Administrator when `is_admin`, no role otherwise. See `User::can_consent_for_organization`
    /// and `User::admin_api_access`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The user's first credential in the (simulated) Authenticator.
    #[serde(default)]
    pub credential: Option<Credential>,
    /// Further credentials in the same wallet (e.g. a VerifiedEmployee beside a custom type).
    #[serde(default)]
    pub other_credentials: Vec<Credential>,
}

impl User {
    /// Whether `name` is the user's object id, UPN or mail (test controls name users any way).
    pub(crate) fn is_named(&self, name: &str) -> bool {
        self.oid.eq_ignore_ascii_case(name)
            || self.upn.eq_ignore_ascii_case(name)
            || self
                .mail
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(name))
    }

    /// The user's directory roles: `roles`, or Global Administrator for a seed that only says
    /// `is_admin`.
    pub(crate) fn directory_roles(&self) -> Vec<&str> {
        if self.roles.is_empty() && self.is_admin {
            vec![GLOBAL_ADMINISTRATOR]
        } else {
            self.roles.iter().map(String::as_str).collect()
        }
    }

    fn has_role(&self, wanted: &[&str]) -> bool {
        self.directory_roles()
            .iter()
            .any(|r| wanted.iter().any(|w| w.eq_ignore_ascii_case(r)))
    }

    /// Whether the user may grant tenant-wide admin consent to some permissions (delegated
    /// ones, app roles of APIs other than Microsoft Graph).
    // Learn: https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/grant-admin-consent
    // ("Prerequisites": Global Administrator, Privileged Role Administrator, Cloud Application
    // Administrator or Application Administrator).
    pub(crate) fn can_consent_for_organization(&self) -> bool {
        self.has_role(&CONSENT_ROLES)
    }

    /// Whether the user may grant tenant-wide admin consent to a grant that includes app roles
    /// on Microsoft Graph (application permissions): only Global Administrators and Privileged
    /// Role Administrators may; Cloud Application and Application Administrators may grant
    /// "any permission for any API except Microsoft Graph app roles (application permissions)".
    // Learn: https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/grant-admin-consent
    // ("Prerequisites"); also roles/delegate-by-task ("Consent to application permissions to
    // Microsoft Graph": Privileged Role Administrator).
    pub(crate) fn can_consent_to_graph_app_roles(&self) -> bool {
        self.has_role(&GRAPH_APP_ROLE_CONSENT_ROLES)
    }

    /// What the user's delegated token may do at the Verified ID admin API.
    // Learn: https://learn.microsoft.com/en-us/entra/verified-id/admin-api ("Authentication":
    // the user must be Global Administrator or Authentication Policy Administrator; a Global
    // Reader can make read-only calls).
    pub(crate) fn admin_api_access(&self) -> AdminApiAccess {
        if self.has_role(&[GLOBAL_ADMINISTRATOR, AUTHENTICATION_POLICY_ADMINISTRATOR]) {
            AdminApiAccess::ReadWrite
        } else if self.has_role(&[GLOBAL_READER]) {
            AdminApiAccess::Read
        } else {
            AdminApiAccess::None
        }
    }

    /// Every credential the user's wallet holds.
    pub(crate) fn credentials(&self) -> impl Iterator<Item = &Credential> {
        self.credential.iter().chain(self.other_credentials.iter())
    }
}

/// A credential in the user's (simulated) Authenticator, issued by their tenant's `verified_id`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Credential {
    /// The credential type (`VerifiedEmployee` by default).
    #[serde(default = "verified_employee")]
    pub vc_type: String,
    /// Claims of a custom type, as presented. For VerifiedEmployee the claims come from the
    /// user's profile (no `mail` claim when the user has no mail, as Microsoft omits empty ones).
    #[serde(default)]
    pub claims: Map<String, Value>,
    #[serde(default)]
    pub revoked: bool,
    /// `UrlEncode(Base64Encode(jpeg))` as Microsoft presents it; a placeholder by default.
    #[serde(default)]
    pub photo: Option<String>,
    /// The Face Check score this person's live selfie gets against the photo.
    #[serde(default = "default_face_score")]
    pub face_match_score: f64,
    /// Sent verbatim as `issuanceDate` (any ISO 8601 form Microsoft uses).
    #[serde(default = "default_issued")]
    pub issuance_date: String,
    /// Sent verbatim as `expirationDate`; `None`: the field is absent from the callback.
    #[serde(default = "default_expires")]
    pub expiration_date: Option<String>,
}

fn verified_employee() -> String {
    VERIFIED_EMPLOYEE.into()
}
fn default_face_score() -> f64 {
    86.314159
}
fn default_issued() -> String {
    "2026-05-01T10:00:00.0000000Z".into()
}
fn default_expires() -> Option<String> {
    Some("2027-05-01T10:00:00.0000000Z".into())
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientApp {
    pub client_id: String,
    pub client_secret: String,
    pub display_name: String,
    pub redirect_uris: Vec<String>,
    /// Statically registered delegated permissions, as `{resource}/{permission}`.
    #[serde(default = "default_delegated")]
    pub delegated_permissions: Vec<String>,
    /// Statically registered application permissions (app roles) on the request service.
    #[serde(default = "default_app_roles")]
    pub app_roles: Vec<String>,
    /// App roles assigned to the app in one tenant only (an admin's app role assignment in
    /// the app's own tenant), not in the static list customers consent to.
    #[serde(default)]
    pub assigned_app_roles: Vec<AppRoleAssignment>,
}

/// One app role assignment: `role` (`{resource}/{role}`) granted in `tenant_id` only.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AppRoleAssignment {
    pub tenant_id: String,
    pub role: String,
}

pub(crate) const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
pub(crate) const REQUEST_SERVICE_RESOURCE: &str = "3db474b9-6a0c-4840-96ac-1fceb342124f";
pub(crate) const ADMIN_RESOURCE: &str = "6a8b4b39-c021-437c-b060-5a14a3fd65f3";
pub(crate) const CREATE_ALL_ROLE: &str = "VerifiableCredential.Create.All";

/// The demo registration's delegated permissions: the sign-in's OpenID Connect scopes are
/// Microsoft Graph permissions too, so they are listed and admin consent grants them
/// (scopes-oidc).
fn default_delegated() -> Vec<String> {
    vec![
        format!("{GRAPH_RESOURCE}/openid"),
        format!("{GRAPH_RESOURCE}/profile"),
        // "Sign in with Microsoft" asks `openid profile email`.
        format!("{GRAPH_RESOURCE}/email"),
        format!("{GRAPH_RESOURCE}/offline_access"),
        format!("{GRAPH_RESOURCE}/User.Read"),
        format!("{ADMIN_RESOURCE}/full_access"),
    ]
}

fn default_app_roles() -> Vec<String> {
    vec![PRESENT_REQUEST_ROLE.to_string()]
}

impl Seed {
    pub fn from_file(path: impl AsRef<Path>) -> anyhow::Result<Seed> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading seed file {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing seed file {}", path.display()))
    }

    /// The default data: Contoso, Fabrikam, Northwind (no Verified ID), Woodgrove (two
    /// authorities), Litware (unverified linked domain), Adventure Works (no contracts), Tailspin
    /// (a custom credential type) and the provider's own tenant, Traceless.
    pub fn demo() -> Seed {
        Seed {
            tenants: vec![
                contoso(),
                fabrikam(),
                northwind(),
                woodgrove(),
                litware(),
                adventure_works(),
                tailspin(),
                provider(),
                proseware(),
                relecloud(),
                wingtip(),
                lamna(),
                fourth_coffee(),
                alpine_ski_house(),
            ],
            clients: vec![
                ClientApp {
                    client_id: DEV_CLIENT_ID.into(),
                    client_secret: DEV_CLIENT_SECRET.into(),
                    display_name: "Traceless (local)".into(),
                    redirect_uris: ["127.0.0.1:3000", "localhost:3000"]
                        .iter()
                        .flat_map(|host| {
                            DEMO_REDIRECT_PATHS
                                .iter()
                                .map(move |path| format!("http://{host}{path}"))
                        })
                        .collect(),
                    delegated_permissions: default_delegated(),
                    app_roles: demo_app_roles(),
                    // Provider mode reads our own authority at start, app-only; the admin API has
                    // no read-only application permission. Assigned at home only.
                    assigned_app_roles: vec![AppRoleAssignment {
                        tenant_id: PROVIDER_TENANT_ID.into(),
                        role: AUTHORITY_READ_WRITE_ROLE.into(),
                    }],
                },
                provider_client(),
                recovery_client(),
            ],
            require_public_callback: false,
            request_lifetime_secs: default_request_lifetime(),
        }
    }

    pub(crate) fn tenant(&self, id: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id.eq_ignore_ascii_case(id))
    }

    pub(crate) fn client(&self, id: &str) -> Option<&ClientApp> {
        self.clients
            .iter()
            .find(|c| c.client_id.eq_ignore_ascii_case(id))
    }

    /// Finds a user by UPN, mail or oid across all tenants.
    pub(crate) fn user(&self, who: &str) -> Option<(&Tenant, &User)> {
        self.tenants.iter().find_map(|t| {
            t.users
                .iter()
                .find(|u| {
                    u.upn.eq_ignore_ascii_case(who)
                        || u.oid.eq_ignore_ascii_case(who)
                        || u.mail
                            .as_deref()
                            .is_some_and(|m| m.eq_ignore_ascii_case(who))
                })
                .map(|u| (t, u))
        })
    }

    /// The tenant and authority that own a DID, in any tenant.
    pub(crate) fn authority_by_did(&self, did: &str) -> Option<(&Tenant, &Authority)> {
        self.tenants.iter().find_map(|t| {
            t.authorities()
                .into_iter()
                .find(|a| a.did == did)
                .map(|a| (t, a))
        })
    }
}

impl Tenant {
    /// Resolves a `{tenant}` path segment given as a domain name.
    pub(crate) fn has_domain(&self, name: &str) -> bool {
        self.domains
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn user_by_oid(&self, oid: &str) -> Option<&User> {
        self.users.iter().find(|u| u.oid.eq_ignore_ascii_case(oid))
    }

    /// The tenant's authorities in the admin API's order: `other_authorities`, then `verified_id`.
    pub(crate) fn authorities(&self) -> Vec<&Authority> {
        self.other_authorities
            .iter()
            .chain(self.verified_id.iter())
            .collect()
    }

    /// Verified ID set up: its service principals (request service, admin API) exist here.
    pub(crate) fn has_verified_id(&self) -> bool {
        self.verified_id.is_some() || !self.other_authorities.is_empty()
    }
}

fn domains(custom: &str, initial: &str) -> Vec<Domain> {
    vec![
        Domain {
            name: custom.into(),
            is_default: true,
            is_initial: false,
        },
        Domain {
            name: initial.into(),
            is_default: false,
            is_initial: true,
        },
    ]
}

fn verified_employee_contract(id: &str) -> Contract {
    Contract {
        id: id.into(),
        name: "VerifiedEmployee".into(),
        vc_types: vec![VERIFIED_EMPLOYEE.into()],
        claims: vec![],
        attestation: ContractAttestation::Auto,
        photo_claim: None,
    }
}

fn authority(id: &str, name: &str, did: &str, linked: &str, contracts: Vec<Contract>) -> Authority {
    Authority {
        id: id.into(),
        name: name.into(),
        did: did.into(),
        linked_domain_urls: vec![linked.into()],
        contracts,
        face_check_enabled: true,
        linked_domains_verified: true,
        did_document_status: published(),
        listing_omits_linked_domains_verified: false,
        extra_fields: Map::new(),
    }
}

struct Person<'a> {
    oid: &'a str,
    mail: &'a str,
    upn_domain: &'a str,
    given: &'a str,
    surname: &'a str,
    job: Option<&'a str>,
    admin: bool,
    credential: Option<bool>,
}

fn verified_employee_credential(revoked: bool) -> Credential {
    Credential {
        vc_type: verified_employee(),
        claims: Map::new(),
        revoked,
        photo: Some(PLACEHOLDER_PHOTO.into()),
        face_match_score: default_face_score(),
        issuance_date: default_issued(),
        expiration_date: default_expires(),
    }
}

fn person(p: Person<'_>) -> User {
    let local = p.mail.split('@').next().unwrap_or(p.mail);
    User {
        oid: p.oid.into(),
        upn: format!("{local}@{}", p.upn_domain),
        mail: Some(p.mail.into()),
        display_name: format!("{} {}", p.given, p.surname),
        given_name: p.given.into(),
        surname: p.surname.into(),
        job_title: p.job.map(Into::into),
        preferred_language: Some("en-US".into()),
        is_admin: p.admin,
        roles: vec![],
        credential: p.credential.map(verified_employee_credential),
        other_credentials: vec![],
    }
}

/// A tiny stand-in for `UrlEncode(Base64Encode(jpeg))`; the emulator never decodes it.
const PLACEHOLDER_PHOTO: &str = "%2F9j%2F4AAQSkZJRgABAQAAAQABAAD%2F2wBDAP%2F%2F";

fn contoso() -> Tenant {
    let d = "contoso.onmicrosoft.com";
    let p = |oid, mail, given, surname, job, admin, credential| {
        person(Person {
            oid,
            mail,
            upn_domain: d,
            given,
            surname,
            job,
            admin,
            credential,
        })
    };
    // Johanna has no mail in the directory: her credential has no `mail` claim.
    let johanna = User {
        oid: "9a1b2c3d-0006-4000-8000-000000000006".into(),
        upn: CONTOSO_NO_MAIL_UPN.into(),
        mail: None,
        display_name: "Johanna Lorenz".into(),
        given_name: "Johanna".into(),
        surname: "Lorenz".into(),
        job_title: Some("Senior Engineer".into()),
        preferred_language: Some("de-DE".into()),
        is_admin: false,
        roles: vec![],
        credential: Some(verified_employee_credential(false)),
        other_credentials: vec![],
    };
    Tenant {
        id: CONTOSO_TENANT_ID.into(),
        display_name: "Contoso".into(),
        domains: domains("contoso.com", d),
        verified_id: Some(authority(
            CONTOSO_AUTHORITY_ID,
            "Contoso",
            CONTOSO_DID,
            "https://verifiedid.contoso.com/",
            vec![verified_employee_contract("A1bC2dE3fH4iJ5kL6mN7oP8qR9sT0u")],
        )),
        other_authorities: vec![],
        odd_authority_entries: vec![],
        users: vec![
            p(
                "9a1b2c3d-0001-4000-8000-000000000001",
                CONTOSO_ADMIN_EMAIL,
                "Adele",
                "Vance",
                Some("IT Administrator"),
                true,
                Some(false),
            ),
            p(
                "9a1b2c3d-0002-4000-8000-000000000002",
                CONTOSO_EMPLOYEE_EMAIL,
                "Megan",
                "Bowen",
                Some("Auditor"),
                false,
                Some(false),
            ),
            p(
                "9a1b2c3d-0003-4000-8000-000000000003",
                CONTOSO_EMPLOYEE2_EMAIL,
                "Lee",
                "Gu",
                Some("Director"),
                false,
                Some(false),
            ),
            p(
                "9a1b2c3d-0004-4000-8000-000000000004",
                CONTOSO_REVOKED_EMAIL,
                "Alex",
                "Wilber",
                None,
                false,
                Some(true),
            ),
            p(
                "9a1b2c3d-0005-4000-8000-000000000005",
                CONTOSO_NO_CREDENTIAL_EMAIL,
                "Pradeep",
                "Gupta",
                Some("Accountant"),
                false,
                None,
            ),
            johanna,
        ]
        .into_iter()
        .chain(contoso_role_holders())
        .collect(),
        consented_clients: vec![],
    }
}

fn fabrikam() -> Tenant {
    let d = "fabrikam.onmicrosoft.com";
    let mut users = vec![
        person(Person {
            oid: "7f6e5d4c-0001-4000-8000-000000000001",
            mail: FABRIKAM_ADMIN_EMAIL,
            upn_domain: d,
            given: "Diego",
            surname: "Siciliani",
            job: Some("HR Manager"),
            admin: true,
            credential: Some(false),
        }),
        person(Person {
            oid: "7f6e5d4c-0002-4000-8000-000000000002",
            mail: FABRIKAM_EMPLOYEE_EMAIL,
            upn_domain: d,
            given: "Isaiah",
            surname: "Langer",
            job: Some("Sales Representative"),
            admin: false,
            credential: Some(false),
        }),
    ];
    // Dates with an offset instead of `Z`, and one credential without an expiration date.
    for (u, expires) in users
        .iter_mut()
        .zip([Some("2027-03-02T08:15:30+00:00".to_string()), None])
    {
        if let Some(c) = u.credential.as_mut() {
            c.issuance_date = "2026-03-02T08:15:30+00:00".into();
            c.expiration_date = expires;
        }
    }
    Tenant {
        id: FABRIKAM_TENANT_ID.into(),
        display_name: "Fabrikam".into(),
        domains: domains("fabrikam.com", d),
        verified_id: Some(authority(
            FABRIKAM_AUTHORITY_ID,
            "Fabrikam",
            FABRIKAM_DID,
            "https://verifiedid.fabrikam.com/",
            vec![verified_employee_contract("F1aB2cD3eF4gH5iJ6kL7mN8oP9qR0s")],
        )),
        other_authorities: vec![],
        odd_authority_entries: vec![],
        users,
        consented_clients: vec![],
    }
}

fn northwind() -> Tenant {
    let d = "northwindtraders.onmicrosoft.com";
    Tenant {
        id: NORTHWIND_TENANT_ID.into(),
        display_name: "Northwind Traders".into(),
        domains: domains("northwindtraders.com", d),
        verified_id: None,
        other_authorities: vec![],
        odd_authority_entries: vec![],
        users: vec![
            person(Person {
                oid: "2b4d6f8a-0001-4000-8000-000000000001",
                mail: NORTHWIND_ADMIN_EMAIL,
                upn_domain: d,
                given: "Nestor",
                surname: "Wilke",
                job: Some("Operations Director"),
                admin: true,
                credential: None,
            }),
            person(Person {
                oid: "2b4d6f8a-0002-4000-8000-000000000002",
                mail: NORTHWIND_EMPLOYEE_EMAIL,
                upn_domain: d,
                given: "Joni",
                surname: "Sherman",
                job: Some("Paralegal"),
                admin: false,
                credential: None,
            }),
        ],
        consented_clients: vec![],
    }
}

/// An admin and an employee of a tenant, both holding a VerifiedEmployee credential unless
/// `credentials` is false.
fn pair(
    d: &str,
    oids: [&str; 2],
    admin: (&str, &str, &str),
    employee: (&str, &str, &str),
    credentials: bool,
) -> Vec<User> {
    [(oids[0], admin, true), (oids[1], employee, false)]
        .into_iter()
        .map(|(oid, (mail, given, surname), is_admin)| {
            person(Person {
                oid,
                mail,
                upn_domain: d,
                given,
                surname,
                job: None,
                admin: is_admin,
                credential: credentials.then_some(false),
            })
        })
        .collect()
}

fn woodgrove() -> Tenant {
    let d = "woodgrovebank.onmicrosoft.com";
    let mut legacy = authority(
        WOODGROVE_LEGACY_AUTHORITY_ID,
        "Woodgrove (ION)",
        WOODGROVE_LEGACY_DID,
        "https://woodgrovebank.com/",
        vec![verified_employee_contract("W0dGr0vE1oNcOnTrAcT2024aBcDeF")],
    );
    legacy.extra_fields.insert("didMethod".into(), json!("ion"));
    let mut web = authority(
        WOODGROVE_AUTHORITY_ID,
        "Woodgrove",
        WOODGROVE_DID,
        "https://verifiedid.woodgrovebank.com/",
        vec![verified_employee_contract("W0dGr0vEwEbCoNtRaCt2025gHiJkL")],
    );
    web.extra_fields.insert("didMethod".into(), json!("web"));
    web.extra_fields
        .insert("issuanceRegion".into(), json!("EU"));
    Tenant {
        id: WOODGROVE_TENANT_ID.into(),
        display_name: "Woodgrove Bank".into(),
        domains: domains("woodgrovebank.com", d),
        verified_id: Some(web),
        other_authorities: vec![legacy],
        odd_authority_entries: vec![
            // An entry without `didModel`, and one whose `didModel` has no `did`.
            json!({"id": "88cc88cc-dd99-ee00-ff11-22aa22aa22aa", "name": "Woodgrove (setup pending)",
                   "status": "Enabled", "keyVaultMetadata": null}),
            json!({"id": "99dd99dd-ee00-ff11-aa22-33bb33bb33bb", "name": "Woodgrove (deleted key)",
                   "status": "Disabled", "didModel": {"didDocumentStatus": "unpublished", "linkedDomainUrls": []},
                   "linkedDomainsVerified": false}),
        ],
        users: pair(
            d,
            [
                "5d2c8b4e-0001-4000-8000-000000000001",
                "5d2c8b4e-0002-4000-8000-000000000002",
            ],
            (WOODGROVE_ADMIN_EMAIL, "Allan", "Deyoung"),
            (WOODGROVE_EMPLOYEE_EMAIL, "Christie", "Cline"),
            true,
        ),
        consented_clients: vec![],
    }
}

fn litware() -> Tenant {
    let d = "litware.onmicrosoft.com";
    let mut a = authority(
        LITWARE_AUTHORITY_ID,
        "Litware",
        LITWARE_DID,
        "https://verifiedid.litware.com/",
        vec![verified_employee_contract("L1tWaReCoNtRaCt2025mNoPqRsTu")],
    );
    a.linked_domains_verified = false;
    Tenant {
        id: LITWARE_TENANT_ID.into(),
        display_name: "Litware".into(),
        domains: domains("litware.com", d),
        verified_id: Some(a),
        other_authorities: vec![],
        odd_authority_entries: vec![],
        users: pair(
            d,
            [
                "6e3d9c5f-0001-4000-8000-000000000001",
                "6e3d9c5f-0002-4000-8000-000000000002",
            ],
            (LITWARE_ADMIN_EMAIL, "Henrietta", "Mueller"),
            (LITWARE_EMPLOYEE_EMAIL, "Patti", "Fernandez"),
            true,
        ),
        consented_clients: vec![],
    }
}

fn adventure_works() -> Tenant {
    let d = "adventureworks.onmicrosoft.com";
    Tenant {
        id: ADVENTURE_WORKS_TENANT_ID.into(),
        display_name: "Adventure Works".into(),
        domains: domains("adventure-works.com", d),
        verified_id: Some(authority(
            ADVENTURE_WORKS_AUTHORITY_ID,
            "Adventure Works",
            ADVENTURE_WORKS_DID,
            "https://verifiedid.adventure-works.com/",
            vec![],
        )),
        other_authorities: vec![],
        odd_authority_entries: vec![],
        users: pair(
            d,
            [
                "7f4e0d6a-0001-4000-8000-000000000001",
                "7f4e0d6a-0002-4000-8000-000000000002",
            ],
            (ADVENTURE_WORKS_ADMIN_EMAIL, "Grady", "Archie"),
            (ADVENTURE_WORKS_EMPLOYEE_EMAIL, "Irvin", "Sayers"),
            false,
        ),
        consented_clients: vec![],
    }
}

fn tailspin_member(user: &User, number: &str) -> Credential {
    let mut claims = Map::new();
    claims.insert("email".into(), json!(user.mail));
    claims.insert("displayName".into(), json!(user.display_name));
    claims.insert("memberNumber".into(), json!(number));
    Credential {
        vc_type: TAILSPIN_MEMBER_TYPE.into(),
        claims,
        revoked: false,
        photo: None,
        face_match_score: default_face_score(),
        issuance_date: "2026-06-15T09:30:00Z".into(),
        expiration_date: None,
    }
}

fn tailspin() -> Tenant {
    let d = "tailspintoys.onmicrosoft.com";
    let mut users: Vec<User> = [
        (
            "8a5f1e7b-0001-4000-8000-000000000001",
            TAILSPIN_ADMIN_EMAIL,
            "Kayo",
            "Miwa",
            true,
        ),
        (
            "8a5f1e7b-0002-4000-8000-000000000002",
            TAILSPIN_MEMBER_EMAIL,
            "Lidia",
            "Holloway",
            false,
        ),
        (
            "8a5f1e7b-0003-4000-8000-000000000003",
            TAILSPIN_EMPLOYEE_EMAIL,
            "Miriam",
            "Graham",
            false,
        ),
    ]
    .into_iter()
    .map(|(oid, mail, given, surname, admin)| {
        person(Person {
            oid,
            mail,
            upn_domain: d,
            given,
            surname,
            job: None,
            admin,
            credential: None,
        })
    })
    .collect();
    for (i, u) in users.iter_mut().enumerate() {
        u.credential = Some(tailspin_member(u, &format!("TT-{:06}", 1001 + i)));
    }
    users[2]
        .other_credentials
        .push(verified_employee_credential(false));
    let member = Contract {
        id: "T4iLsPiNmEmBeRcOnTrAcT2025vWx".into(),
        name: "Tailspin member card".into(),
        vc_types: vec![TAILSPIN_MEMBER_TYPE.into()],
        claims: vec!["email".into(), "displayName".into(), "memberNumber".into()],
        // Signed in with the Tailspin Entra account: the email is the directory's.
        attestation: ContractAttestation::Auto,
        photo_claim: None,
    };
    Tenant {
        id: TAILSPIN_TENANT_ID.into(),
        display_name: "Tailspin Toys".into(),
        domains: domains("tailspintoys.com", d),
        verified_id: Some(authority(
            TAILSPIN_AUTHORITY_ID,
            "Tailspin Toys",
            TAILSPIN_DID,
            "https://verifiedid.tailspintoys.com/",
            vec![
                verified_employee_contract("T4iLsPiNvErIfIeDeMpLoYeE2025y"),
                member,
            ],
        )),
        other_authorities: vec![],
        odd_authority_entries: vec![],
        users,
        consented_clients: vec![],
    }
}

fn provider() -> Tenant {
    let d = "traceless.onmicrosoft.com";
    Tenant {
        id: PROVIDER_TENANT_ID.into(),
        display_name: "Traceless".into(),
        domains: domains("traceless.example", d),
        verified_id: Some(authority(
            PROVIDER_AUTHORITY_ID,
            "Traceless",
            PROVIDER_DID,
            "https://verifiedid.traceless.example/",
            vec![verified_employee_contract("TrAcElEsSpRoViDeR2025zAbCdEfG")],
        )),
        other_authorities: vec![],
        odd_authority_entries: vec![],
        users: vec![person(Person {
            oid: "9b6a2f8c-0001-4000-8000-000000000001",
            mail: PROVIDER_ADMIN_EMAIL,
            upn_domain: d,
            given: "Rowan",
            surname: "Hale",
            job: Some("Operator"),
            admin: true,
            credential: Some(false),
        })],
        // An app is consented in its home tenant.
        consented_clients: vec![DEV_CLIENT_ID.into()],
    }
}

/// Proseware: an authority whose admin API listing omits `linkedDomainsVerified` (as
/// Microsoft's List/Get examples do); its linked domain is verified, which
/// `validateWellKnownDidConfiguration` confirms (204).
pub const PROSEWARE_TENANT_ID: &str = "ab6c3f9d-2e85-4c7a-9b1e-7d9f1a3c5e66";
pub const PROSEWARE_DID: &str = "did:web:verifiedid.proseware.com";
pub const PROSEWARE_AUTHORITY_ID: &str = "88cc88cc-dd99-ee00-ff11-22bb22bb22bb";
pub const PROSEWARE_ADMIN_EMAIL: &str = "bianca.pisani@proseware.com";
pub const PROSEWARE_EMPLOYEE_EMAIL: &str = "cameron.white@proseware.com";
/// A second domain of Proseware, for a domain that leaves the tenant (`remove_domain`).
pub const PROSEWARE_SECOND_DOMAIN: &str = "proseware.net";

/// The Graph application permission the demo app registers for the daily refresh, as
/// `{resource}/{role}` (app roles of other resources than the request service are written
/// with their resource).
pub const GRAPH_ORGANIZATION_READ_ALL: &str = "https://graph.microsoft.com/Organization.Read.All";

fn demo_app_roles() -> Vec<String> {
    vec![
        PRESENT_REQUEST_ROLE.to_string(),
        GRAPH_ORGANIZATION_READ_ALL.to_string(),
    ]
}

fn proseware() -> Tenant {
    let d = "proseware.onmicrosoft.com";
    let mut a = authority(
        PROSEWARE_AUTHORITY_ID,
        "Proseware",
        PROSEWARE_DID,
        "https://verifiedid.proseware.com/",
        vec![verified_employee_contract("PrOsEwArEcOnTrAcT2025hIjKlMn")],
    );
    a.listing_omits_linked_domains_verified = true;
    let mut domains = domains("proseware.com", d);
    domains.push(Domain {
        name: PROSEWARE_SECOND_DOMAIN.into(),
        is_default: false,
        is_initial: false,
    });
    Tenant {
        id: PROSEWARE_TENANT_ID.into(),
        display_name: "Proseware".into(),
        domains,
        verified_id: Some(a),
        other_authorities: vec![],
        odd_authority_entries: vec![],
        users: pair(
            d,
            [
                "ab6c3f9d-0001-4000-8000-000000000001",
                "ab6c3f9d-0002-4000-8000-000000000002",
            ],
            (PROSEWARE_ADMIN_EMAIL, "Bianca", "Pisani"),
            (PROSEWARE_EMPLOYEE_EMAIL, "Cameron", "White"),
            true,
        ),
        consented_clients: vec![],
    }
}

/// The demo app registration customers consent to in provider mode
/// (`TRACELESS_MS_PROVIDER_CLIENT_ID`): only what provider mode needs in a customer's tenant,
/// Graph `User.Read` and the admin API's `full_access` (delegated) and Graph
/// `Organization.Read.All` (application, the daily refresh); no request-service role.
pub const DEV_PROVIDER_CLIENT_ID: &str = "c3e1a7b5-4f2d-4e8a-9b6c-0d1e2f3a4b5c";
pub const DEV_PROVIDER_CLIENT_SECRET: &str = "emulator-provider-secret-not-valid-at-microsoft";

/// The admin API's application permission to read (and write) authorities.
pub const AUTHORITY_READ_WRITE_ROLE: &str =
    "6a8b4b39-c021-437c-b060-5a14a3fd65f3/VerifiableCredential.Authority.ReadWrite";

fn provider_client() -> ClientApp {
    ClientApp {
        client_id: DEV_PROVIDER_CLIENT_ID.into(),
        client_secret: DEV_PROVIDER_CLIENT_SECRET.into(),
        display_name: "Traceless provider (local)".into(),
        redirect_uris: ["127.0.0.1:3000", "localhost:3000"]
            .iter()
            .flat_map(|host| {
                DEMO_REDIRECT_PATHS
                    .iter()
                    .map(move |path| format!("http://{host}{path}"))
            })
            .collect(),
        delegated_permissions: default_delegated(),
        app_roles: vec![GRAPH_ORGANIZATION_READ_ALL.to_string()],
        assigned_app_roles: vec![],
    }
}

/// The demo app registration for account recovery (`TRACELESS_MS_RECOVERY_CLIENT_ID`): a second,
/// optional registration an admin consents to separately, holding only what issuing a
/// Temporary Access Pass needs (issue 21): Graph `User.Read.All` (find the user by mail or UPN,
/// and read their directory roles through `transitiveMemberOf`) and
/// `UserAuthenticationMethod.ReadWrite.All` (create the pass), both application permissions.
/// Its only delegated permission is `User.Read`, which every new registration lists; Traceless
/// never uses a delegated token from it.
pub const DEV_RECOVERY_CLIENT_ID: &str = "d7a2c4e6-8b1f-4a3d-9e5c-1f2a3b4c5d6e";
pub const DEV_RECOVERY_CLIENT_SECRET: &str = "emulator-recovery-secret-not-valid-at-microsoft";

/// Graph application permissions, as `{resource}/{role}`.
pub const GRAPH_USER_READ_ALL: &str = "https://graph.microsoft.com/User.Read.All";
pub const GRAPH_USER_AUTHENTICATION_METHOD_READ_WRITE_ALL: &str =
    "https://graph.microsoft.com/UserAuthenticationMethod.ReadWrite.All";

fn recovery_client() -> ClientApp {
    ClientApp {
        client_id: DEV_RECOVERY_CLIENT_ID.into(),
        client_secret: DEV_RECOVERY_CLIENT_SECRET.into(),
        display_name: "Traceless account recovery (local)".into(),
        redirect_uris: ["127.0.0.1:3000", "localhost:3000"]
            .iter()
            .flat_map(|host| {
                DEMO_REDIRECT_PATHS
                    .iter()
                    .map(move |path| format!("http://{host}{path}"))
            })
            .collect(),
        delegated_permissions: vec![format!("{GRAPH_RESOURCE}/User.Read")],
        app_roles: vec![
            GRAPH_USER_READ_ALL.to_string(),
            GRAPH_USER_AUTHENTICATION_METHOD_READ_WRITE_ALL.to_string(),
        ],
        assigned_app_roles: vec![],
    }
}

// ---------------------------------------------------------------- directory roles

pub const GLOBAL_ADMINISTRATOR: &str = "Global Administrator";
pub const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "Privileged Role Administrator";
pub const CLOUD_APPLICATION_ADMINISTRATOR: &str = "Cloud Application Administrator";
pub const APPLICATION_ADMINISTRATOR: &str = "Application Administrator";
pub const AUTHENTICATION_POLICY_ADMINISTRATOR: &str = "Authentication Policy Administrator";
pub const GLOBAL_READER: &str = "Global Reader";

/// The roles that may grant tenant-wide admin consent (grant-admin-consent).
pub(crate) const CONSENT_ROLES: [&str; 4] = [
    GLOBAL_ADMINISTRATOR,
    PRIVILEGED_ROLE_ADMINISTRATOR,
    CLOUD_APPLICATION_ADMINISTRATOR,
    APPLICATION_ADMINISTRATOR,
];

/// The roles that may grant tenant-wide admin consent to Microsoft Graph app roles
/// (grant-admin-consent, "Prerequisites").
pub(crate) const GRAPH_APP_ROLE_CONSENT_ROLES: [&str; 2] =
    [GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR];

/// What a user's delegated `full_access` token may do at the Verified ID admin API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AdminApiAccess {
    None,
    Read,
    ReadWrite,
}

/// Contoso's Application Administrator: may grant admin consent, may not read Verified ID.
pub const CONTOSO_APP_ADMIN_EMAIL: &str = "debra.berger@contoso.com";
/// Contoso's Global Reader: may not grant admin consent, may read Verified ID (read-only).
pub const CONTOSO_GLOBAL_READER_EMAIL: &str = "enrico.cattaneo@contoso.com";
/// Contoso's Privileged Role Administrator: may grant admin consent to anything (Microsoft
/// Graph app roles included), may not read Verified ID.
pub const CONTOSO_PRIVILEGED_ROLE_ADMIN_EMAIL: &str = "lynne.robbins@contoso.com";

/// Contoso's holders of roles other than Global Administrator.
fn contoso_role_holders() -> Vec<User> {
    [
        (
            "9a1b2c3d-0007-4000-8000-000000000007",
            CONTOSO_APP_ADMIN_EMAIL,
            ("Debra", "Berger"),
            APPLICATION_ADMINISTRATOR,
        ),
        (
            "9a1b2c3d-0008-4000-8000-000000000008",
            CONTOSO_GLOBAL_READER_EMAIL,
            ("Enrico", "Cattaneo"),
            GLOBAL_READER,
        ),
        (
            "9a1b2c3d-0009-4000-8000-000000000009",
            CONTOSO_PRIVILEGED_ROLE_ADMIN_EMAIL,
            ("Lynne", "Robbins"),
            PRIVILEGED_ROLE_ADMINISTRATOR,
        ),
    ]
    .into_iter()
    .map(|(oid, mail, (given, surname), role)| User {
        roles: vec![role.to_string()],
        ..person(Person {
            oid,
            mail,
            upn_domain: "contoso.onmicrosoft.com",
            given,
            surname,
            job: Some(role),
            admin: false,
            credential: None,
        })
    })
    .collect()
}

/// A credential of a custom type carrying `email` and `displayName` (plus `extra`).
fn custom_credential(vc_type: &str, user: &User, extra: &[(&str, &str)]) -> Credential {
    let mut claims = Map::new();
    claims.insert("email".into(), json!(user.mail));
    claims.insert("displayName".into(), json!(user.display_name));
    for (name, value) in extra {
        claims.insert((*name).into(), json!(value));
    }
    Credential {
        vc_type: vc_type.into(),
        claims,
        revoked: false,
        photo: None,
        face_match_score: default_face_score(),
        issuance_date: default_issued(),
        expiration_date: default_expires(),
    }
}

/// A tenant with an admin and an employee, both holding a credential of its one contract.
struct SmallTenant<'a> {
    id: &'a str,
    name: &'a str,
    domain: &'a str,
    did: &'a str,
    authority_id: &'a str,
    contract: Contract,
    admin: (&'a str, &'a str, &'a str),
    employee: Option<(&'a str, &'a str, &'a str)>,
    /// Extra claims of the custom credential (`None`: a VerifiedEmployee credential).
    custom: Option<&'a [(&'a str, &'a str)]>,
    face_check_enabled: bool,
}

fn small_tenant(t: SmallTenant<'_>) -> Tenant {
    let initial = format!(
        "{}.onmicrosoft.com",
        t.domain.split('.').next().unwrap_or(t.domain)
    );
    let vc_type = t.contract.vc_types[0].clone();
    let mut users: Vec<User> = std::iter::once((t.admin, true))
        .chain(t.employee.map(|e| (e, false)))
        .enumerate()
        .map(|(i, ((mail, given, surname), admin))| {
            let oid = format!("{}-000{}-4000-8000-00000000000{}", &t.id[..8], i + 1, i + 1);
            person(Person {
                oid: &oid,
                mail,
                upn_domain: &initial,
                given,
                surname,
                job: None,
                admin,
                credential: t.custom.is_none().then_some(false),
            })
        })
        .collect();
    if let Some(extra) = t.custom {
        for u in &mut users {
            u.credential = Some(custom_credential(&vc_type, u, extra));
        }
    }
    let mut authority = authority(
        t.authority_id,
        t.name,
        t.did,
        &format!("https://verifiedid.{}/", t.domain),
        vec![t.contract],
    );
    authority.face_check_enabled = t.face_check_enabled;
    Tenant {
        id: t.id.into(),
        display_name: t.name.into(),
        domains: domains(t.domain, &initial),
        verified_id: Some(authority),
        other_authorities: vec![],
        odd_authority_entries: vec![],
        users,
        consented_clients: vec![],
    }
}

fn relecloud() -> Tenant {
    small_tenant(SmallTenant {
        id: RELECLOUD_TENANT_ID,
        name: "Relecloud",
        domain: "relecloud.com",
        did: RELECLOUD_DID,
        authority_id: "88cc88cc-dd99-ee00-ff11-22aa22aa22aa",
        contract: Contract {
            id: "ReLeClOuDbAdGe2025sElFiSsUeDq".into(),
            name: "Relecloud badge".into(),
            vc_types: vec![RELECLOUD_BADGE_TYPE.into()],
            claims: vec!["email".into(), "displayName".into()],
            attestation: ContractAttestation::SelfIssued,
            photo_claim: None,
        },
        admin: (RELECLOUD_ADMIN_EMAIL, "Ana", "Bowman"),
        employee: Some((RELECLOUD_EMPLOYEE_EMAIL, "Rob", "Young")),
        custom: Some(&[]),
        face_check_enabled: true,
    })
}

fn wingtip() -> Tenant {
    small_tenant(SmallTenant {
        id: WINGTIP_TENANT_ID,
        name: "Wingtip Toys",
        domain: "wingtiptoys.com",
        did: WINGTIP_DID,
        authority_id: "99dd99dd-ee00-ff11-aa22-33bb33bb33bb",
        contract: Contract {
            id: "WiNgTiPpAsS2025iDtOkEnHiNtSr".into(),
            name: "Wingtip pass".into(),
            vc_types: vec![WINGTIP_PASS_TYPE.into()],
            claims: vec!["email".into(), "displayName".into()],
            attestation: ContractAttestation::IdTokenHints,
            photo_claim: None,
        },
        admin: (WINGTIP_ADMIN_EMAIL, "Ben", "Walters"),
        employee: Some((WINGTIP_EMPLOYEE_EMAIL, "Cecil", "Folk")),
        custom: Some(&[]),
        face_check_enabled: true,
    })
}

fn lamna() -> Tenant {
    small_tenant(SmallTenant {
        id: LAMNA_TENANT_ID,
        name: "Lamna Healthcare",
        domain: "lamnahealthcare.com",
        did: LAMNA_DID,
        authority_id: "aaee00ee-ff11-aa22-bb33-44cc44cc44cc",
        contract: Contract {
            id: "LaMnAsTaFf2025iDtOkEnSoWnEnTrA".into(),
            name: "Lamna staff card".into(),
            vc_types: vec![LAMNA_MEMBER_TYPE.into()],
            claims: vec!["email".into(), "displayName".into(), "portrait".into()],
            attestation: ContractAttestation::IdTokens {
                configuration: None,
            },
            photo_claim: Some("portrait".into()),
        },
        admin: (LAMNA_ADMIN_EMAIL, "Dana", "Birkby"),
        employee: Some((LAMNA_EMPLOYEE_EMAIL, "Eli", "Lane")),
        custom: Some(&[("portrait", PLACEHOLDER_PHOTO)]),
        face_check_enabled: true,
    })
}

fn fourth_coffee() -> Tenant {
    small_tenant(SmallTenant {
        id: FOURTH_COFFEE_TENANT_ID,
        name: "Fourth Coffee",
        domain: "fourthcoffee.com",
        did: FOURTH_COFFEE_DID,
        authority_id: "bbff11ff-aa22-bb33-cc44-55dd55dd55dd",
        contract: Contract {
            id: "FoUrThCoFfEeVe2025sElFiSsUeD".into(),
            name: "VerifiedEmployee".into(),
            vc_types: vec![VERIFIED_EMPLOYEE.into()],
            claims: vec!["mail".into(), "displayName".into()],
            attestation: ContractAttestation::SelfIssued,
            photo_claim: None,
        },
        admin: (FOURTH_COFFEE_ADMIN_EMAIL, "Faith", "Ng"),
        employee: None,
        custom: None,
        face_check_enabled: true,
    })
}

fn alpine_ski_house() -> Tenant {
    small_tenant(SmallTenant {
        id: ALPINE_TENANT_ID,
        name: "Alpine Ski House",
        domain: "alpineskihouse.com",
        did: ALPINE_DID,
        authority_id: "cc0022aa-bb33-cc44-dd55-66ee66ee66ee",
        contract: verified_employee_contract("AlPiNeSkIhOuSeVe2025nOfAcE"),
        admin: (ALPINE_ADMIN_EMAIL, "Gia", "Ruiz"),
        employee: Some((ALPINE_EMPLOYEE_EMAIL, "Hugo", "Sato")),
        custom: None,
        face_check_enabled: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_seed_round_trips_through_a_file() {
        let path =
            std::env::temp_dir().join(format!("emulator-seed-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&path, serde_json::to_string_pretty(&Seed::demo()).unwrap()).unwrap();
        let seed = Seed::from_file(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(seed.tenants.len(), Seed::demo().tenants.len());
        assert_eq!(seed.request_lifetime_secs, 300);
        assert!(!seed.require_public_callback);
        assert!(
            seed.tenant(NORTHWIND_TENANT_ID)
                .unwrap()
                .verified_id
                .is_none()
        );
        assert!(
            seed.user(CONTOSO_REVOKED_EMAIL)
                .unwrap()
                .1
                .credential
                .as_ref()
                .unwrap()
                .revoked
        );
    }

    #[test]
    fn a_minimal_seed_file_fills_in_defaults() {
        let seed: Seed = serde_json::from_str(
            r#"{"tenants":[{"id":"t","display_name":"T","domains":[{"name":"t.com"}],
                "users":[{"oid":"u","upn":"u@t.com","display_name":"U","given_name":"U","surname":"X",
                          "credential":{}}]}],
                "clients":[{"client_id":"c","client_secret":"s","display_name":"C","redirect_uris":[]}]}"#,
        )
        .unwrap();
        assert_eq!(seed.request_lifetime_secs, 300);
        assert_eq!(seed.clients[0].app_roles, vec![PRESENT_REQUEST_ROLE]);
        let credential = seed.tenants[0].users[0].credential.as_ref().unwrap();
        assert_eq!(credential.vc_type, VERIFIED_EMPLOYEE);
        assert!(credential.expiration_date.is_some());
        assert!(
            !seed.tenants[0].users[0]
                .credential
                .as_ref()
                .unwrap()
                .revoked
        );
    }
}
