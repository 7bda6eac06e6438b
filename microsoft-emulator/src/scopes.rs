//! Scope strings: which resource a scope names, its permission, and the key consents are stored
//! under. Shared by the sign-in pages, the token endpoint and the consent controls.

use crate::seed::{
    ADMIN_RESOURCE, ClientApp, GRAPH_APP_ID, GRAPH_RESOURCE, REQUEST_SERVICE_RESOURCE,
};

/// OpenID Connect scopes: they name no resource (scopes-oidc).
pub(crate) fn is_oidc(scope: &str) -> bool {
    matches!(scope, "openid" | "profile" | "offline_access" | "email")
}

/// The canonical id of a resource the emulator hosts, from its URI or app id.
pub(crate) fn canonical_resource(r: &str) -> Option<&'static str> {
    let r = r.trim_end_matches('/');
    if r.eq_ignore_ascii_case(GRAPH_RESOURCE) || r.eq_ignore_ascii_case(GRAPH_APP_ID) {
        Some(GRAPH_RESOURCE)
    } else if r.eq_ignore_ascii_case(REQUEST_SERVICE_RESOURCE) {
        Some(REQUEST_SERVICE_RESOURCE)
    } else if r.eq_ignore_ascii_case(ADMIN_RESOURCE) {
        Some(ADMIN_RESOURCE)
    } else {
        None
    }
}

/// The service principal's display name in a tenant (as Microsoft names it in AADSTS650052).
pub(crate) fn resource_name(resource: &str) -> &'static str {
    match resource {
        REQUEST_SERVICE_RESOURCE => "Verifiable Credentials Service Request",
        ADMIN_RESOURCE => "Verifiable Credentials Service Admin",
        _ => "Microsoft Graph",
    }
}

/// Whether a resource is one of Verified ID's, whose service principals exist only in tenants
/// that set up Verified ID (admin-api: onboarding creates them).
pub(crate) fn is_verified_id_resource(resource: &str) -> bool {
    resource == REQUEST_SERVICE_RESOURCE || resource == ADMIN_RESOURCE
}

/// Splits `{resource}/{permission}` (a bare permission is Graph's, scopes-oidc). `None` when the
/// resource is not one the emulator hosts; the raw resource is returned for the error message.
pub(crate) fn split(scope: &str) -> Result<(&'static str, String), String> {
    match scope.rsplit_once('/') {
        None => Ok((GRAPH_RESOURCE, scope.to_string())),
        Some((r, p)) => canonical_resource(r)
            .map(|res| (res, p.to_string()))
            .ok_or_else(|| r.trim_end_matches('/').to_string()),
    }
}

/// The key a delegated grant is stored under; Microsoft compares scopes case-insensitively.
pub(crate) fn key(resource: &str, permission: &str) -> String {
    format!("{resource}/{permission}").to_ascii_lowercase()
}

/// An app role as registered: `{resource}/{role}`, or a bare role of the request service
/// (the demo app's first roles were all the request service's).
pub(crate) fn split_role(role: &str) -> (&'static str, String) {
    role.rsplit_once('/')
        .and_then(|(r, name)| canonical_resource(r).map(|res| (res, name.to_string())))
        .unwrap_or((REQUEST_SERVICE_RESOURCE, role.to_string()))
}

/// `{resource}/{role}`, as v2-admin-consent reports a granted application permission.
pub(crate) fn role_scope(role: &str) -> String {
    let (resource, name) = split_role(role);
    format!("{resource}/{name}")
}

/// The app roles among `roles` that belong to `resource` (what an app token for it carries).
pub(crate) fn roles_on(resource: &str, roles: &[String]) -> Vec<String> {
    roles
        .iter()
        .map(|r| split_role(r))
        .filter(|(r, _)| *r == resource)
        .map(|(_, name)| name)
        .collect()
}

/// The app registration's static delegated permissions, as (resource, permission).
pub(crate) fn static_delegated(client: &ClientApp) -> Vec<(&'static str, String)> {
    client
        .delegated_permissions
        .iter()
        .filter_map(|p| split(p).ok())
        .collect()
}

/// The resources an app's static permissions need a service principal for, Verified ID's first
/// (the request service for the app roles, then the admin API).
pub(crate) fn static_resources(client: &ClientApp) -> Vec<&'static str> {
    let mut out = Vec::new();
    for role in &client.app_roles {
        let (r, _) = split_role(role);
        if !out.contains(&r) {
            out.push(r);
        }
    }
    for (r, _) in static_delegated(client) {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out.sort_by_key(|r| !is_verified_id_resource(r));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{DEV_CLIENT_ID, Seed};

    #[test]
    fn scopes_name_their_resource_and_verified_id_comes_first() {
        assert_eq!(
            split("User.Read").unwrap(),
            (GRAPH_RESOURCE, "User.Read".into())
        );
        assert_eq!(
            split("00000003-0000-0000-c000-000000000000/.default").unwrap(),
            (GRAPH_RESOURCE, ".default".into())
        );
        assert_eq!(split("api://other/x").unwrap_err(), "api://other");
        assert_eq!(
            key(ADMIN_RESOURCE, "Full_Access"),
            key(ADMIN_RESOURCE, "full_access")
        );
        let seed = Seed::demo();
        let client = seed.client(DEV_CLIENT_ID).unwrap();
        assert_eq!(
            static_resources(client),
            vec![REQUEST_SERVICE_RESOURCE, ADMIN_RESOURCE, GRAPH_RESOURCE]
        );
    }
}
