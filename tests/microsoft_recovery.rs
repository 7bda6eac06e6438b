//! Account recovery's side of `traceless::microsoft` against the in-process Microsoft emulator:
//! the recovery registration's app-only calls, finding a user, their directory roles, and the
//! Temporary Access Pass with each refusal the tenant's policy or Microsoft can give.

use std::time::Duration;

use microsoft_emulator::{
    CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL, CONTOSO_EMPLOYEE2_EMAIL, CONTOSO_NO_MAIL_UPN,
    CONTOSO_TENANT_ID, DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_RECOVERY_CLIENT_ID,
    DEV_RECOVERY_CLIENT_SECRET, EmulatorConfig, FaultSpec, RunningEmulator, Seed, TapPolicy,
    TapTargets,
};
use traceless::email::EmailAddress;
use traceless::microsoft::{
    ClientCredentials, DirectoryUserId, GRAPH_USER_AUTHENTICATION_METHOD_READ_WRITE_ALL,
    GRAPH_USER_READ_ALL, MicrosoftClient, MicrosoftEndpoints, PassLifetime, PassRequest,
    RecoveryClient, RecoveryError, RetryPolicy, TenantId, UserLookup,
};

async fn spawn_emu_with(seed: Seed) -> RunningEmulator {
    microsoft_emulator::spawn(EmulatorConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        seed,
    })
    .await
    .expect("emulator starts")
}

/// The emulator with Contoso's admin consent to the recovery registration.
async fn consented() -> RunningEmulator {
    let emu = spawn_emu_with(Seed::demo()).await;
    assert!(emu.grant_admin_consent(CONTOSO_TENANT_ID, DEV_RECOVERY_CLIENT_ID));
    emu
}

fn recovery(emu: &RunningEmulator) -> RecoveryClient {
    MicrosoftClient::with_timeout(
        MicrosoftEndpoints::new(&emu.login_url(), &emu.graph_url(), &emu.verified_id_url())
            .unwrap(),
        ClientCredentials::new(DEV_CLIENT_ID, DEV_CLIENT_SECRET),
        Duration::from_secs(5),
    )
    .unwrap()
    .with_retry_policy(RetryPolicy::NONE)
    .recovery(ClientCredentials::new(
        DEV_RECOVERY_CLIENT_ID,
        DEV_RECOVERY_CLIENT_SECRET,
    ))
}

fn contoso() -> TenantId {
    TenantId::parse(CONTOSO_TENANT_ID).unwrap()
}

fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn request(minutes: u32, one_time: bool) -> PassRequest {
    PassRequest {
        lifetime: PassLifetime::minutes(minutes).unwrap(),
        one_time,
    }
}

async fn id_of(client: &RecoveryClient, mail: &str) -> DirectoryUserId {
    match client
        .find_user_by_email(&contoso(), &email(mail))
        .await
        .unwrap()
    {
        UserLookup::One(u) => u.id,
        other => panic!("expected one user for {mail}, got {other:?}"),
    }
}

/// Contoso's policy: on for everyone, lifetimes 10 to 480 minutes.
fn open_policy() -> TapPolicy {
    TapPolicy {
        minimum_lifetime_in_minutes: 10,
        maximum_lifetime_in_minutes: 480,
        ..TapPolicy::enabled()
    }
}

#[tokio::test]
async fn an_email_names_one_user_by_mail_or_upn_and_nobody_when_unknown() {
    let emu = consented().await;
    let client = recovery(&emu);
    match client
        .find_user_by_email(&contoso(), &email("Megan.Bowen@Contoso.com"))
        .await
        .unwrap()
    {
        UserLookup::One(u) => {
            assert_eq!(u.mail.as_deref(), Some(CONTOSO_EMPLOYEE_EMAIL));
            assert_eq!(u.user_principal_name, "megan.bowen@contoso.onmicrosoft.com");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        client
            .find_user_by_email(&contoso(), &email(CONTOSO_NO_MAIL_UPN))
            .await
            .unwrap(),
        UserLookup::One(_)
    ));
    assert_eq!(
        client
            .find_user_by_email(&contoso(), &email("o'brien@contoso.com"))
            .await
            .unwrap(),
        UserLookup::None
    );
}

