//! N verifications made through the product's own flows: an admin signs up and connects
//! the emulator's Contoso tenant (Microsoft's consent and sign-in pages), the agent sends
//! each verification (`send_verification`), and the person opens each link (the page asks
//! Microsoft for a presentation request). Timing the person's page happens here too.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures_util::{StreamExt, TryStreamExt, stream};
use microsoft_emulator::{CONTOSO_ADMIN_EMAIL, CONTOSO_EMPLOYEE_EMAIL, Seed};
use reqwest::Client;
use traceless::secret::SecretHash;

use traceless::db;

use crate::server::Deployment;

/// The `api-key` every stored request is given: Microsoft echoes the key we sent it; ours is
/// random and stored hashed, so the benchmark replaces the hash with this key's.
pub const API_KEY: &str = "bench-callback-api-key";

/// One verification with an opened link and a live Microsoft request.
#[derive(Clone)]
pub struct Verification {
    pub token: String,
    /// Our request id: the `state` Microsoft echoes in each callback.
    pub state: String,
    /// Microsoft's `requestId`.
    pub request_id: String,
    /// The newest event the opened page showed.
    pub last_event_id: i64,
}

/// Time to first byte (response head) and to the whole page, per page load.
#[derive(Default)]
pub struct PageTimes {
    /// First visit: the server asks Microsoft for a presentation request while rendering.
    pub first_visit_ttfb: Vec<Duration>,
    pub first_visit_total: Vec<Duration>,
    /// Reload: the live request is reused, Microsoft is not called.
    pub reload_ttfb: Vec<Duration>,
    pub reload_total: Vec<Duration>,
}

pub struct Prepared {
    pub verifications: Vec<Verification>,
    pub pages: PageTimes,
    pub took: Duration,
}

const CONCURRENCY: usize = 8;

