//! What the handlers check, said in the OpenAPI document: each limit is one constant, read
//! both by the check (in `verifications.rs` or the core) and by the schema built here, so a
//! client generated from the document and the server agree on what is valid. utoipa's
//! `max_length = …` attributes take only literals, hence these `schema_with` functions.
//!
//! Patterns are ECMA-262 regular expressions (JSON Schema's dialect); `tests/api/openapi.rs`
//! checks each against the server's own checks at the boundaries.

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{Object, RefOr, Schema};

/// The longest recipient address accepted (`traceless::email::EmailAddress::parse`: RFC
/// 5321's 254 for a path, counted in bytes, which is characters for ASCII addresses).
pub const EMAIL_MAX: usize = 254;
/// The longest ticket reference, in characters.
pub const REFERENCE_MAX: usize = traceless::tickets::MAX_REFERENCE_CHARS;
/// The longest ticket subject, in characters.
pub const SUBJECT_MAX: usize = traceless::tickets::MAX_SUBJECT_CHARS;
/// The longest note, in characters.
pub const NOTE_MAX: usize = traceless::verification::MAX_NOTE_CHARS;
/// The longest `webhook_url`, in characters.
pub const WEBHOOK_URL_MAX: usize = traceless::webhooks::MAX_URL_CHARS;
/// The longest `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_MAX: usize = traceless::api_keys::idempotency::MAX_KEY_CHARS;
/// Page sizes of the list.
pub const PAGE_DEFAULT: i64 = 25;
pub const PAGE_MAX: i64 = 100;

/// The values `delivery` takes, as the handler matches them.
pub const DELIVERY_VALUES: [&str; 2] = ["link", "email"];

/// No control character (Unicode `Cc`, which is Rust's `char::is_control`) anywhere.
pub const ONE_LINE: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";
/// One line with something in it besides white space (a reference that trims to nothing
/// is no reference).
pub const ONE_LINE_NOT_BLANK: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";
/// Free text whose only control character may be a line break.
pub const TEXT: &str = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$";
/// Printable ASCII without spaces (an `Idempotency-Key`).
pub const PRINTABLE_ASCII: &str = r"^[\u0021-\u007E]+$";
/// A `webhook_url`: an absolute `https://` URL in plain RFC 3986 form: a host name whose
/// last label starts with a letter (so no IP literal, which WHATWG URL parsing, as the
/// server does, would read even from `0x1` or `123`), an optional port, then path, query
/// and fragment of URI characters. (`http://` is accepted only where the server allows
/// private targets, to one of them, which the document does not promise.)
pub const HTTPS_URL: &str = concat!(
    r"^https://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?",
    r"(/([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?",
    r"(\?([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?",
    r"(#([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$"
);
/// A UUID in its hyphenated lower-case form (as this API writes them).
pub const UUID: &str = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
/// A `next_cursor`: nanoseconds since 1970 and the last verification's id.
pub const CURSOR: &str =
    r"^[0-9]{1,20}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn nullable(builder: ObjectBuilder) -> ObjectBuilder {
    builder.schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

fn done(builder: ObjectBuilder) -> RefOr<Schema> {
    RefOr::T(Schema::Object(builder.build()))
}

pub fn recipient_email() -> RefOr<Schema> {
    done(
        string()
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
            .max_length(Some(EMAIL_MAX))
            .description(Some(
                "The person to verify: an address in one of the connected tenant's domains.",
            ))
            .examples(["megan.bowen@contoso.com"]),
    )
}

pub fn reference() -> RefOr<Schema> {
    done(
        string()
            .min_length(Some(1))
            .max_length(Some(REFERENCE_MAX))
            .pattern(Some(ONE_LINE_NOT_BLANK))
            .description(Some(format!(
                "The help desk's reference, such as `INC-4711`: one line of at most {REFERENCE_MAX} characters, not blank."
            )))
            .examples(["INC-4711"]),
    )
}

pub fn subject() -> RefOr<Schema> {
    done(
        nullable(string())
            .max_length(Some(SUBJECT_MAX))
            .pattern(Some(ONE_LINE))
            .description(Some(format!(
                "The ticket's subject: one line of at most {SUBJECT_MAX} characters."
            ))),
    )
}

pub fn delivery() -> RefOr<Schema> {
    done(
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .enum_values(Some(
                DELIVERY_VALUES
                    .iter()
                    .map(|v| serde_json::Value::from(*v))
                    .chain([serde_json::Value::Null]),
            ))
            .description(Some(
                "`link` (the default): the answer carries the link. `email`: Traceless sends it.",
            )),
    )
}

