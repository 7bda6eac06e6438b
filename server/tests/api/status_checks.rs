//! The database refuses a status or kind the code does not know (migration 0014), on either
//! backend, and the migrations' lists are the vocabulary's: a new word without a migration
//! that lets the database store it fails here, not in production.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use traceless::db::{self, Pool};
use traceless::tickets::EntryKind;
use traceless::verification::status::{EventKind, FailureReason, RequestState, StatusName};
use uuid::Uuid;

use crate::helpers::TestDatabase;

/// A check (a PostgreSQL constraint, SQLite triggers named after it) and the words each of
/// its columns allows.
fn checks() -> Vec<(&'static str, &'static str, Vec<String>)> {
    fn words<T: ToString>(all: impl IntoIterator<Item = T>) -> Vec<String> {
        all.into_iter().map(|w| w.to_string()).collect()
    }
    vec![
        (
            "verifications_words_known",
            "status",
            words(StatusName::ALL),
        ),
        (
            "verifications_words_known",
            "failure_reason",
            words(FailureReason::ALL),
        ),
        (
            "verification_events_words_known",
            "kind",
            words(EventKind::all()),
        ),
        (
            "verification_events_words_known",
            "status",
            words(StatusName::ALL),
        ),
        (
            "presentation_requests_state_known",
            "state",
            words(RequestState::ALL),
        ),
        (
            "ticket_entries_kind_known",
            "kind",
            words(EntryKind::ALL.map(EntryKind::as_str)),
        ),
    ]
}

/// The newest migration of `folder` that mentions `name`: a later migration that widens a
/// check replaces the earlier one's list.
fn newest_mentioning(folder: &str, name: &str) -> (PathBuf, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
        .into_iter()
        .rev()
        .find_map(|path| {
            let sql = std::fs::read_to_string(&path).unwrap();
            sql.contains(name).then_some((path, sql))
        })
        .unwrap_or_else(|| panic!("no migration in {folder} defines {name}"))
}

fn without_spaces(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn the_migrations_allow_exactly_the_words_of_the_vocabulary() {
    for (name, column, words) in checks() {
        let list = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(",");
        for (folder, fragment) in [
            ("migrations", format!("NEW.{column}NOTIN({list})")),
            ("migrations-postgres", format!("{column}IN({list})")),
        ] {
            let (path, sql) = newest_mentioning(folder, name);
            assert!(
                without_spaces(&sql).contains(&fragment),
                "{} ({name}) must list exactly these {column} words, in this order: {words:?}",
                path.display()
            );
        }
    }
}

/// The statement fails, and because of the named check (not, say, a missing column).
async fn refused(pool: &Pool, check: &str, statement: db::Query<'_>) {
    let error = statement
        .execute_on(pool)
        .await
        .expect_err("the database refuses an unknown word");
    assert!(error.to_string().contains(check), "{error}");
}

#[tokio::test]
async fn an_unknown_status_or_kind_is_refused_on_either_backend() {
    let database = TestDatabase::new().await;
    let pool = db::connect(database.url())
        .await
        .expect("a migrated database");
    let (organization, verification, ticket) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let now = OffsetDateTime::now_utc();
    db::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, 'Contoso', $2)")
        .bind(organization)
        .bind(now)
        .execute_on(&pool)
        .await
        .unwrap();
    let insert_verification = |id: Uuid, status: &'static str, reason: Option<&'static str>| {
        db::query(
            "INSERT INTO verifications (id, organization_id, created_by_name, recipient_email,
               link_hash, link_expires_at, status, failure_reason, created_at, updated_at)
             VALUES ($1, $2, 'Ada', 'megan@contoso.com', $3, $4, $5, $6, $4, $4)",
        )
        .bind(id)
        .bind(organization)
        .bind(id.to_string())
        .bind(now)
        .bind(status)
        .bind(reason)
    };
    insert_verification(verification, "created", None)
        .execute_on(&pool)
        .await
        .expect("a known status is stored");

    let check = "verifications_words_known";
    refused(
        &pool,
        check,
        insert_verification(Uuid::new_v4(), "bogus", None),
    )
    .await;
    refused(
        &pool,
        check,
        insert_verification(Uuid::new_v4(), "failed", Some("bogus")),
    )
    .await;
    refused(
        &pool,
        check,
        insert_verification(Uuid::new_v4(), "failed", None),
    )
    .await;
    refused(
        &pool,
        check,
        insert_verification(Uuid::new_v4(), "verified", Some("revoked")),
    )
    .await;
    refused(
        &pool,
        check,
        db::query("UPDATE verifications SET status = 'bogus' WHERE id = $1").bind(verification),
    )
    .await;

    let insert_event = |kind: &'static str, status: &'static str| {
        db::query(
            "INSERT INTO verification_events (verification_id, organization_id, kind, status, message, created_at)
             VALUES ($1, $2, $3, $4, 'x', $5)",
        )
        .bind(verification)
        .bind(organization)
        .bind(kind)
        .bind(status)
        .bind(now)
    };
    insert_event("failed.revoked", "failed")
        .execute_on(&pool)
        .await
        .expect("a known kind is stored");
    let check = "verification_events_words_known";
    refused(&pool, check, insert_event("bogus", "created")).await;
    refused(&pool, check, insert_event("failed.bogus", "failed")).await;
    refused(&pool, check, insert_event("created", "bogus")).await;

    refused(
        &pool,
        "presentation_requests_state_known",
        db::query(
            "INSERT INTO presentation_requests (id, verification_id, organization_id,
               microsoft_request_id, api_key_hash, url, expires_at, state, created_at)
             VALUES ($1, $2, $3, 'r', 'h', 'openid-vc://', $4, 'bogus', $4)",
        )
        .bind(Uuid::new_v4())
        .bind(verification)
        .bind(organization)
        .bind(now),
    )
    .await;

    db::query(
        "INSERT INTO tickets (id, organization_id, reference, source, created_at, updated_at)
         VALUES ($1, $2, 'INC-1', 'Traceless', $3, $3)",
    )
    .bind(ticket)
    .bind(organization)
    .bind(now)
    .execute_on(&pool)
    .await
    .unwrap();
    refused(
        &pool,
        "ticket_entries_kind_known",
        db::query(
            "INSERT INTO ticket_entries (ticket_id, organization_id, kind, actor, detail, created_at)
             VALUES ($1, $2, 'bogus', 'Ada', 'x', $3)",
        )
        .bind(ticket)
        .bind(organization)
        .bind(now),
    )
    .await;
    pool.close().await;
}
