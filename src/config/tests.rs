//! The settings as a whole: defaults, each section's errors, and how sections combine.

use super::*;
use crate::microsoft::{Did, TenantId};
use std::collections::HashMap;

/// Settings as a debug build reads them (the emulator is the default).
fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    parse_as(vars, true)
}

/// Settings as a release build reads them (no emulator unless asked for).
fn release(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    parse_as(vars, false)
}

fn parse_as(vars: &[(&str, &str)], emulator_by_default: bool) -> Result<Settings, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parse(&|name| vars.get(name).cloned(), emulator_by_default)
}

const REAL_MICROSOFT: [(&str, &str); 2] = [
    ("TRACELESS_MS_CLIENT_ID", "abc"),
    ("TRACELESS_MS_CLIENT_SECRET", "very-secret"),
];
const TENANT_ID: &str = "84841066-274d-4ec0-a5c1-276be684bdd3";
const DID: &str = "did:web:verifiedid.traceless.io";

#[test]
fn without_smtp_mail_goes_to_the_development_mailbox() {
    assert!(settings(&[]).unwrap().mail.smtp.is_none());
    let err = settings(&[("TRACELESS_SMTP_FROM", "verify@example.com")]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("TRACELESS_SMTP_FROM: only used with TRACELESS_SMTP_HOST")
    );
}

#[test]
fn smtp_settings_are_checked_at_start() {
    let s = settings(&[
        ("TRACELESS_SMTP_HOST", "smtp.example.com"),
        ("TRACELESS_SMTP_FROM", "Traceless <verify@example.com>"),
    ])
    .unwrap();
    let smtp = s.mail.smtp.unwrap();
    assert_eq!((smtp.port, smtp.security), (587, SmtpSecurity::StartTls));
    let with = |extra: (&'static str, &'static str)| {
        settings(&[
            ("TRACELESS_SMTP_HOST", "smtp.example.com"),
            ("TRACELESS_SMTP_FROM", "verify@example.com"),
            extra,
        ])
        .map(|_| ())
        .unwrap_err()
        .to_string()
    };
    assert!(with(("TRACELESS_SMTP_SECURITY", "ssl")).contains("expected starttls"));
    assert!(with(("TRACELESS_SMTP_PORT", "99999")).contains("TRACELESS_SMTP_PORT"));
    assert!(with(("TRACELESS_SMTP_USERNAME", "me")).contains("TRACELESS_SMTP_PASSWORD is not"));
    let no_from = settings(&[("TRACELESS_SMTP_HOST", "smtp.example.com")]).unwrap_err();
    assert!(
        no_from
            .to_string()
            .starts_with("TRACELESS_SMTP_FROM is not set")
    );
    let bad_from = settings(&[
        ("TRACELESS_SMTP_HOST", "smtp.example.com"),
        ("TRACELESS_SMTP_FROM", "not an address"),
    ])
    .unwrap_err();
    assert!(bad_from.to_string().contains("expected an email address"));
}

#[test]
fn defaults_run_locally_on_sqlite_with_the_emulator() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.bind_addr.to_string(), DEFAULT_BIND_ADDR);
    assert_eq!(s.public_url.as_str(), "http://127.0.0.1:3000/");
    assert_eq!(s.database_url.as_str(), DEFAULT_DATABASE_URL);
    assert_eq!(
        s.database_url.database(),
        &Database::SqliteFile("data/traceless.db".into())
    );
    assert!(s.microsoft.app.is_none());
    assert_eq!(s.microsoft.verifier, VerifierSetting::CustomerTenant);
    assert!(!s.secure_cookies());
    assert_eq!(s.invite_lifetime, Duration::from_secs(72 * 3600));
}

#[test]
fn https_public_url_turns_on_secure_cookies() {
    let s = settings(&[("TRACELESS_PUBLIC_URL", "https://help.example.com")]).unwrap();
    assert!(s.secure_cookies());
    assert_eq!(s.public_url.as_str(), "https://help.example.com/");
}

