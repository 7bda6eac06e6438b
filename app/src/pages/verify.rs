//! `/verify/:token`: the person's page. Public: the link is the credential. It shows the
//! QR code and the Authenticator deep link, renews Microsoft's short-lived request by
//! itself, and follows the verification live over server-sent events.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::recovery::PassOffer;
use crate::api::recovery::person_recovery;
use crate::api::verifications::{RenewRequest, open_verification_link};
use crate::components::{Alert, use_event_stream};
use crate::error::AppError;
use crate::model::{EventKind, FailureReason, QrRequest, RecipientPage, StatusName};

/// Renew Microsoft's request this long before it expires.
const RENEW_MARGIN_SECS: i64 = 30;
const EXPIRED_HELP: &str = "That usually means the link is old, already used, or no longer valid. Ask the person who sent it to start a new verification.";

#[component]
pub fn VerifyPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let page = Resource::new(token, open_verification_link);
    view! {
        <Title text="Verify your identity · Traceless" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(data) => view! { <LiveVerification data=data token=token() /> }.into_any(),
                    Err(AppError::Gone(_)) => view! { <EndedLink token=token() /> }.into_any(),
                    Err(AppError::Upstream { message, retry_after_secs: Some(secs) }) => view! {
                        <WaitThenRetry title="Microsoft is not answering" test_id="microsoft-not-answering" message=message secs=secs retry=Callback::new(move |()| page.refetch()) />
                    }.into_any(),
                    Err(AppError::TooManyRequests { message, retry_after_secs }) => view! {
                        <WaitThenRetry title="Please wait a moment" test_id="rate-limited" message=message secs=u32::try_from(retry_after_secs).unwrap_or(u32::MAX) retry=Callback::new(move |()| page.refetch()) />
                    }.into_any(),
                    Err(error) => view! {
                        <section class="panel narrow verify">
                            <h1>"We could not open this verification"</h1>
                            <Alert kind="error">{error.to_string()}</Alert>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The link cannot be opened just now (Microsoft is down, or too many attempts): say
/// so, count down, try again.
#[component]
fn WaitThenRetry(
    title: &'static str,
    test_id: &'static str,
    message: String,
    secs: u32,
    retry: Callback<()>,
) -> impl IntoView {
    let left = RwSignal::new(secs);
    // Client only: the countdown ticks in the browser, then the page asks again.
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                let now = left.get_untracked().saturating_sub(1);
                left.set(now);
                if now == 0 {
                    retry.run(());
                }
            },
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <section class="panel narrow verify" data-testid=test_id>
            <h1>{title}</h1>
            <div class="alert alert-warning" role="status" aria-live="polite">
                <p>{message}</p>
                <p>{move || match left.get() {
                    0 => "Trying again…".to_string(),
                    n => format!("Trying again in {n} seconds."),
                }}</p>
            </div>
            <p>
                <button type="button" class="button-secondary" on:click=move |_| retry.run(())>"Try again now"</button>
            </p>
        </section>
    }
}

/// A link that no longer opens a verification: expired, cancelled, or already verified. A
/// verified person whose Temporary Access Pass is still waiting (they reloaded, or came back
/// before pressing the button) is offered it here rather than losing it.
#[component]
fn EndedLink(token: String) -> impl IntoView {
    let recovery = {
        let token = token.clone();
        LocalResource::new(move || person_recovery(token.clone()))
    };
    move || {
        let waiting = recovery
            .get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|view| view.state == "offered");
        if waiting {
            view! {
                <section class="panel narrow verify">
                    <h1>"You're verified"</h1>
                    <p>"Your help desk has your verification. One more step is waiting for you below."</p>
                </section>
                <PassOffer token=token.clone() />
            }
            .into_any()
        } else {
            view! { <ExpiredLink /> }.into_any()
        }
    }
}

/// Says nothing about the verification: an unknown link and a used one look the same.
#[component]
fn ExpiredLink() -> impl IntoView {
    view! {
        <section class="panel narrow verify verify-expired" data-testid="link-expired">
            <svg class="verify-icon" viewBox="0 0 48 48" width="48" height="48" aria-hidden="true">
                <circle cx="24" cy="26" r="17" fill="none" stroke="currentColor" stroke-width="3" />
                <path d="M24 15v11l7 5M19 5h10" fill="none" stroke="currentColor" stroke-width="3" stroke-linecap="round" />
            </svg>
            <h1>"This verification link is expired"</h1>
            <p>{EXPIRED_HELP}</p>
        </section>
    }
}

