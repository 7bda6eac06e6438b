//! Account recovery at Graph: the recovery registration's app-only token, finding a user by
//! mail or UPN, their directory roles, and the Temporary Access Pass with its policy.

use microsoft_emulator::*;
use serde_json::{Value, json};

use crate::helpers::*;

/// An app-only Graph token of the recovery registration in Contoso, after admin consent.
async fn recovery_token(t: &TestEmu) -> String {
    assert!(
        t.emu
            .grant_admin_consent(CONTOSO_TENANT_ID, DEV_RECOVERY_CLIENT_ID)
    );
    app_token_of(t, DEV_RECOVERY_CLIENT_ID, DEV_RECOVERY_CLIENT_SECRET).await
}

async fn app_token_of(t: &TestEmu, id: &str, secret: &str) -> String {
    let (status, body) = t
        .token(
            CONTOSO_TENANT_ID,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn get(t: &TestEmu, path: &str, token: &str) -> (u16, Value) {
    let res = t
        .http
        .get(format!("{}{path}", t.emu.graph_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn create_tap(t: &TestEmu, token: &str, user: &str, body: Value) -> (u16, Value) {
    let res = t
        .http
        .post(format!(
            "{}/v1.0/users/{user}/authentication/temporaryAccessPassMethods",
            t.emu.graph_url()
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn oid_of(users: &Value) -> Vec<String> {
    users["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_recovery_app_token_carries_exactly_the_two_granted_roles() {
    let t = spawn_emu().await;
    let token = recovery_token(&t).await;
    let mut roles: Vec<String> =
        serde_json::from_value(claims_of(&token)["roles"].clone()).unwrap();
    roles.sort();
    assert_eq!(
        roles,
        vec!["User.Read.All", "UserAuthenticationMethod.ReadWrite.All"]
    );
}

#[tokio::test]
async fn users_are_found_by_mail_or_upn_and_each_only_once() {
    let t = spawn_emu().await;
    let token = recovery_token(&t).await;
    let filter = format!(
        "/v1.0/users?$filter=mail eq '{m}' or userPrincipalName eq '{m}'&$select=id,mail,userPrincipalName",
        m = CONTOSO_EMPLOYEE_EMAIL.to_uppercase()
    );
    let (status, users) = get(&t, &filter, &token).await;
    assert_eq!(status, 200, "{users}");
    assert_eq!(users["value"].as_array().unwrap().len(), 1);
    assert_eq!(users["value"][0]["mail"], CONTOSO_EMPLOYEE_EMAIL);
    assert!(
        users["value"][0].get("displayName").is_none(),
        "$select applies"
    );

    // A user without mail is found by UPN only.
    let (_, users) = get(
        &t,
        &format!("/v1.0/users?$filter=userPrincipalName eq '{CONTOSO_NO_MAIL_UPN}'"),
        &token,
    )
    .await;
    assert_eq!(oid_of(&users).len(), 1);
    let (_, none) = get(
        &t,
        "/v1.0/users?$filter=mail eq 'nobody@contoso.com'",
        &token,
    )
    .await;
    assert!(oid_of(&none).is_empty());

    // Another tenant's user is not visible.
    let (_, other) = get(
        &t,
        &format!("/v1.0/users?$filter=mail eq '{FABRIKAM_EMPLOYEE_EMAIL}'"),
        &token,
    )
    .await;
    assert!(oid_of(&other).is_empty());
}

#[tokio::test]
async fn an_unsupported_filter_is_refused_and_a_token_without_user_read_all_is_forbidden() {
    let t = spawn_emu().await;
    let token = recovery_token(&t).await;
    let (status, err) = get(&t, "/v1.0/users?$filter=startswith(mail,'m')", &token).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["code"], "Request_UnsupportedQuery");

    // The verification registration holds no User.Read.All.
    t.emu.grant_admin_consent(CONTOSO_TENANT_ID, DEV_CLIENT_ID);
    let other = app_token_of(&t, DEV_CLIENT_ID, DEV_CLIENT_SECRET).await;
    let (status, err) = get(&t, "/v1.0/users?$filter=mail eq 'x@contoso.com'", &other).await;
    assert_eq!(status, 403);
    assert_eq!(err["error"]["code"], "Authorization_RequestDenied");
    let (status, _) = create_tap(&t, &other, CONTOSO_EMPLOYEE_EMAIL, json!({})).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn directory_roles_are_listed_by_id_only_without_a_role_reading_permission() {
    let t = spawn_emu().await;
    let token = recovery_token(&t).await;
    let path =
        |user: &str| format!("/v1.0/users/{user}/transitiveMemberOf/microsoft.graph.directoryRole");
    let admin_upn = "adele.vance@contoso.onmicrosoft.com";
    let (status, roles) = get(&t, &path(admin_upn), &token).await;
    assert_eq!(status, 200, "{roles}");
    let roles = roles["value"].as_array().unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["@odata.type"], "#microsoft.graph.directoryRole");
    assert!(roles[0]["id"].is_string());
    assert!(
        roles[0]["displayName"].is_null(),
        "User.Read.All cannot read role objects"
    );

    let (_, none) = get(&t, &path("megan.bowen@contoso.onmicrosoft.com"), &token).await;
    assert!(none["value"].as_array().unwrap().is_empty());

    // A role given later shows at once.
    assert!(t.emu.set_user_roles(
        CONTOSO_TENANT_ID,
        CONTOSO_EMPLOYEE_EMAIL,
        &["Helpdesk Administrator"]
    ));
    let (_, now) = get(&t, &path("megan.bowen@contoso.onmicrosoft.com"), &token).await;
    assert_eq!(now["value"].as_array().unwrap().len(), 1);

    let (status, err) = get(&t, &path("nobody@contoso.onmicrosoft.com"), &token).await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "Request_ResourceNotFound");
}

#[tokio::test]
async fn a_pass_is_refused_while_the_policy_is_disabled() {
    let t = spawn_emu().await;
    let token = recovery_token(&t).await;
    let (status, err) =
        create_tap(&t, &token, "megan.bowen@contoso.onmicrosoft.com", json!({})).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["code"], "badRequest");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
    assert!(
        !t.emu
            .has_temporary_access_pass(CONTOSO_TENANT_ID, CONTOSO_EMPLOYEE_EMAIL)
    );
}

#[tokio::test]
async fn a_pass_is_shown_once_with_the_policy_defaults_and_replaces_the_previous_one() {
    let t = spawn_emu().await;
    let token = recovery_token(&t).await;
    t.emu
        .set_temporary_access_pass_policy(CONTOSO_TENANT_ID, TapPolicy::enabled())
        .unwrap();
    let user = "megan.bowen@contoso.onmicrosoft.com";
    let (status, tap) = create_tap(&t, &token, user, json!({})).await;
    assert_eq!(status, 201, "{tap}");
    assert_eq!(
        tap["@odata.type"],
        "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
    );
    assert_eq!(
        tap["temporaryAccessPass"].as_str().unwrap().chars().count(),
        8
    );
    assert_eq!(tap["lifetimeInMinutes"], 60);
    assert_eq!(tap["isUsableOnce"], false);
    assert_eq!(tap["isUsable"], true);
    assert_eq!(tap["methodUsabilityReason"], "EnabledByPolicy");

    let (status, second) = create_tap(
        &t,
        &token,
        user,
        json!({"lifetimeInMinutes": 120, "isUsableOnce": true}),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    let (status, listed) = get(
        &t,
        &format!("/v1.0/users/{user}/authentication/temporaryAccessPassMethods"),
        &token,
    )
    .await;
    assert_eq!(status, 200);
    let listed = listed["value"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "one pass per user");
    assert_eq!(listed[0]["id"], second["id"]);
    assert!(
        listed[0]["temporaryAccessPass"].is_null(),
        "never shown again"
    );
    assert_eq!(listed[0]["lifetimeInMinutes"], 120);
}

#[tokio::test]
async fn a_pass_is_refused_to_a_user_the_policy_does_not_target() {
    let t = spawn_emu().await;
    let token = recovery_token(&t).await;
    let policy = TapPolicy {
        include: TapTargets::Users(vec![
            CONTOSO_EMPLOYEE2_EMAIL.into(),
            CONTOSO_EMPLOYEE_EMAIL.into(),
        ]),
        exclude: vec![CONTOSO_EMPLOYEE2_EMAIL.into()],
        ..TapPolicy::enabled()
    };
    t.emu
        .set_temporary_access_pass_policy(CONTOSO_TENANT_ID, policy)
        .unwrap();
    for user in [
        "pradeep.gupta@contoso.onmicrosoft.com",
        "lee.gu@contoso.onmicrosoft.com",
    ] {
        let (status, err) = create_tap(&t, &token, user, json!({})).await;
        assert_eq!(status, 400, "{user}: {err}");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not a target")
        );
    }
    let (status, _) =
        create_tap(&t, &token, "megan.bowen@contoso.onmicrosoft.com", json!({})).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_lifetime_outside_the_policy_and_a_reusable_pass_against_it_are_refused() {
    let t = spawn_emu().await;
    let token = recovery_token(&t).await;
    let policy = TapPolicy {
        minimum_lifetime_in_minutes: 10,
        maximum_lifetime_in_minutes: 480,
        default_lifetime_in_minutes: 60,
        is_usable_once: true,
        ..TapPolicy::enabled()
    };
    t.emu
        .set_temporary_access_pass_policy(CONTOSO_TENANT_ID, policy)
        .unwrap();
    let user = "megan.bowen@contoso.onmicrosoft.com";
    for lifetime in [9, 481] {
        let (status, err) =
            create_tap(&t, &token, user, json!({"lifetimeInMinutes": lifetime})).await;
        assert_eq!(status, 400);
        assert_eq!(
            err["error"]["message"],
            "Invalid LifetimeInMinutes specified. The valid range between 10 and 480."
        );
    }
    let (status, err) = create_tap(&t, &token, user, json!({"isUsableOnce": false})).await;
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("IsUsableOnce")
    );
    let (status, tap) = create_tap(&t, &token, user, json!({"lifetimeInMinutes": 10})).await;
    assert_eq!(status, 201);
    assert_eq!(tap["isUsableOnce"], true, "the policy's one-time default");

    let (status, _) = create_tap(&t, &token, user, json!({"temporaryAccessPass": "chosen"})).await;
    assert_eq!(status, 400, "the pass is Microsoft's to choose");
    let (status, _) = create_tap(&t, &token, "nobody@contoso.onmicrosoft.com", json!({})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_pass_starting_later_is_not_usable_yet_and_bad_policies_are_refused_by_the_control() {
    let t = spawn_emu().await;
    let token = recovery_token(&t).await;
    t.emu
        .set_temporary_access_pass_policy(CONTOSO_TENANT_ID, TapPolicy::enabled())
        .unwrap();
    let (status, tap) = create_tap(
        &t,
        &token,
        "megan.bowen@contoso.onmicrosoft.com",
        json!({"startDateTime": "2099-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(tap["isUsable"], false);
    assert_eq!(tap["methodUsabilityReason"], "NotYetValid");

    let res = t
        .http
        .put(format!(
            "{}_control/tenants/{CONTOSO_TENANT_ID}/temporary_access_pass_policy",
            t.emu.base_url()
        ))
        .json(&json!({"enabled": true, "minimum_lifetime_in_minutes": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = t
        .http
        .put(format!(
            "{}_control/tenants/{CONTOSO_TENANT_ID}/temporary_access_pass_policy",
            t.emu.base_url()
        ))
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (status, _) =
        create_tap(&t, &token, "megan.bowen@contoso.onmicrosoft.com", json!({})).await;
    assert_eq!(status, 400);
}
