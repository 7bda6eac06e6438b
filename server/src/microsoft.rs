//! Which Microsoft the server talks to: the real one when an app registration is
//! configured, otherwise the built-in emulator, started here on its own port. Either
//! way it is the same client over real HTTP; only the base URLs differ.
//!
//! In provider mode (`TRACELESS_MS_VERIFIER=provider`) two app registrations are used:
//! customers consent to the provider app (`TRACELESS_MS_PROVIDER_CLIENT_ID`, no
//! request-service role), and `TRACELESS_MS_CLIENT_ID` acts in our own tenant only. The start
//! stops unless our own authority is ready.

use anyhow::Context;
use traceless::config::Settings;
use traceless::config::VerifierSetting;
use traceless::integrations::VerifierIdentity;
use traceless::microsoft::{
    ClientCredentials, Did, MicrosoftClient, MicrosoftEndpoints, RecoveryClient, TenantId,
};
use url::Url;

/// The client, and the emulator it talks to when there is one (kept alive with the app).
pub struct Microsoft {
    pub client: MicrosoftClient,
    /// The account-recovery app registration's client (issue 21); `None`: not configured,
    /// and recovery is not offered.
    pub recovery: Option<RecoveryClient>,
    /// Who verifies presentations.
    pub identity: VerifierIdentity,
    #[cfg(feature = "emulator")]
    pub emulator: Option<microsoft_emulator::RunningEmulator>,
}

pub async fn connect(settings: &Settings, redirect_uri: &Url) -> anyhow::Result<Microsoft> {
    let ms = &settings.microsoft;
    if let Some(app) = &ms.app {
        let real = MicrosoftEndpoints::microsoft();
        let endpoints = MicrosoftEndpoints::new(
            ms.login_url.as_ref().unwrap_or(real.login()).as_str(),
            ms.graph_url.as_ref().unwrap_or(real.graph()).as_str(),
            ms.verified_id_url
                .as_ref()
                .unwrap_or(real.verified_id())
                .as_str(),
        )?;
        tracing::info!(login = %endpoints.login(), graph = %endpoints.graph(), verified_id = %endpoints.verified_id(), "using Microsoft");
        let main = ClientCredentials::new(&app.client_id, &app.client_secret);
        let client = match &ms.provider_app {
            Some(provider) => MicrosoftClient::with_timeout(
                endpoints,
                ClientCredentials::new(&provider.client_id, &provider.client_secret),
                ms.timeout,
            )?
            .with_own_tenant_app(main),
            None => MicrosoftClient::with_timeout(endpoints, main, ms.timeout)?,
        };
        if settings.token_key.is_none() {
            tracing::info!(
                "TRACELESS_TOKEN_KEY is not set: no Microsoft sign-in is kept, so authority readiness and credential types are re-read only when an administrator signs in"
            );
        }
        let client = client
            .with_consent_wait(ms.consent_wait)
            .with_token_key(settings.token_key.clone());
        let identity = match &ms.verifier {
            VerifierSetting::CustomerTenant => VerifierIdentity::CustomerTenant,
            VerifierSetting::ServiceProvider {
                tenant_id: Some(tenant_id),
                authority_did: Some(authority),
            } => VerifierIdentity::ServiceProvider {
                tenant_id: tenant_id.clone(),
                authority: authority.clone(),
            },
            VerifierSetting::ServiceProvider { .. } => anyhow::bail!(
                "TRACELESS_MS_VERIFIER=provider needs TRACELESS_MS_PROVIDER_TENANT_ID and TRACELESS_MS_PROVIDER_AUTHORITY_DID"
            ),
        };
        check_provider_ready(&client, &identity).await?;
        let recovery = ms
            .recovery_app
            .as_ref()
            .map(|app| client.recovery(ClientCredentials::new(&app.client_id, &app.client_secret)));
        return Ok(Microsoft {
            recovery,
            client,
            identity,
            #[cfg(feature = "emulator")]
            emulator: None,
        });
    }
    start_emulator(settings, redirect_uri).await
}

