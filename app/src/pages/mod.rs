//! One module per page.

mod account;
mod api_keys;
mod audit;
mod confirm_email;
mod integrations;
mod invite;
mod landing;
mod mailbox;
mod microsoft_only;
mod not_found;
mod organization;
mod password;
mod recovery;
mod sessions;
mod setup;
mod sign_in;
mod sign_in_code;
mod sign_up;
mod team;
mod tickets;
mod two_step;
mod two_step_requirement;
mod verification;
mod verifications;
mod verify;
mod webhooks;

pub use account::AccountPage;
pub use api_keys::ApiKeysPage;
pub use audit::AuditPage;
pub use confirm_email::ConfirmEmailPage;
pub use integrations::IntegrationsPage;
pub use invite::InvitePage;
pub use landing::LandingPage;
pub use mailbox::MailboxPage;
pub use not_found::NotFound;
pub use organization::OrganizationPage;
pub use password::{ChangePasswordPage, ForgotPasswordPage, ResetPasswordPage};
pub use sessions::SessionsPage;
pub use setup::SetupPage;
pub use sign_in::SignInPage;
pub use sign_in_code::SignInCodePage;
pub use sign_up::SignUpPage;
pub use team::TeamPage;
pub use tickets::{TicketPage, TicketsPage};
pub use two_step::TwoStepPage;
pub use two_step_requirement::TwoStepRequirementPanel;
pub use verification::VerificationPage;
pub use verifications::VerificationsPage;
pub use verify::VerifyPage;
pub use webhooks::WebhooksPage;

use leptos::prelude::*;

use crate::components::{CurrentUser, ErrorView};
use crate::error::AppError;
use crate::model::Me;

/// Renders `page` for a signed-in person; visitors are sent to sign in.
pub fn signed_in<V: IntoView + 'static>(
    page: impl Fn(Me) -> V + Send + Sync + Clone + 'static,
) -> impl IntoView {
    let user = CurrentUser::get().0;
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {
                let page = page.clone();
                move || {
                    let page = page.clone();
                    Suspend::new(async move {
                        match user.await {
                            Ok(Some(me)) => page(me).into_any(),
                            Ok(None) => view! { <ErrorView error=AppError::Unauthenticated /> }.into_any(),
                            Err(error) => view! { <ErrorView error /> }.into_any(),
                        }
                    })
                }
            }
        </Suspense>
    }
}