/// Every bad value stops the start with one line that names its variable.
#[test]
fn each_bad_setting_is_refused_in_one_line_naming_its_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("TRACELESS_BIND_ADDR", "localhost")],
            "TRACELESS_BIND_ADDR",
        ),
        (
            &[("TRACELESS_BIND_ADDR", "127.0.0.1:99999")],
            "TRACELESS_BIND_ADDR",
        ),
        (&[("LEPTOS_SITE_ADDR", "nowhere")], "LEPTOS_SITE_ADDR"),
        (
            &[("TRACELESS_BIND_ADDR", "0.0.0.0:3000")],
            "TRACELESS_PUBLIC_URL",
        ),
        (
            &[("TRACELESS_PUBLIC_URL", "help.example.com")],
            "TRACELESS_PUBLIC_URL",
        ),
        (
            &[("TRACELESS_PUBLIC_URL", "ftp://help.example.com/")],
            "TRACELESS_PUBLIC_URL",
        ),
        (
            &[("TRACELESS_PUBLIC_URL", "/relative")],
            "TRACELESS_PUBLIC_URL",
        ),
        (
            &[("TRACELESS_PUBLIC_URL", "https://example.com/traceless/")],
            "TRACELESS_PUBLIC_URL",
        ),
        (
            &[("TRACELESS_PUBLIC_URL", "https://example.com/?a=b")],
            "TRACELESS_PUBLIC_URL",
        ),
        (
            &[("TRACELESS_PUBLIC_URL", "https://u:p@example.com/")],
            "TRACELESS_PUBLIC_URL",
        ),
        (
            &[("TRACELESS_DATABASE_URL", "postgres://db.internal/")],
            "TRACELESS_DATABASE_URL",
        ),
        (
            &[("TRACELESS_DATABASE_URL", "mysql://db.internal/traceless")],
            "TRACELESS_DATABASE_URL",
        ),
        (
            &[("TRACELESS_DATABASE_URL", "data/traceless.db")],
            "TRACELESS_DATABASE_URL",
        ),
        (
            &[("TRACELESS_DATABASE_URL", "sqlite://")],
            "TRACELESS_DATABASE_URL",
        ),
        (
            &[("TRACELESS_DATABASE_URL", "sqlite://x.db?mode=sideways")],
            "TRACELESS_DATABASE_URL",
        ),
        (&[("TRACELESS_LOG_FORMAT", "xml")], "TRACELESS_LOG_FORMAT"),
        (
            &[("TRACELESS_INVITE_LIFETIME_HOURS", "0")],
            "TRACELESS_INVITE_LIFETIME_HOURS",
        ),
        (
            &[("TRACELESS_INVITE_LIFETIME_HOURS", "721")],
            "TRACELESS_INVITE_LIFETIME_HOURS",
        ),
        (
            &[("TRACELESS_INVITE_LIFETIME_HOURS", "-1")],
            "TRACELESS_INVITE_LIFETIME_HOURS",
        ),
        (
            &[("TRACELESS_INVITE_LIFETIME_HOURS", "three days")],
            "TRACELESS_INVITE_LIFETIME_HOURS",
        ),
        (
            &[("TRACELESS_MS_TIMEOUT_MS", "99")],
            "TRACELESS_MS_TIMEOUT_MS",
        ),
        (
            &[("TRACELESS_MS_TIMEOUT_MS", "lots")],
            "TRACELESS_MS_TIMEOUT_MS",
        ),
        (
            &[("TRACELESS_MS_LOGIN_URL", "login.microsoftonline.com")],
            "TRACELESS_MS_LOGIN_URL",
        ),
        (
            &[("TRACELESS_MS_GRAPH_URL", "ftp://x")],
            "TRACELESS_MS_GRAPH_URL",
        ),
        (
            &[("TRACELESS_MS_VERIFIED_ID_URL", "nope")],
            "TRACELESS_MS_VERIFIED_ID_URL",
        ),
        (
            &[("TRACELESS_EMULATOR_ADDR", "3100")],
            "TRACELESS_EMULATOR_ADDR",
        ),
        (
            &[("TRACELESS_MS_CLIENT_ID", "abc")],
            "TRACELESS_MS_CLIENT_SECRET",
        ),
        (
            &[("TRACELESS_MS_CLIENT_SECRET", "abc")],
            "TRACELESS_MS_CLIENT_ID",
        ),
        (
            &[("TRACELESS_MS_EMULATOR", "maybe")],
            "TRACELESS_MS_EMULATOR",
        ),
        (
            &[("TRACELESS_MS_VERIFIER", "both")],
            "TRACELESS_MS_VERIFIER",
        ),
        (
            &[
                ("TRACELESS_MS_VERIFIER", "provider"),
                ("TRACELESS_MS_PROVIDER_TENANT_ID", "contoso"),
            ],
            "TRACELESS_MS_PROVIDER_TENANT_ID",
        ),
        (
            &[
                ("TRACELESS_MS_VERIFIER", "provider"),
                ("TRACELESS_MS_PROVIDER_AUTHORITY_DID", "web:x"),
            ],
            "TRACELESS_MS_PROVIDER_AUTHORITY_DID",
        ),
    ];
    for (vars, variable) in cases {
        let error = settings(vars)
            .map(|_| ())
            .expect_err(&format!("{vars:?} is refused"))
            .to_string();
        // `--nocapture` shows each line as an operator would read it.
        println!("{error}");
        assert!(error.contains(variable), "{vars:?}: {error}");
        assert!(!error.contains('\n'), "{vars:?}: one line, got {error}");
    }
}