#[cfg(feature = "emulator")]
async fn start_emulator(settings: &Settings, redirect_uri: &Url) -> anyhow::Result<Microsoft> {
    use microsoft_emulator::{DEV_CLIENT_ID, DEV_CLIENT_SECRET, EmulatorConfig, Seed};
    let ms = &settings.microsoft;
    let emulator = microsoft_emulator::spawn(EmulatorConfig {
        bind: ms.emulator_addr,
        seed: Seed::demo(),
    })
    .await
    .with_context(|| {
        format!(
            "starting the built-in Microsoft emulator on {}",
            ms.emulator_addr
        )
    })?;
    // Connect's return, and "Sign in with Microsoft"'s, as they are registered in Entra.
    let sign_in_redirect_uri = settings
        .public_url
        .join(app::ssr::MICROSOFT_SIGN_IN_CALLBACK_PATH)
        .context("building the Microsoft sign-in redirect URI")?;
    for uri in [redirect_uri, &sign_in_redirect_uri] {
        emulator.register_redirect_uri(DEV_CLIENT_ID, uri.as_str());
        emulator.register_redirect_uri(microsoft_emulator::DEV_PROVIDER_CLIENT_ID, uri.as_str());
    }
    // "Enable account recovery"'s return, as registered on the recovery app in Entra.
    let recovery_redirect_uri = settings
        .public_url
        .join(app::ssr::RECOVERY_CONSENT_CALLBACK_PATH)
        .context("building the account recovery redirect URI")?;
    let recovery_app = ms.recovery_app.as_ref().map_or_else(
        || {
            ClientCredentials::new(
                microsoft_emulator::DEV_RECOVERY_CLIENT_ID,
                microsoft_emulator::DEV_RECOVERY_CLIENT_SECRET,
            )
        },
        |app| ClientCredentials::new(&app.client_id, &app.client_secret),
    );
    emulator.register_redirect_uri(
        microsoft_emulator::DEV_RECOVERY_CLIENT_ID,
        recovery_redirect_uri.as_str(),
    );
    let pick = |configured: &Option<Url>, emulated: String| {
        configured.as_ref().map(Url::to_string).unwrap_or(emulated)
    };
    let endpoints = MicrosoftEndpoints::new(
        &pick(&ms.login_url, emulator.login_url()),
        &pick(&ms.graph_url, emulator.graph_url()),
        &pick(&ms.verified_id_url, emulator.verified_id_url()),
    )?;
    tracing::info!(
        base = %emulator.base_url(),
        authenticator = %emulator.authenticator_url(),
        "no Microsoft app configured: using the built-in Microsoft emulator (demo tenants: see the emulator's README)"
    );
    let main = ClientCredentials::new(DEV_CLIENT_ID, DEV_CLIENT_SECRET);
    let client = match (&ms.verifier, &ms.provider_app) {
        (VerifierSetting::CustomerTenant, _) => {
            MicrosoftClient::with_timeout(endpoints, main, ms.timeout)?
        }
        // Customers consent to the provider app; the demo app acts in our own tenant.
        (VerifierSetting::ServiceProvider { .. }, provider) => {
            let provider = provider.as_ref().map_or_else(
                || {
                    ClientCredentials::new(
                        microsoft_emulator::DEV_PROVIDER_CLIENT_ID,
                        microsoft_emulator::DEV_PROVIDER_CLIENT_SECRET,
                    )
                },
                |p| ClientCredentials::new(&p.client_id, &p.client_secret),
            );
            MicrosoftClient::with_timeout(endpoints, provider, ms.timeout)?
                .with_own_tenant_app(main)
        }
    };
    let token_key = settings.token_key.clone().unwrap_or_else(|| {
        tracing::info!(
            "TRACELESS_TOKEN_KEY is not set: Microsoft sign-ins are kept under a key for this process only; after a restart the next refresh asks an administrator to sign in again"
        );
        traceless::microsoft::TokenKey::random()
    });
    let client = client
        .with_consent_wait(ms.consent_wait)
        .with_token_key(Some(token_key));
    // The emulator's own "Traceless" tenant is the provider unless told otherwise.
    let identity = match &ms.verifier {
        VerifierSetting::CustomerTenant => VerifierIdentity::CustomerTenant,
        VerifierSetting::ServiceProvider {
            tenant_id,
            authority_did,
        } => VerifierIdentity::ServiceProvider {
            tenant_id: tenant_id.clone().unwrap_or_else(|| {
                TenantId::parse(microsoft_emulator::PROVIDER_TENANT_ID)
                    .expect("the emulator's provider tenant id is a GUID")
            }),
            authority: authority_did.clone().unwrap_or_else(|| {
                Did::parse(microsoft_emulator::PROVIDER_DID)
                    .expect("the emulator's provider DID is a DID")
            }),
        },
    };
    tracing::info!(verifier = ?identity, "who verifies presentations");
    check_provider_ready(&client, &identity).await?;
    Ok(Microsoft {
        recovery: Some(client.recovery(recovery_app)),
        client,
        identity,
        emulator: Some(emulator),
    })
}

