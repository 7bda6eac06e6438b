#![recursion_limit = "256"]
//! Integration tests: the real server on a random loopback port, a throw-away
//! database per test, and a cookie-keeping HTTP client.

mod access;
mod accounts;
mod administrators;
mod audit_log;
mod bench;
mod concurrency;
mod config;
mod connect;
mod consent;
mod email_ownership;
mod email_source;
mod headers;
mod help_desk_api;
mod help_desk_webhooks;
mod helpers;
mod instances;
mod live_streams;
mod lockout;
mod metrics;
mod mfa;
mod microsoft_down;
mod microsoft_refresh;
mod microsoft_sign_in;
mod openapi;
mod pages;
mod rate_limits;
mod recovery;
mod restart;
mod retention;
mod scale_out;
mod security;
mod sessions_passwords;
mod smtp_sink;
mod status_checks;
mod stream_bounds;
mod team;
mod tickets;
mod two_step_reset;
mod verification;
mod verification_callbacks;
mod verifier_modes;