#[tokio::test]
async fn an_email_that_is_one_users_mail_and_anothers_upn_names_several() {
    let mut seed = Seed::demo();
    let contoso = seed
        .tenants
        .iter_mut()
        .find(|t| t.id == CONTOSO_TENANT_ID)
        .unwrap();
    let mut twin = contoso.users[1].clone();
    twin.oid = "9a1b2c3d-00ff-4000-8000-0000000000ff".into();
    twin.upn = CONTOSO_EMPLOYEE_EMAIL.into();
    twin.mail = None;
    contoso.users.push(twin);
    let emu = spawn_emu_with(seed).await;
    assert!(emu.grant_admin_consent(CONTOSO_TENANT_ID, DEV_RECOVERY_CLIENT_ID));
    assert_eq!(
        recovery(&emu)
            .find_user_by_email(&self::contoso(), &email(CONTOSO_EMPLOYEE_EMAIL))
            .await
            .unwrap(),
        UserLookup::Several(2)
    );
}

#[tokio::test]
async fn directory_role_holders_are_refused_as_privileged_and_get_no_pass() {
    let emu = consented().await;
    emu.set_temporary_access_pass_policy(CONTOSO_TENANT_ID, open_policy())
        .unwrap();
    let client = recovery(&emu);
    let admin = id_of(&client, CONTOSO_ADMIN_EMAIL).await;
    let employee = id_of(&client, CONTOSO_EMPLOYEE_EMAIL).await;
    assert!(
        client
            .holds_directory_role(&contoso(), &admin)
            .await
            .unwrap()
    );
    assert!(
        !client
            .holds_directory_role(&contoso(), &employee)
            .await
            .unwrap()
    );

    let refused = client
        .issue_temporary_access_pass(&contoso(), &admin, request(60, true))
        .await;
    assert!(
        matches!(refused, Err(RecoveryError::Privileged)),
        "{refused:?}"
    );
    assert!(!emu.has_temporary_access_pass(CONTOSO_TENANT_ID, CONTOSO_ADMIN_EMAIL));
}

#[tokio::test]
async fn a_pass_is_issued_with_its_lifetime_and_never_printed() {
    let emu = consented().await;
    emu.set_temporary_access_pass_policy(CONTOSO_TENANT_ID, open_policy())
        .unwrap();
    let client = recovery(&emu);
    let user = id_of(&client, CONTOSO_EMPLOYEE_EMAIL).await;
    let issued = client
        .issue_temporary_access_pass(&contoso(), &user, request(90, true))
        .await
        .unwrap();
    assert_eq!(issued.lifetime_in_minutes, 90);
    assert!(issued.one_time);
    assert!(issued.usable);
    assert_eq!(
        issued.valid_until - issued.starts_at,
        time::Duration::minutes(90)
    );
    assert_eq!(issued.pass.expose().chars().count(), 8);
    assert!(!format!("{issued:?}").contains(issued.pass.expose()));
    assert!(emu.has_temporary_access_pass(CONTOSO_TENANT_ID, CONTOSO_EMPLOYEE_EMAIL));
}