#[test]
fn postgres_is_accepted_and_its_password_never_shown() {
    let url = settings(&[(
        "TRACELESS_DATABASE_URL",
        "postgres://traceless:hunter2@db.internal:5432/traceless",
    )])
    .unwrap()
    .database_url;
    assert_eq!(url.database(), &Database::Postgres);
    assert_eq!(
        url.as_str(),
        "postgres://traceless:hunter2@db.internal:5432/traceless"
    );
    assert!(!url.to_string().contains("hunter2"), "{url}");
    let error = settings(&[(
        "TRACELESS_DATABASE_URL",
        "postgres://traceless:hunter2@db.internal/",
    )])
    .unwrap_err()
    .to_string();
    assert!(error.contains("names no database"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
}

#[test]
fn sqlite_urls_name_a_file_or_memory() {
    let database = |url: &str| {
        settings(&[("TRACELESS_DATABASE_URL", url)])
            .unwrap()
            .database_url
            .database()
            .clone()
    };
    assert_eq!(
        database("sqlite:///var/lib/traceless/traceless.db"),
        Database::SqliteFile("/var/lib/traceless/traceless.db".into())
    );
    assert_eq!(
        database("sqlite:data.db?mode=rwc"),
        Database::SqliteFile("data.db".into())
    );
    // An upper-case scheme would otherwise end up in the file name.
    assert_eq!(
        database("SQLite://data/x.db"),
        Database::SqliteFile("data/x.db".into())
    );
    assert_eq!(database("sqlite::memory:"), Database::SqliteMemory);
    assert_eq!(database("sqlite://?mode=memory"), Database::SqliteMemory);
}

#[test]
fn a_database_folder_that_cannot_be_made_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where a folder should be: no one, not even root, can create it.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"").unwrap();
    let url = format!("sqlite://{}/traceless.db", blocker.display());
    let s = settings(&[("TRACELESS_DATABASE_URL", &url)]).unwrap();
    let error = s.check_paths().unwrap_err().to_string();
    assert!(
        error.starts_with("TRACELESS_DATABASE_URL: cannot create the folder"),
        "{error}"
    );
    assert!(!error.contains('\n'));
}

#[test]
fn a_database_path_that_is_a_folder_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().display());
    let s = settings(&[("TRACELESS_DATABASE_URL", &url)]).unwrap();
    let error = s.check_paths().unwrap_err().to_string();
    assert!(
        error.contains("is a folder, not a database file"),
        "{error}"
    );
}

#[test]
fn a_missing_database_folder_and_file_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/deeper/traceless.db");
    let url = format!("sqlite://{}", file.display());
    settings(&[("TRACELESS_DATABASE_URL", &url)])
        .unwrap()
        .check_paths()
        .unwrap();
    assert!(file.is_file());
}

