//! The emulator's world: tenants, their domains, Verified ID authorities, users with their
//! VerifiedEmployee credentials, and the registered client apps. Loaded from JSON or `Seed::demo()`.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

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

/// Redirect paths registered for the demo client on `127.0.0.1:3000` and `localhost:3000`.
/// Other URIs: `RunningEmulator::register_redirect_uri` or `POST /_control/redirect_uris`.
pub const DEMO_REDIRECT_PATHS: [&str; 3] = [
    "/auth/microsoft/callback",
    "/integrations/microsoft/callback",
    "/organization/integrations/microsoft/callback",
];

/// The credential type every demo authority issues.
pub const VERIFIED_EMPLOYEE: &str = "VerifiedEmployee";

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
    /// `None`: Verified ID is not set up in this tenant.
    #[serde(default)]
    pub verified_id: Option<Authority>,
    pub users: Vec<User>,
    /// Client ids an admin already consented to for the whole tenant.
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
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Contract {
    pub id: String,
    pub name: String,
    pub vc_types: Vec<String>,
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
    #[serde(default)]
    pub credential: Option<Credential>,
}

/// A VerifiedEmployee credential in the user's (simulated) Authenticator.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Credential {
    #[serde(default)]
    pub revoked: bool,
    /// `UrlEncode(Base64Encode(jpeg))` as Microsoft presents it; a placeholder by default.
    #[serde(default)]
    pub photo: Option<String>,
    /// The Face Check score this person's live selfie gets against the photo.
    #[serde(default = "default_face_score")]
    pub face_match_score: f64,
    #[serde(default = "default_issued")]
    pub issuance_date: String,
    #[serde(default = "default_expires")]
    pub expiration_date: String,
}

fn default_face_score() -> f64 {
    86.314159
}
fn default_issued() -> String {
    "2026-05-01T10:00:00Z".into()
}
fn default_expires() -> String {
    "2027-05-01T10:00:00Z".into()
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
    /// Statically registered application permissions on the request service.
    #[serde(default = "default_app_roles")]
    pub app_roles: Vec<String>,
}

pub(crate) const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
pub(crate) const REQUEST_SERVICE_RESOURCE: &str = "3db474b9-6a0c-4840-96ac-1fceb342124f";
pub(crate) const ADMIN_RESOURCE: &str = "6a8b4b39-c021-437c-b060-5a14a3fd65f3";
pub(crate) const CREATE_ALL_ROLE: &str = "VerifiableCredential.Create.All";

fn default_delegated() -> Vec<String> {
    vec![
        format!("{GRAPH_RESOURCE}/User.Read"),
        format!("{ADMIN_RESOURCE}/full_access"),
    ]
}

fn default_app_roles() -> Vec<String> {
    vec![CREATE_ALL_ROLE.to_string()]
}

impl Seed {
    pub fn from_file(path: impl AsRef<Path>) -> anyhow::Result<Seed> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading seed file {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing seed file {}", path.display()))
    }

    /// The default data of the app's default run: Contoso, Fabrikam and Northwind (no Verified ID).
    pub fn demo() -> Seed {
        Seed {
            tenants: vec![contoso(), fabrikam(), northwind()],
            clients: vec![ClientApp {
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
                app_roles: default_app_roles(),
            }],
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
        credential: p.credential.map(|revoked| Credential {
            revoked,
            photo: Some(PLACEHOLDER_PHOTO.into()),
            face_match_score: default_face_score(),
            issuance_date: default_issued(),
            expiration_date: default_expires(),
        }),
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
    Tenant {
        id: CONTOSO_TENANT_ID.into(),
        display_name: "Contoso".into(),
        domains: domains("contoso.com", d),
        verified_id: Some(Authority {
            id: CONTOSO_AUTHORITY_ID.into(),
            name: "Contoso".into(),
            did: CONTOSO_DID.into(),
            linked_domain_urls: vec!["https://verifiedid.contoso.com/".into()],
            contracts: vec![verified_employee_contract("A1bC2dE3fH4iJ5kL6mN7oP8qR9sT0u")],
            face_check_enabled: true,
        }),
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
        ],
        consented_clients: vec![],
    }
}

fn fabrikam() -> Tenant {
    let d = "fabrikam.onmicrosoft.com";
    Tenant {
        id: FABRIKAM_TENANT_ID.into(),
        display_name: "Fabrikam".into(),
        domains: domains("fabrikam.com", d),
        verified_id: Some(Authority {
            id: FABRIKAM_AUTHORITY_ID.into(),
            name: "Fabrikam".into(),
            did: FABRIKAM_DID.into(),
            linked_domain_urls: vec!["https://verifiedid.fabrikam.com/".into()],
            contracts: vec![verified_employee_contract("F1aB2cD3eF4gH5iJ6kL7mN8oP9qR0s")],
            face_check_enabled: true,
        }),
        users: vec![
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
        ],
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
        assert_eq!(seed.tenants.len(), 3);
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
        assert_eq!(seed.clients[0].app_roles, vec![CREATE_ALL_ROLE]);
        assert!(
            !seed.tenants[0].users[0]
                .credential
                .as_ref()
                .unwrap()
                .revoked
        );
    }
}
