//! `/organization/integrations/microsoft/setup`: the guide's steps, with this product's screens.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn SetupPage() -> impl IntoView {
    view! {
        <Title text="Set up Microsoft Verified ID · Traceless" />
        <article class="panel prose">
            <p class="eyebrow">"Setup Instructions"</p>
            <h1>"Connect Microsoft Entra Verified ID"</h1>
            <p>
                "Once connected, you can verify customers and teammates with Microsoft Verified ID: they prove their identity "
                "with a verifiable credential on their device, most commonly in Microsoft Authenticator."
            </p>
            <h2>"Before you begin"</h2>
            <ul>
                <li>"You are an organization administrator in Traceless (see the Team page)."</li>
                <li>"Your Microsoft Entra ID tenant has Microsoft Entra Verified ID set up and can issue the credential your people will present (for example VerifiedEmployee)."</li>
                <li>"The people you will verify already have that credential in Microsoft Authenticator. Your Microsoft admin can confirm the credential type and rollout."</li>
            </ul>
            <h2>"Step 1: Open the connection card"</h2>
            <p>"Go to " <A href="/organization/integrations">"Integrations"</A> ". You will see “Connect Your Azure AD Tenant to Microsoft Verified ID” and a short explanation of how Verified ID works."</p>
            <h2>"Step 2: Sign in to Microsoft"</h2>
            <p>"Click “Log in to your tenant”. Microsoft asks you to sign in with an administrator account of the tenant you want to connect, and shows a consent screen for Traceless. Accept it for your organization."</p>
            <h2>"Step 3: Return to Traceless"</h2>
            <p>"Microsoft sends you back automatically. Traceless records which Microsoft organization you connected, which email domains are verified for it, and its Verified ID authority."</p>
            <h2>"Step 4: Confirmation"</h2>
            <p>"The card says “Microsoft Verified ID is active” and lists the covered domains. Agents can now send verification links to people with an email address in those domains."</p>
            <h2>"If something goes wrong"</h2>
            <p>
                "The handoff back to Traceless can fail if the session was interrupted or if Microsoft could not complete authorization. "
                "Try starting again from Step 1. If it keeps failing, confirm with your Microsoft administrator that Verified ID is configured "
                "for your tenant and that the account you use can consent to the connection."
            </p>
            <h2>"Security notes"</h2>
            <ul>
                <li>"Connecting uses Microsoft’s standard sign-in and consent for enterprise applications; Traceless never sees your Microsoft password."</li>
                <li>"Traceless only uses the access needed to operate Verified ID verification for your organization: your organization’s verified domains, its Verified ID authority, and permission to request credential presentations."</li>
                <li>"Treat verification links like sensitive links: share them only with the intended recipient and through your normal secure channels."</li>
            </ul>
            <h2>"Removing the integration"</h2>
            <p>"On the connection card, click “Delete” and confirm. Pending verifications stop and their links no longer work. The audit log keeps who did it."</p>
            <p class="muted">"Stuck after trying these steps? Contact " <a href="mailto:hello@traceless.com">"hello@traceless.com"</a> "."</p>
        </article>
    }
}