#[test]
fn a_release_build_without_microsoft_credentials_refuses_to_start() {
    let error = release(&[]).unwrap_err();
    assert!(matches!(error, ConfigError::NoMicrosoft));
    let line = error.to_string();
    assert!(line.contains("TRACELESS_MS_EMULATOR=true"), "{line}");
    assert!(line.contains("TRACELESS_MS_CLIENT_ID"), "{line}");
}

#[test]
fn the_emulator_runs_only_when_asked_for_or_in_a_debug_build() {
    assert!(
        release(&[("TRACELESS_MS_EMULATOR", "true")])
            .unwrap()
            .microsoft
            .app
            .is_none()
    );
    assert!(settings(&[]).unwrap().microsoft.app.is_none());
    assert!(matches!(
        settings(&[("TRACELESS_MS_EMULATOR", "false")]).unwrap_err(),
        ConfigError::NoMicrosoft
    ));
    let real = release(&REAL_MICROSOFT).unwrap();
    assert_eq!(real.microsoft.app.unwrap().client_id, "abc");
}

#[test]
fn credentials_and_the_emulator_together_are_refused() {
    let mut vars = REAL_MICROSOFT.to_vec();
    vars.push(("TRACELESS_MS_EMULATOR", "true"));
    let error = settings(&vars).unwrap_err().to_string();
    assert!(error.starts_with("TRACELESS_MS_EMULATOR="), "{error}");
}

#[test]
fn client_id_without_secret_is_refused() {
    let err = settings(&[("TRACELESS_MS_CLIENT_ID", "abc")]).unwrap_err();
    assert!(matches!(err, ConfigError::Incomplete { .. }));
}

#[test]
fn client_secret_is_not_in_debug_output() {
    let s = settings(&REAL_MICROSOFT).unwrap();
    assert!(!format!("{s:?}").contains("very-secret"));
}

#[test]
fn the_customer_tenant_verifies_by_default() {
    let s = settings(&[("TRACELESS_MS_VERIFIER", "tenant")]).unwrap();
    assert_eq!(s.microsoft.verifier, VerifierSetting::CustomerTenant);
}

#[test]
fn the_provider_pattern_with_microsoft_needs_our_tenant_and_authority() {
    let mut vars = REAL_MICROSOFT.to_vec();
    vars.push(("TRACELESS_MS_VERIFIER", "provider"));
    let missing_tenant = settings(&vars).unwrap_err().to_string();
    assert!(
        missing_tenant.starts_with("TRACELESS_MS_PROVIDER_TENANT_ID is not set"),
        "{missing_tenant}"
    );
    vars.push(("TRACELESS_MS_PROVIDER_TENANT_ID", TENANT_ID));
    let missing_did = settings(&vars).unwrap_err().to_string();
    assert!(
        missing_did.starts_with("TRACELESS_MS_PROVIDER_AUTHORITY_DID is not set"),
        "{missing_did}"
    );
    vars.push(("TRACELESS_MS_PROVIDER_AUTHORITY_DID", DID));
    let missing_app = settings(&vars).unwrap_err().to_string();
    assert!(
        missing_app.starts_with("TRACELESS_MS_PROVIDER_CLIENT_ID is not set"),
        "{missing_app}"
    );
    vars.push(("TRACELESS_MS_PROVIDER_CLIENT_ID", "provider-app"));
    assert!(matches!(
        settings(&vars).unwrap_err(),
        ConfigError::Incomplete {
            missing: "TRACELESS_MS_PROVIDER_CLIENT_SECRET",
            ..
        }
    ));
    vars.push(("TRACELESS_MS_PROVIDER_CLIENT_SECRET", "provider-secret"));
    let s = settings(&vars).unwrap();
    assert_eq!(
        s.microsoft.provider_app.as_ref().unwrap().client_id,
        "provider-app"
    );
    assert!(!format!("{s:?}").contains("provider-secret"));
    assert_eq!(
        s.microsoft.verifier,
        VerifierSetting::ServiceProvider {
            tenant_id: Some(TenantId::parse(TENANT_ID).unwrap()),
            authority_did: Some(Did::parse(DID).unwrap()),
        }
    );
}