pub async fn prepare(
    server: &Deployment,
    n: usize,
    timed_pages: usize,
) -> anyhow::Result<Prepared> {
    let began = Instant::now();
    let agent = browser();
    sign_up(server, &agent).await?;
    connect_contoso(server, &agent).await?;

    let tokens: Vec<String> = stream::iter(0..n)
        .map(|_| send_verification(server, &agent))
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;

    // The person's page, timed one at a time on a quiet server: first visits, then reloads.
    let mut pages = PageTimes::default();
    let timed = timed_pages.min(n);
    let person = browser();
    for token in &tokens[..timed] {
        let (ttfb, total) = load_page(server, &person, token).await?;
        pages.first_visit_ttfb.push(ttfb);
        pages.first_visit_total.push(total);
    }
    for token in &tokens[..timed] {
        let (ttfb, total) = load_page(server, &person, token).await?;
        pages.reload_ttfb.push(ttfb);
        pages.reload_total.push(total);
    }
    stream::iter(&tokens[timed..])
        .map(|token| {
            let person = &person;
            async move { load_page(server, person, token).await.map(|_| ()) }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;

    let verifications = requests_of(server, tokens).await?;
    Ok(Prepared {
        verifications,
        pages,
        took: began.elapsed(),
    })
}

/// A browser pinned to the first instance: behind `scripts/bench`'s nginx, this header picks
/// it (see `start_nginx` in scripts/lib.sh), so Microsoft's redirects back to the public URL
/// land where the consent began, on the instance whose built-in emulator issued the code.
fn browser() -> Client {
    let mut pinned = reqwest::header::HeaderMap::new();
    pinned.insert(
        "X-Traceless-Instance",
        reqwest::header::HeaderValue::from_static("1"),
    );
    Client::builder()
        .default_headers(pinned)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

async fn call(
    server: &Deployment,
    client: &Client,
    name: &str,
    form: &[(&str, &str)],
) -> anyhow::Result<reqwest::Response> {
    Ok(client
        .post(format!("{}/api/{name}", server.first))
        .header("Accept", "application/json")
        .form(form)
        .send()
        .await?)
}

async fn sign_up(server: &Deployment, agent: &Client) -> anyhow::Result<()> {
    let response = call(
        server,
        agent,
        "sign_up",
        &[
            ("organization", "Contoso Help Desk"),
            ("name", "Ada Admin"),
            ("email", "ada@contoso.com"),
            ("password", "correct horse battery staple"),
        ],
    )
    .await?;
    ensure!(
        response.status().is_success() || response.status().is_redirection(),
        "sign-up: {}",
        response.status()
    );
    Ok(())
}

/// "Log in to your tenant", consent and sign in at Microsoft (the emulator) as Contoso's admin.
async fn connect_contoso(server: &Deployment, agent: &Client) -> anyhow::Result<()> {
    let microsoft = browser();
    let started = call(server, agent, "start_microsoft_connect", &[]).await?;
    // A server function answers 200 and names where the browser goes next.
    ensure!(
        started.status().is_success(),
        "start_microsoft_connect: {}",
        started.status()
    );
    let mut at_microsoft = started.headers()["location"].to_str()?.to_owned();
    for _ in 0..3 {
        let back = at_microsoft_accept(server, &microsoft, &at_microsoft).await?;
        let landed = location(&agent.get(&back).send().await?)?;
        if landed == "/organization/integrations" {
            return Ok(());
        }
        at_microsoft = landed;
    }
    bail!("connecting Contoso did not land on the integrations page")
}

async fn at_microsoft_accept(
    server: &Deployment,
    browser: &Client,
    url: &str,
) -> anyhow::Result<String> {
    let page = browser.get(url).send().await?;
    if page.status().is_redirection() {
        return location(&page);
    }
    let html = page.text().await?;
    let txn = html
        .split("name=\"txn\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the sign-in page's transaction")?
        .to_owned();
    let oid = Seed::demo()
        .tenants
        .iter()
        .flat_map(|t| t.users.iter())
        .find(|u| u.mail.as_deref() == Some(CONTOSO_ADMIN_EMAIL))
        .map(|u| u.oid.clone())
        .context("Contoso's admin in the emulator's seed")?;
    let decided = browser
        .post(format!("{}/login/_emulator/decide", server.emulator))
        .form(&[
            ("txn", txn.as_str()),
            ("account", oid.as_str()),
            ("action", "accept"),
        ])
        .send()
        .await?;
    location(&decided)
}

fn location(response: &reqwest::Response) -> anyhow::Result<String> {
    ensure!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    Ok(response.headers()["location"].to_str()?.to_owned())
}

/// The agent's send path; returns the link's token.
async fn send_verification(server: &Deployment, agent: &Client) -> anyhow::Result<String> {
    let response = call(
        server,
        agent,
        "send_verification",
        &[
            ("email", CONTOSO_EMPLOYEE_EMAIL),
            ("ticket_reference", ""),
            ("note", ""),
        ],
    )
    .await?;
    ensure!(
        response.status().is_success(),
        "send_verification: {}",
        response.status()
    );
    let started: serde_json::Value = response.json().await?;
    let link = started["link"].as_str().context("a link")?;
    Ok(link.rsplit('/').next().unwrap_or_default().to_owned())
}

/// Loads the person's page as a browser navigates to it: (response head, whole page).
async fn load_page(
    server: &Deployment,
    person: &Client,
    token: &str,
) -> anyhow::Result<(Duration, Duration)> {
    let began = Instant::now();
    let response = person
        .get(format!("{}/verify/{token}", server.first))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await?;
    let ttfb = began.elapsed();
    let status = response.status();
    let body = response.text().await?;
    let total = began.elapsed();
    ensure!(status.is_success(), "the person's page: {status}");
    ensure!(
        body.contains("openid-vc://"),
        "the person's page shows no request to scan"
    );
    Ok((ttfb, total))
}

/// Each link's live request, and the key its callbacks carry (see [`API_KEY`]).
async fn requests_of(
    server: &Deployment,
    tokens: Vec<String>,
) -> anyhow::Result<Vec<Verification>> {
    let pool = db::connect(&server.database_url).await?;
    db::query("UPDATE presentation_requests SET api_key_hash = $1")
        .bind(SecretHash::of(API_KEY).as_str().to_owned())
        .execute_on(&pool)
        .await?;
    let mut verifications = Vec::with_capacity(tokens.len());
    for token in tokens {
        let row = db::query(
            "SELECT r.id, r.microsoft_request_id,
                    (SELECT COALESCE(MAX(e.id), 0) FROM verification_events e WHERE e.verification_id = v.id) AS last
             FROM verifications v JOIN presentation_requests r ON r.verification_id = v.id
             WHERE v.link_hash = $1 ORDER BY r.created_at DESC LIMIT 1",
        )
        .bind(SecretHash::of(&token).as_str().to_owned())
        .fetch_one_on(&pool)
        .await
        .context("a link's presentation request")?;
        verifications.push(Verification {
            state: row.try_get::<uuid::Uuid, _>("id")?.to_string(),
            request_id: row.try_get("microsoft_request_id")?,
            last_event_id: row.try_get("last")?,
            token,
        });
    }
    pool.close().await;
    Ok(verifications)
}
