//! The page frame: header with navigation and the signed-in person, and the footer.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::auth::{SignOut, whoami};
use crate::error::AppError;
use crate::model::Me;

/// The signed-in person (or `None`), loaded once per page load and shared by context.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<Me>, AppError>>);

impl CurrentUser {
    pub fn provide() -> Self {
        let user = CurrentUser(Resource::new(|| (), |_| whoami()));
        provide_context(user);
        user
    }

    pub fn get() -> Self {
        expect_context::<CurrentUser>()
    }
}

#[component]
pub fn Header() -> impl IntoView {
    let user = CurrentUser::get().0;
    let sign_out = ServerAction::<SignOut>::new();
    // The person being verified is not a Traceless user: no sign-in links to distract them.
    let location = leptos_router::hooks::use_location();
    let for_person = move || location.pathname.get_untracked().starts_with("/verify/");
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <div class="site-header-inner">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"T"</span>
                    "Traceless"
                </A>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match user.await {
                            Ok(Some(me)) => {
                                let admin = me.is_admin();
                                let mailbox = me.mailbox;
                                view! {
                                    <nav class="site-nav" aria-label="Main">
                                        <A href="/organization" exact=true>"Overview"</A>
                                        <A href="/organization/verifications">"Verifications"</A>
                                        <A href="/organization/tickets">"Tickets"</A>
                                        <A href="/organization/integrations">"Integrations"</A>
                                        {admin.then(|| view! {
                                            <A href="/organization/team">"Team"</A>
                                            <A href="/organization/api-keys">"API keys"</A>
                                            <A href="/organization/webhooks">"Webhooks"</A>
                                            <A href="/organization/audit">"Audit log"</A>
                                        })}
                                        {mailbox.then(|| view! {
                                            <A href="/organization/mailbox">"Mailbox (development)"</A>
                                        })}
                                    </nav>
                                    <div class="site-user">
                                        // One link to the account page (password, two-step
                                        // verification, sessions): a phone's header stays one line.
                                        <A href="/account" attr:class="site-user-name" attr:title="Your account">
                                            {me.name.clone()}
                                            <span class="site-user-org">{me.organization.clone()} " · Account"</span>
                                        </A>
                                        <ActionForm action=sign_out>
                                            <button type="submit" class="button-quiet">"Sign out"</button>
                                        </ActionForm>
                                    </div>
                                }
                                    .into_any()
                            }
                            _ if for_person() => ().into_any(),
                            _ => {
                                view! {
                                    <nav class="site-nav" aria-label="Main">
                                        <A href="/signin">"Sign in"</A>
                                        <A href="/signup" attr:class="button-primary button-small">"Sign up"</A>
                                    </nav>
                                }
                                    .into_any()
                            }
                        }
                    })}
                </Transition>
            </div>
            <super::ConfirmBanner />
        </header>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p>
                "Traceless help-desk identity verification with Microsoft Entra Verified ID. "
                "Stuck? Contact " <a href="mailto:hello@traceless.com">"hello@traceless.com"</a> "."
            </p>
        </footer>
    }
}