#[test]
fn the_provider_pattern_with_the_emulator_may_leave_its_values_out() {
    let s = settings(&[("TRACELESS_MS_VERIFIER", "provider")]).unwrap();
    assert_eq!(
        s.microsoft.verifier,
        VerifierSetting::ServiceProvider {
            tenant_id: None,
            authority_did: None
        }
    );
}

#[test]
fn a_provider_app_without_the_provider_pattern_is_refused() {
    let mut vars = REAL_MICROSOFT.to_vec();
    vars.push(("TRACELESS_MS_PROVIDER_CLIENT_ID", "provider-app"));
    vars.push(("TRACELESS_MS_PROVIDER_CLIENT_SECRET", "s"));
    let error = settings(&vars).unwrap_err().to_string();
    assert!(
        error.starts_with("TRACELESS_MS_PROVIDER_CLIENT_ID: only used with"),
        "{error}"
    );
}

#[test]
fn provider_values_without_the_provider_pattern_are_refused() {
    let error = settings(&[("TRACELESS_MS_PROVIDER_AUTHORITY_DID", DID)])
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("TRACELESS_MS_PROVIDER_AUTHORITY_DID: only used with"),
        "{error}"
    );
}

#[test]
fn private_webhook_targets_are_off_unless_asked_for() {
    assert!(!settings(&[]).unwrap().webhooks.allow_private);
    let on = settings(&[("TRACELESS_WEBHOOK_ALLOW_PRIVATE", "true")]).unwrap();
    assert!(on.webhooks.allow_private);
    let error = settings(&[("TRACELESS_WEBHOOK_ALLOW_PRIVATE", "sometimes")])
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("TRACELESS_WEBHOOK_ALLOW_PRIVATE="),
        "{error}"
    );
}

#[test]
fn retention_is_90_days_unless_set_between_1_and_3650() {
    let day = Duration::from_secs(24 * 3600);
    assert_eq!(settings(&[]).unwrap().retention.window, day * 90);
    let s = settings(&[("TRACELESS_RETENTION_DAYS", "30")]).unwrap();
    assert_eq!(s.retention.window, day * 30);
    for wrong in ["0", "3651", "ninety", "-1"] {
        let error = settings(&[("TRACELESS_RETENTION_DAYS", wrong)])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("TRACELESS_RETENTION_DAYS="), "{error}");
    }
}

#[test]
fn the_recovery_app_needs_both_values_and_a_guid() {
    let mut vars = REAL_MICROSOFT.to_vec();
    assert!(settings(&vars).unwrap().microsoft.recovery_app.is_none());
    vars.push((
        "TRACELESS_MS_RECOVERY_CLIENT_ID",
        "d7a2c4e6-8b1f-4a3d-9e5c-1f2a3b4c5d6e",
    ));
    assert!(matches!(
        settings(&vars).unwrap_err(),
        ConfigError::Incomplete {
            missing: "TRACELESS_MS_RECOVERY_CLIENT_SECRET",
            ..
        }
    ));
    vars.push(("TRACELESS_MS_RECOVERY_CLIENT_SECRET", "recovery-secret"));
    let s = settings(&vars).unwrap();
    assert_eq!(
        s.microsoft.recovery_app.as_ref().unwrap().client_id,
        "d7a2c4e6-8b1f-4a3d-9e5c-1f2a3b4c5d6e"
    );
    assert!(!format!("{s:?}").contains("recovery-secret"));
    let mut wrong = REAL_MICROSOFT.to_vec();
    wrong.push(("TRACELESS_MS_RECOVERY_CLIENT_ID", "recovery-app"));
    wrong.push(("TRACELESS_MS_RECOVERY_CLIENT_SECRET", "s"));
    let error = settings(&wrong).unwrap_err().to_string();
    assert!(
        error.starts_with("TRACELESS_MS_RECOVERY_CLIENT_ID"),
        "{error}"
    );
}
