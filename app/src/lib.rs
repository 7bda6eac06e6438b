//! The Leptos application: pages, components and server functions. Compiled twice:
//! with `ssr` into the server, with `hydrate` into the browser's wasm.

// Each lazy page's view is instantiated here (not in `frontend`): its deeply nested Leptos view
// types overflow the compiler's default query depth (128) in release wasm builds.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
#[cfg(feature = "split")]
use leptos_router::lazy_route;
use leptos_router::{Lazy, LazyRoute, SsrMode, path};

use components::{CurrentUser, Footer, Header};
use pages::*;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // After a server function redirects (sign in, sign out), load the new page for
    // real, so everything rendered from the session is fresh.
    #[cfg(feature = "hydrate")]
    let _ = leptos::server_fn::redirect::set_redirect_hook(|location: &str| {
        if let Some(window) = web_sys::window() {
            let _ = window.location().assign(location);
        }
    });
    CurrentUser::provide();

    view! {
        <Stylesheet id="leptos" href="/pkg/traceless.css" />
        <Title text="Traceless" />
        <Router>
            <Header />
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("") view={Lazy::<LandingRoute>::new()} />
                    <Route path=path!("signup") view={Lazy::<SignUpRoute>::new()} />
                    <Route path=path!("signin") view={Lazy::<SignInRoute>::new()} />
                    <Route path=path!("signin/code") view={Lazy::<SignInCodeRoute>::new()} />
                    <Route path=path!("account/two-step") view={Lazy::<TwoStepRoute>::new()} ssr=SsrMode::Async />
                    // Async: these answer with a real status (302 to sign in, 403, 404),
                    // which needs the data before the first byte is sent.
                    <Route path=path!("invite/:token") view={Lazy::<InviteRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("organization") view={Lazy::<OrganizationRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("organization/team") view={Lazy::<TeamRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("organization/integrations") view={Lazy::<IntegrationsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("organization/integrations/microsoft/setup") view={Lazy::<SetupRoute>::new()} />
                    <Route path=path!("organization/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("organization/api-keys") view={Lazy::<ApiKeysRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("organization/webhooks") view={Lazy::<WebhooksRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("organization/verifications") view={Lazy::<VerificationsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("organization/verifications/:id") view={Lazy::<VerificationRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("organization/tickets") view={Lazy::<TicketsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("organization/tickets/:id") view={Lazy::<TicketRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("organization/mailbox") view={Lazy::<MailboxRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("account/sessions") view={Lazy::<SessionsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("account/password") view={Lazy::<ChangePasswordRoute>::new()} />
                    <Route path=path!("forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} />
                    <Route path=path!("reset-password/:token") view={Lazy::<ResetPasswordRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("confirm-email/:token") view={Lazy::<ConfirmEmailRoute>::new()} ssr=SsrMode::Async />
                    // The person's page: public (the link is the credential); 410 when it no longer works.
                    // Not lazy: it is in the main wasm, so a person's phone fetches no second chunk.
                    <Route path=path!("verify/:token") view=VerifyPage ssr=SsrMode::Async />
                </Routes>
            </main>
            <Footer />
        </Router>
    }
}

/// Declares a lazily loaded route for a page. In a split build (`cargo leptos build --split
/// --lib-features split`, as the scripts build) its view code, and whatever only it uses, goes
/// into a wasm chunk of its own, fetched when the page is first shown, so the person's page does
/// not wait for the whole admin app. Without the `split` feature the same route is an ordinary
/// one in the main wasm: a plain `cargo leptos build` still gives a site that hydrates (the
/// `#[lazy_route]` macro would otherwise import chunk loaders only `--split` provides). The
/// server renders both alike.
macro_rules! lazy_page {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[cfg(feature = "split")]
        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }

        #[cfg(not(feature = "split"))]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

lazy_page! {
    AccountRoute => AccountPage,
    LandingRoute => LandingPage,
    SignUpRoute => SignUpPage,
    SignInRoute => SignInPage,
    SignInCodeRoute => SignInCodePage,
    TwoStepRoute => TwoStepPage,
    InviteRoute => InvitePage,
    OrganizationRoute => OrganizationPage,
    TeamRoute => TeamPage,
    IntegrationsRoute => IntegrationsPage,
    SetupRoute => SetupPage,
    AuditRoute => AuditPage,
    VerificationsRoute => VerificationsPage,
    VerificationRoute => VerificationPage,
    ApiKeysRoute => ApiKeysPage,
    WebhooksRoute => WebhooksPage,
    TicketsRoute => TicketsPage,
    TicketRoute => TicketPage,
    SessionsRoute => SessionsPage,
    ChangePasswordRoute => ChangePasswordPage,
    ForgotPasswordRoute => ForgotPasswordPage,
    ResetPasswordRoute => ResetPasswordPage,
    ConfirmEmailRoute => ConfirmEmailPage,
    MailboxRoute => MailboxPage,
}