/// Where the person is, as the page shows it.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    /// The QR code is waiting to be scanned.
    Waiting,
    /// A try failed (declined, Authenticator error); they may try again with a new code.
    TryAgain(String),
    Scanned,
    Verified,
    /// Final: the reason in plain words.
    Failed(String),
    /// Expired or cancelled: the link is no longer good.
    Over,
}

#[component]
fn LiveVerification(data: RecipientPage, token: String) -> impl IntoView {
    let initial_status = data.status;
    let finished = initial_status.is_terminal();
    let events = use_event_stream(
        (!finished).then(|| format!("/verify/{token}/events?after={}", data.last_event_id)),
    );
    let request = RwSignal::new(data.request.clone());
    // A failed try, until a fresh code replaces it.
    let try_again: RwSignal<Option<String>> =
        RwSignal::new(data.retry_reason.clone().filter(|_| data.request.is_none()));
    let renew = ServerAction::<RenewRequest>::new();
    let renew_value = renew.value();
    let latest = Memo::new(move |_| {
        events.with(|e| {
            e.iter()
                .rev()
                .find(|e| e.kind != EventKind::Ignored)
                .cloned()
        })
    });
    // Stuck after a scan (Microsoft's request ran out while in Authenticator): after a
    // new code, show it until something newer than this event happens.
    let rescan = RwSignal::new(false);
    let rescan_after: RwSignal<Option<i64>> = RwSignal::new(None);

    let stage = Memo::new(move |_| {
        let latest = latest.get();
        let mut status = latest.as_ref().map_or(initial_status, |e| e.status);
        if status == StatusName::Scanned
            && let Some(mark) = rescan_after.get()
            && latest.as_ref().map_or(0, |e| e.id) <= mark
        {
            status = StatusName::Requested;
        }
        if matches!(renew_value.get(), Some(Err(AppError::Gone(_)))) {
            return Stage::Over;
        }
        match status {
            StatusName::Verified => Stage::Verified,
            StatusName::Failed => Stage::Failed(
                latest
                    .as_ref()
                    .and_then(|e| e.reason())
                    .map_or(
                        "The verification did not succeed.",
                        FailureReason::for_recipient,
                    )
                    .to_owned(),
            ),
            StatusName::Expired | StatusName::Cancelled => Stage::Over,
            StatusName::Scanned => Stage::Scanned,
            StatusName::Created | StatusName::Opened | StatusName::Requested => {
                match try_again.get() {
                    Some(reason) => Stage::TryAgain(reason),
                    None => Stage::Waiting,
                }
            }
        }
    });

    // A failed try (`attempt_failed.*`) asks for a new code; a new code clears it.
    Effect::new(move |_| {
        if let Some(event) = latest.get() {
            match event.kind {
                EventKind::AttemptFailed(reason) => {
                    try_again.set(Some(reason.for_recipient().to_owned()));
                    // That request is spent: show no QR code until a fresh one arrives.
                    request.set(None);
                }
                EventKind::Requested => try_again.set(None),
                _ => {}
            }
        }
    });
    // A renewed request replaces the QR code and deep link.
    Effect::new(move |_| {
        if let Some(Ok(page)) = renew_value.get()
            && let Some(fresh) = page.request
        {
            request.set(Some(fresh));
            try_again.set(None);
            if rescan.get_untracked() {
                rescan.set(false);
                rescan_after.set(Some(
                    latest.get_untracked().map_or(page.last_event_id, |e| e.id),
                ));
            }
        }
    });

    let clock = Countdown::start(request);
    // Before Microsoft's request expires, get a fresh one (also right away when a
    // sleeping tab wakes up late).
    {
        let token = token.clone();
        Effect::new(move |_| {
            let Some(left) = clock.seconds_left() else {
                return;
            };
            if stage.get() == Stage::Waiting
                && left <= RENEW_MARGIN_SECS
                && !renew.pending().get_untracked()
                && clock.may_retry()
            {
                clock.mark_attempt();
                renew.dispatch(RenewRequest {
                    token: token.clone(),
                });
            }
        });
    }

    let ticket = data.ticket_reference.clone();
    let asker = format!(
        "{} at {} asks you to confirm you are {}",
        data.asked_by, data.organization, data.recipient
    );
    let try_again_token = token.clone();
    view! {
        <Show when=move || stage.get() != Stage::Over fallback=|| view! { <ExpiredLink /> }>
            <section class="panel verify" aria-labelledby="verify-title">
                <p class="eyebrow">"Identity verification"</p>
                <h1 id="verify-title">"Confirm it's you with Microsoft Authenticator"</h1>
                <p class="verify-asker" data-testid="asked-by">{asker.clone()}</p>
                {ticket.clone().map(|t| view! { <p class="muted small">"Ticket reference: " <span class="mono">{t}</span></p> })}

                <div
                    class="verify-status"
                    role="status"
                    aria-live="polite"
                    data-testid="verify-status"
                    data-stage=move || match stage.get() {
                        Stage::Waiting => "waiting",
                        Stage::TryAgain(_) => "try-again",
                        Stage::Scanned => "scanned",
                        Stage::Verified => "verified",
                        Stage::Failed(_) => "failed",
                        Stage::Over => "over",
                    }
                >
                    {move || match stage.get() {
                        Stage::Waiting => view! {
                            <p class="verify-status-line"><span class="dot dot-waiting" aria-hidden="true"></span>"Scan the QR code with Microsoft Authenticator"</p>
                        }.into_any(),
                        Stage::TryAgain(reason) => view! {
                            <p class="verify-status-line"><span class="dot dot-warning" aria-hidden="true"></span>"That try did not work"</p>
                            <p>{reason}</p>
                            <p>"You can try again with a new code."</p>
                        }.into_any(),
                        Stage::Scanned => view! {
                            <p class="verify-status-line"><span class="dot dot-scanned" aria-hidden="true"></span>"Scanned: finish in Authenticator"</p>
                            <p class="muted">"Share your credential in Microsoft Authenticator. This page updates by itself."</p>
                        }.into_any(),
                        Stage::Verified => view! {
                            <p class="verify-status-line verify-done"><span class="verify-check" aria-hidden="true">"✓"</span>"You're verified — you can close this page"</p>
                        }.into_any(),
                        Stage::Failed(reason) => view! {
                            <p class="verify-status-line verify-failed"><span class="verify-cross" aria-hidden="true">"✗"</span>"We could not verify you"</p>
                            <p>{reason}</p>
                            <p>"You cannot try again with this link. If you think this is a mistake, contact the person who sent it."</p>
                        }.into_any(),
                        Stage::Over => ().into_any(),
                    }}
                </div>

                {
                    let token = try_again_token.clone();
                    move || (stage.get() == Stage::Verified).then(|| view! { <PassOffer token=token.clone() /> })
                }

                {move || renew_value.get().and_then(Result::err).filter(|e| !matches!(e, AppError::Gone(_))).map(|e| view! {
                    <Alert kind="error">{e.to_string()}</Alert>
                })}

                {
                    let token = try_again_token.clone();
                    move || matches!(stage.get(), Stage::TryAgain(_)).then(|| {
                        let token = token.clone();
                        view! {
                            <p>
                                <button
                                    type="button"
                                    class="button-primary"
                                    disabled=move || renew.pending().get()
                                    on:click=move |_| { renew.dispatch(RenewRequest { token: token.clone() }); }
                                >
                                    {move || if renew.pending().get() { "Getting a new code…" } else { "Try again" }}
                                </button>
                            </p>
                        }
                    })
                }

                {
                    // Microsoft's request ran out while the person was in Authenticator.
                    let token = try_again_token.clone();
                    move || (stage.get() == Stage::Scanned && clock.seconds_left().is_none_or(|left| left == 0)).then(|| {
                        let token = token.clone();
                        view! {
                            <p class="muted">"Authenticator showing an error, or taking too long? Get a new code and scan again."</p>
                            <p>
                                <button
                                    type="button"
                                    class="button-secondary"
                                    disabled=move || renew.pending().get()
                                    on:click=move |_| {
                                        rescan.set(true);
                                        renew.dispatch(RenewRequest { token: token.clone() });
                                    }
                                >
                                    "Get a new code"
                                </button>
                            </p>
                        }
                    })
                }

                {move || (stage.get() == Stage::Waiting).then(|| request.get()).flatten().map(|r| view! {
                    <QrPanel request=r clock=clock />
                })}
            </section>
        </Show>
    }
}

