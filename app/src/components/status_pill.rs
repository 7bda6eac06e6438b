//! A verification's status as a coloured pill, and the plain words for failure reasons.

use leptos::prelude::*;

use crate::model::status_label;

/// `status` is a stored status (`requested`, `verified`, …).
#[component]
pub fn StatusPill(
    #[prop(into)] status: Signal<String>,
    #[prop(optional)] big: bool,
) -> impl IntoView {
    view! {
        <span
            class=move || format!("status-pill status-{}{}", status.get(), if big { " status-big" } else { "" })
            data-testid="status-pill"
            data-status=move || status.get()
        >
            {move || status_label(&status.get())}
        </span>
    }
}

/// Whether the verification can still change.
pub fn is_active(status: &str) -> bool {
    matches!(status, "created" | "opened" | "requested" | "scanned")
}

/// For the person being verified: a failure reason code in plain words (the same texts as
/// the core's `FailureReason::for_recipient`, which the browser's wasm cannot use).
pub fn reason_for_recipient(reason: &str) -> &'static str {
    match reason {
        "different_email" => {
            "The credential you presented is for a different email address than the one this verification was sent to. Ask the person who sent you the link to check the address, or present the credential of your work account."
        }
        "no_email" => {
            "The credential you presented carries no email address, so it cannot show that you are the person this verification was sent to. Ask your IT department to add an email address to your work account and issue you a new credential."
        }
        "issuer_not_connected_tenant" => {
            "The credential you presented was not issued by the organization that asked for this verification. Present your work credential from that organization."
        }
        "wrong_credential_type" => {
            "The credential you presented is not the kind this verification asks for."
        }
        "revoked" => {
            "The credential you presented has been revoked. Ask your IT department for a new one."
        }
        "domain_not_covered" => {
            "Your email domain is no longer covered by the organization's Microsoft connection. Contact the person who sent you the link."
        }
        "declined" => "You declined the request in Authenticator.",
        "authenticator_error" => "Microsoft Authenticator reported an error.",
        "face_check_below_threshold" => {
            "Face Check could not confirm that the photo on your credential matches you."
        }
        "revocation_unknown" => {
            "Microsoft did not say the credential is valid, so it could not be accepted. Contact the person who sent you the link."
        }
        "email_not_trusted" => {
            "The organization's Microsoft connection cannot check the email on this kind of credential. Contact the person who sent you the link."
        }
        _ => "The verification did not succeed.",
    }
}
