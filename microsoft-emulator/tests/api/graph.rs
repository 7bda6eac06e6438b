//! Graph: organization and domains, and its bearer-token checks.

use microsoft_emulator::*;
use serde_json::{Value, json};

use crate::helpers::*;

async fn get(t: &TestEmu, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut rb = t.http.get(format!("{}{path}", t.emu.graph_url()));
    if let Some(tok) = token {
        rb = rb.bearer_auth(tok);
    }
    let res = rb.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn organization_lists_the_tenants_verified_domains_for_a_delegated_token() {
    let t = spawn_emu().await;
    let body = t.connect(CONTOSO_ADMIN_EMAIL).await;
    let (status, org) = get(&t, "/v1.0/organization", body["access_token"].as_str()).await;
    assert_eq!(status, 200, "{org}");
    let o = &org["value"][0];
    assert_eq!(o["id"], CONTOSO_TENANT_ID);
    assert_eq!(o["displayName"], "Contoso");
    let names: Vec<&str> = o["verifiedDomains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["contoso.com", "contoso.onmicrosoft.com"]);
    let initial = &o["verifiedDomains"][1];
    assert_eq!(initial["isInitial"], true);
    assert_eq!(initial["type"], "Managed");
    assert!(initial["capabilities"].is_string());
    assert!(o["city"].is_null());

    // User.Read is not enough for /domains.
    let (status, err) = get(&t, "/v1.0/domains", body["access_token"].as_str()).await;
    assert_eq!(status, 403);
    assert_eq!(err["error"]["code"], "Authorization_RequestDenied");
}

#[tokio::test]
async fn graph_refuses_missing_forged_expired_and_wrong_audience_tokens() {
    let t = spawn_emu().await;
    let (status, err) = get(&t, "/v1.0/organization", None).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"]["code"], "InvalidAuthenticationToken");
    assert!(err["error"]["innerError"]["request-id"].is_string());

    let (status, _) = get(&t, "/v1.0/organization", Some("eyJhbGciOiJub25lIn0.e30.")).await;
    assert_eq!(status, 401);

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = |aud: &str, exp: i64, tid: &str| {
        json!({
            "aud": aud, "iss": t.emu.issuer(tid), "tid": tid, "exp": exp, "iat": now - 10, "scp": "User.Read", "oid": "x"
        })
    };
    let expired = t.emu.sign_token(&claims(
        "https://graph.microsoft.com",
        now - 5,
        CONTOSO_TENANT_ID,
    ));
    let (status, err) = get(&t, "/v1.0/organization", Some(&expired)).await;
    assert_eq!(status, 401);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    let wrong_aud = t.emu.sign_token(&claims(
        "3db474b9-6a0c-4840-96ac-1fceb342124f",
        now + 600,
        CONTOSO_TENANT_ID,
    ));
    let (status, err) = get(&t, "/v1.0/organization", Some(&wrong_aud)).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"]["message"], "Invalid audience.");

    let unknown_tenant = t.emu.sign_token(&claims(
        "https://graph.microsoft.com",
        now + 600,
        "99999999-9999-9999-9999-999999999999",
    ));
    assert_eq!(
        get(&t, "/v1.0/organization", Some(&unknown_tenant)).await.0,
        401
    );

    let good = t.emu.sign_token(&claims(
        "https://graph.microsoft.com",
        now + 600,
        FABRIKAM_TENANT_ID,
    ));
    let (status, org) = get(&t, "/v1.0/organization?$select=id,displayName", Some(&good)).await;
    assert_eq!(status, 200);
    assert_eq!(org["value"][0]["displayName"], "Fabrikam");
    assert!(org["value"][0].get("verifiedDomains").is_none());
}

#[tokio::test]
async fn domains_lists_each_domain_for_a_token_with_domain_read_all() {
    let t = spawn_emu().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let token = t.emu.sign_token(
        &json!({"aud": "https://graph.microsoft.com", "iss": t.emu.issuer(CONTOSO_TENANT_ID),
        "tid": CONTOSO_TENANT_ID, "exp": now + 600, "roles": ["Domain.Read.All"], "idtyp": "app"}),
    );
    let (status, body) = get(&t, "/v1.0/domains", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    let d = &body["value"][0];
    assert_eq!(d["id"], "contoso.com");
    assert_eq!(d["isVerified"], true);
    assert_eq!(d["isDefault"], true);
    assert_eq!(d["authenticationType"], "Managed");
    assert!(d["supportedServices"].is_array());
}