/// The deep link (first: the primary action on a phone), the QR code and the steps.
#[component]
fn QrPanel(request: QrRequest, clock: Countdown) -> impl IntoView {
    view! {
        <div class="verify-grid">
            <div class="verify-open">
                <a class="button-primary button-wide" href=request.url.clone() data-testid="open-in-authenticator">
                    "Open in Authenticator"
                </a>
                <p class="muted small">"On this phone? Tap the button. On a computer? Scan the code with your phone."</p>
            </div>
            <figure
                class="qr"
                data-testid="qr-code"
                data-expires=request.expires_at
                data-request=request.url.rsplit('/').next().unwrap_or_default().to_owned()
                data-clock=move || clock.running().then_some("running")
                aria-label="QR code to scan with Microsoft Authenticator"
            >
                <div class="qr-image" role="img" aria-label="QR code to scan with Microsoft Authenticator" inner_html=request.qr_svg.clone()></div>
                <figcaption class="qr-countdown" data-testid="countdown">
                    {move || clock.label()}
                </figcaption>
            </figure>
            <ol class="verify-steps">
                <li>"Open Microsoft Authenticator"</li>
                <li>"Scan the QR code (or tap “Open in Authenticator” on your phone)"</li>
                <li>"Share your credential"</li>
            </ol>
        </div>
    }
}

