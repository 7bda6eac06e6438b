//! The Leptos application: pages, components and server functions. Compiled twice:
//! with `ssr` into the server, with `hydrate` into the browser's wasm.

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
use leptos_router::{SsrMode, path};

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
    // Tests (and curious people) can tell when the page has become interactive.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/traceless.css" />
        <Title text="Traceless" />
        <Router>
            <Header />
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("") view=LandingPage />
                    <Route path=path!("signup") view=SignUpPage />
                    <Route path=path!("signin") view=SignInPage />
                    // Async: these answer with a real status (302 to sign in, 403, 404),
                    // which needs the data before the first byte is sent.
                    <Route path=path!("invite/:token") view=InvitePage ssr=SsrMode::Async />
                    <Route path=path!("organization") view=OrganizationPage ssr=SsrMode::Async />
                    <Route path=path!("organization/team") view=TeamPage ssr=SsrMode::Async />
                    <Route path=path!("organization/integrations") view=IntegrationsPage ssr=SsrMode::Async />
                    <Route path=path!("organization/integrations/microsoft/setup") view=SetupPage />
                    <Route path=path!("organization/audit") view=AuditPage ssr=SsrMode::Async />
                    <Route path=path!("organization/api-keys") view=ApiKeysPage ssr=SsrMode::Async />
                    <Route path=path!("organization/webhooks") view=WebhooksPage ssr=SsrMode::Async />
                    <Route path=path!("organization/verifications") view=VerificationsPage ssr=SsrMode::Async />
                    <Route path=path!("organization/verifications/:id") view=VerificationPage ssr=SsrMode::Async />
                    <Route path=path!("organization/tickets") view=TicketsPage ssr=SsrMode::Async />
                    <Route path=path!("organization/tickets/:id") view=TicketPage ssr=SsrMode::Async />
                    <Route path=path!("organization/mailbox") view=MailboxPage ssr=SsrMode::Async />
                    // The person's page: public (the link is the credential); 410 when it no longer works.
                    <Route path=path!("verify/:token") view=VerifyPage ssr=SsrMode::Async />
                </Routes>
            </main>
            <Footer />
        </Router>
    }
}