pub fn webhook_url() -> RefOr<Schema> {
    done(
        nullable(string())
            .format(Some(SchemaFormat::Custom("uri".into())))
            .max_length(Some(WEBHOOK_URL_MAX))
            .pattern(Some(HTTPS_URL))
            .description(Some(format!(
                "Also send this verification's events here: an `https://` URL of at most {WEBHOOK_URL_MAX} characters, \
                 without user name or password, that is not in a private network; signed with the API key's \
                 webhook signing secret."
            ))),
    )
}

/// `after`'s one value.
pub const AFTER_TEMPORARY_ACCESS_PASS: &str = "temporary_access_pass";

pub fn after() -> RefOr<Schema> {
    done(
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .enum_values(Some([
                serde_json::Value::from(AFTER_TEMPORARY_ACCESS_PASS),
                serde_json::Value::Null,
            ]))
            .description(Some(
                "What follows a verified result. `temporary_access_pass`: once the person is verified with Face Check, their page shows them a Microsoft Entra Temporary Access Pass (never sent to you: events say only when it stops working). Needs account recovery enabled and Face Check on; otherwise 422 `recovery_not_allowed`. Needs `delivery: email`: whoever holds the link could ask for the pass, so it goes to the person alone (otherwise 422 `invalid_field`, `field: delivery`).",
            )),
    )
}

pub fn note() -> RefOr<Schema> {
    done(
        nullable(string())
            .max_length(Some(NOTE_MAX))
            .pattern(Some(TEXT))
            .description(Some(format!(
                "A note for the agents: at most {NOTE_MAX} characters; line breaks allowed."
            ))),
    )
}

pub fn idempotency_key() -> RefOr<Schema> {
    done(
        string()
            .min_length(Some(1))
            .max_length(Some(IDEMPOTENCY_KEY_MAX))
            .pattern(Some(PRINTABLE_ASCII))
            .description(Some(format!(
                "Makes a retried create return the first result: 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters, no spaces (a UUID fits)."
            ))),
    )
}

pub fn id() -> RefOr<Schema> {
    done(
        string()
            .format(Some(SchemaFormat::Custom("uuid".into())))
            .pattern(Some(UUID))
            .description(Some("The verification's id, as answers show it")),
    )
}

pub fn cursor() -> RefOr<Schema> {
    done(
        string()
            .pattern(Some(CURSOR))
            .description(Some("`next_cursor` of the previous page")),
    )
}

pub fn limit() -> RefOr<Schema> {
    done(
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(PAGE_MAX))
            .default(Some(PAGE_DEFAULT.into()))
            .description(Some(format!(
                "Page size, 1 to {PAGE_MAX} (default {PAGE_DEFAULT})"
            ))),
    )
}

/// Sets `format` on properties of a component schema (the resource types live in the core,
/// which does not know it is shown through OpenAPI formats).
pub fn set_formats(schema: &mut RefOr<Schema>, formats: &[(&str, &str)]) {
    match schema {
        RefOr::T(Schema::Object(object)) => set_object_formats(object, formats),
        // A `#[serde(flatten)]`ed type: its own fields are in one of the parts.
        RefOr::T(Schema::AllOf(all)) => {
            for part in &mut all.items {
                if let RefOr::T(Schema::Object(object)) = part {
                    set_object_formats(object, formats);
                }
            }
        }
        _ => {}
    }
}

fn set_object_formats(object: &mut Object, formats: &[(&str, &str)]) {
    for (property, format) in formats {
        if let Some(RefOr::T(Schema::Object(p))) = object.properties.get_mut(*property) {
            p.format = Some(match *format {
                "date-time" => SchemaFormat::KnownFormat(KnownFormat::DateTime),
                "email" => SchemaFormat::KnownFormat(KnownFormat::Email),
                other => SchemaFormat::Custom(other.to_owned()),
            });
        }
    }
}

/// Sets `pattern` on one property of a component schema.
pub fn set_pattern(schema: &mut RefOr<Schema>, property: &str, pattern: &str) {
    if let RefOr::T(Schema::Object(object)) = schema
        && let Some(RefOr::T(Schema::Object(p))) = object.properties.get_mut(property)
    {
        p.pattern = Some(pattern.to_owned());
    }
}