/// Counts down to the current request's expiry. It measures from the seconds left that
/// the server reported, so a phone whose clock is off still renews in time.
#[derive(Clone, Copy)]
struct Countdown {
    request: RwSignal<Option<QrRequest>>,
    /// Browser time (ms) when the current request arrived; 0 while server rendering.
    received_ms: RwSignal<f64>,
    now_ms: RwSignal<f64>,
    last_attempt_ms: RwSignal<f64>,
}

impl Countdown {
    fn start(request: RwSignal<Option<QrRequest>>) -> Self {
        let clock = Countdown {
            request,
            received_ms: RwSignal::new(0.0),
            now_ms: RwSignal::new(0.0),
            last_attempt_ms: RwSignal::new(0.0),
        };
        #[cfg(feature = "hydrate")]
        {
            use crate::components::now_ms;
            // A new request restarts the count.
            Effect::new(move |_| {
                request.track();
                let now = now_ms();
                clock.received_ms.set(now);
                clock.now_ms.set(now);
            });
            let tick = gloo_timers::callback::Interval::new(1_000, move || {
                clock.now_ms.try_set(now_ms());
            });
            let tick = send_wrapper::SendWrapper::new(tick);
            on_cleanup(move || drop(tick));
        }
        clock
    }

    /// The browser is counting (the page is live, not just server-rendered).
    fn running(&self) -> bool {
        self.received_ms.get() > 0.0
    }

    /// Seconds until the request expires; `None` without a request.
    fn seconds_left(&self) -> Option<i64> {
        let lifetime = self
            .request
            .with(|r| r.as_ref().map(|r| r.expires_in_secs))?;
        let (received, now) = (self.received_ms.get(), self.now_ms.get());
        if received == 0.0 || now == 0.0 {
            return Some(lifetime);
        }
        let elapsed = ((now - received) / 1000.0).floor() as i64;
        Some((lifetime - elapsed.max(0)).max(0))
    }

    fn label(&self) -> String {
        match self.seconds_left() {
            Some(left) if left > RENEW_MARGIN_SECS => {
                format!(
                    "Valid for {}:{:02}; a new code appears by itself.",
                    left / 60,
                    left % 60
                )
            }
            Some(_) => "Getting a new code…".to_owned(),
            None => String::new(),
        }
    }

    /// After a failed renewal, wait a little before the next one.
    fn may_retry(&self) -> bool {
        let last = self.last_attempt_ms.get_untracked();
        last == 0.0 || browser_now() - last > 10_000.0
    }

    fn mark_attempt(&self) {
        self.last_attempt_ms.set(browser_now());
    }
}

fn browser_now() -> f64 {
    #[cfg(feature = "hydrate")]
    return crate::components::now_ms();
    #[cfg(not(feature = "hydrate"))]
    0.0
}