#[cfg(not(feature = "emulator"))]
async fn start_emulator(_: &Settings, _: &Url) -> anyhow::Result<Microsoft> {
    anyhow::bail!(
        "set TRACELESS_MS_CLIENT_ID and TRACELESS_MS_CLIENT_SECRET: this build has no built-in Microsoft emulator"
    )
}

/// Provider mode cannot work: our own authority is missing or not ready, or our own tenant
/// refuses the app. A settings problem: the binary exits with code 2, like other settings
/// errors, with this one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProviderNotReady(pub String);

/// In provider mode, before serving: our own authority exists in our own tenant, is ready
/// (linked domain not known to be unverified, DID document published; an unknown linked
/// domain is confirmed with validateWellKnownDidConfiguration), and our app may create
/// presentation requests there. Nothing to check in tenant mode.
async fn check_provider_ready(
    client: &MicrosoftClient,
    identity: &VerifierIdentity,
) -> Result<(), ProviderNotReady> {
    let VerifierIdentity::ServiceProvider {
        tenant_id,
        authority,
    } = identity
    else {
        return Ok(());
    };
    let fail = |why: String| {
        ProviderNotReady(format!(
            "TRACELESS_MS_VERIFIER=provider: our own Verified ID authority {authority} in tenant {tenant_id} {why}"
        ))
    };
    match client.own_authority(tenant_id, authority).await {
        Ok(Some(a)) if a.is_ready() => {}
        Ok(Some(a)) => {
            return Err(fail(format!(
                "is not ready (linked domain {}, DID document {}): verify its linked domain and publish its DID document in the Entra admin center (Verified ID → Setup)",
                a.linked_domain.as_str(),
                a.did_document_status.as_deref().unwrap_or("unknown")
            )));
        }
        Ok(None) => {
            return Err(fail(
                "is not among the tenant's authorities: check TRACELESS_MS_PROVIDER_AUTHORITY_DID and TRACELESS_MS_PROVIDER_TENANT_ID".into(),
            ));
        }
        Err(e) => {
            return Err(fail(format!(
                "could not be read ({e}); TRACELESS_MS_CLIENT_ID needs the application permission VerifiableCredential.Authority.ReadWrite assigned in our own tenant"
            )));
        }
    }
    client
        .app_token(tenant_id)
        .await
        .map_err(|e| fail(format!("cannot be used to ask for presentations ({e})")))?;
    tracing::info!(%tenant_id, %authority, "our own Verified ID authority is ready");
    Ok(())
}