#[tokio::test]
async fn each_policy_refusal_has_its_own_reason() {
    let emu = consented().await;
    let client = recovery(&emu);
    let user = id_of(&client, CONTOSO_EMPLOYEE_EMAIL).await;
    let other = id_of(&client, CONTOSO_EMPLOYEE2_EMAIL).await;
    let issue = |who: DirectoryUserId, r: PassRequest| {
        let client = client.clone();
        async move {
            client
                .issue_temporary_access_pass(&contoso(), &who, r)
                .await
        }
    };

    // Microsoft's default policy: off.
    let r = issue(user.clone(), request(60, true)).await;
    assert!(matches!(r, Err(RecoveryError::PolicyDisabled)), "{r:?}");

    emu.set_temporary_access_pass_policy(
        CONTOSO_TENANT_ID,
        TapPolicy {
            include: TapTargets::Users(vec![CONTOSO_EMPLOYEE_EMAIL.into()]),
            is_usable_once: true,
            ..open_policy()
        },
    )
    .unwrap();
    let r = issue(other, request(60, true)).await;
    assert!(matches!(r, Err(RecoveryError::UserNotTargeted)), "{r:?}");
    let r = issue(user.clone(), request(481, true)).await;
    assert!(
        matches!(&r, Err(RecoveryError::LifetimeOutOfBounds { message }) if message.contains("10 and 480")),
        "{r:?}"
    );
    let r = issue(user.clone(), request(60, false)).await;
    assert!(
        matches!(r, Err(RecoveryError::ReusablePassNotAllowed)),
        "{r:?}"
    );
    assert!(!emu.has_temporary_access_pass(CONTOSO_TENANT_ID, CONTOSO_EMPLOYEE_EMAIL));
    assert!(issue(user, request(60, true)).await.is_ok());
}

#[tokio::test]
async fn a_registration_without_the_permissions_is_forbidden() {
    let emu = spawn_emu_with(Seed::demo()).await;
    // The app is in the tenant (delegated consent) but no application permission was granted:
    // Microsoft issues the token without `roles`.
    assert!(emu.grant_delegated_consent(
        CONTOSO_TENANT_ID,
        DEV_RECOVERY_CLIENT_ID,
        &["https://graph.microsoft.com/User.Read"]
    ));
    let client = recovery(&emu);
    let r = client
        .find_user_by_email(&contoso(), &email(CONTOSO_EMPLOYEE_EMAIL))
        .await;
    assert!(
        matches!(r, Err(RecoveryError::Forbidden { permission }) if permission == GRAPH_USER_READ_ALL),
        "{r:?}"
    );
    let user = DirectoryUserId::parse("9a1b2c3d-0002-4000-8000-000000000002").unwrap();
    let r = client
        .create_temporary_access_pass(&contoso(), &user, request(60, true))
        .await;
    assert!(
        matches!(r, Err(RecoveryError::Forbidden { permission }) if permission == GRAPH_USER_AUTHENTICATION_METHOD_READ_WRITE_ALL),
        "{r:?}"
    );
}

#[tokio::test]
async fn throttling_keeps_microsofts_retry_after_and_outages_are_unavailable() {
    let emu = consented().await;
    let client = recovery(&emu);
    let mut throttled = FaultSpec::status("/graph/*", 429).times(1);
    throttled.retry_after_secs = Some(7);
    emu.faults().add(throttled);
    let r = client
        .find_user_by_email(&contoso(), &email(CONTOSO_EMPLOYEE_EMAIL))
        .await;
    assert!(
        matches!(r, Err(RecoveryError::Throttled { retry_after: Some(d) }) if d == Duration::from_secs(7)),
        "{r:?}"
    );
    emu.faults()
        .add(FaultSpec::status("/graph/*", 503).times(1));
    let user = DirectoryUserId::parse("9a1b2c3d-0002-4000-8000-000000000002").unwrap();
    let r = client.holds_directory_role(&contoso(), &user).await;
    assert!(
        matches!(
            r,
            Err(RecoveryError::Unavailable {
                status: Some(503),
                ..
            })
        ),
        "{r:?}"
    );
    let unknown = DirectoryUserId::parse("00000000-0000-4000-8000-000000000000").unwrap();
    let r = client.holds_directory_role(&contoso(), &unknown).await;
    assert!(matches!(r, Err(RecoveryError::UserNotFound)), "{r:?}");
}
