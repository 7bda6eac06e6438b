//! The database (`TRACELESS_DATABASE_URL`): a SQLite file or a PostgreSQL database.

use std::fmt;
use std::fs::OpenOptions;
use std::path::PathBuf;
use std::str::FromStr;

use url::Url;

use super::error::ConfigError;
use super::values::redact_password;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/traceless.db";

/// A database URL we can serve from: a SQLite file (the default, one machine) or PostgreSQL
/// (any number of instances). Anything else is refused by name, so that a typo never
/// becomes a stray SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    database: Database,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file, created (with its folder) when missing.
    SqliteFile(PathBuf),
    /// A SQLite database in memory that dies with the process (`sqlite::memory:`).
    SqliteMemory,
    /// A PostgreSQL database (`postgres://user:password@host:port/name`); it must exist.
    Postgres,
}

pub(super) fn parse(lookup: &dyn Fn(&str) -> Option<String>) -> Result<DatabaseUrl, ConfigError> {
    let value = lookup("TRACELESS_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
    DatabaseUrl::parse(&value).map_err(|reason| ConfigError::Invalid {
        name: "TRACELESS_DATABASE_URL",
        value: redact_password(&value),
        reason,
    })
}

const URL_EXAMPLE: &str = "use a sqlite: URL such as sqlite://data/traceless.db, or a postgres: URL such as postgres://traceless@127.0.0.1:5432/traceless";

impl DatabaseUrl {
    /// Parses a database URL; the error says what is wrong, in words for the operator.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let scheme = value
            .split_once(':')
            .map(|(scheme, _)| scheme)
            .filter(|s| {
                s.len() > 1
                    && s.starts_with(|c: char| c.is_ascii_alphabetic())
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            })
            .ok_or_else(|| format!("expected a URL with a scheme: {URL_EXAMPLE}"))?
            .to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => {}
            "postgres" | "postgresql" => {
                sqlx::postgres::PgConnectOptions::from_str(value)
                    .map_err(|e| format!("{e}: {URL_EXAMPLE}"))?;
                let url = Url::parse(value).map_err(|e| format!("{e}: {URL_EXAMPLE}"))?;
                if url.path().trim_start_matches('/').is_empty() {
                    return Err(format!("names no database: {URL_EXAMPLE}"));
                }
                return Ok(Self {
                    url: value.to_owned(),
                    database: Database::Postgres,
                });
            }
            other => {
                return Err(format!(
                    "the {other}: scheme is not supported: {URL_EXAMPLE}"
                ));
            }
        }
        // sqlx strips only a lower-case scheme; anything else would become part of a path.
        let url = format!("sqlite:{}", &value["sqlite:".len()..]);
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .map_err(|e| format!("{e}: {URL_EXAMPLE}"))?;
        let rest = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let (file, query) = rest.split_once('?').unwrap_or((rest, ""));
        let in_memory = file == ":memory:"
            || url::form_urlencoded::parse(query.as_bytes())
                .any(|(k, v)| k == "mode" && v == "memory");
        let database = if in_memory {
            Database::SqliteMemory
        } else if file.is_empty() {
            return Err(format!("names no database file: {URL_EXAMPLE}"));
        } else {
            Database::SqliteFile(options.get_filename().to_path_buf())
        };
        Ok(Self { url, database })
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Whether the database file can be opened for reading and writing; creates its folder,
    /// and the file itself (empty, which SQLite takes as a new database), when missing.
    pub fn check_access(&self) -> Result<(), String> {
        let Database::SqliteFile(path) = &self.database else {
            return Ok(());
        };
        if path.is_dir() {
            return Err(format!(
                "{} is a folder, not a database file",
                path.display()
            ));
        }
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .map_err(|e| format!("cannot create the folder {}: {e}", folder.display()))?;
        }
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| {
                format!(
                    "cannot open {} for reading and writing: {e}",
                    path.display()
                )
            })?;
        Ok(())
    }
}

impl fmt::Display for DatabaseUrl {
    /// The URL without its password, if it has one: fit for logs and error lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_password(&self.url))
    }
}
