//! Integration tests: each spawns the emulator on 127.0.0.1:0 and talks to it over HTTP.

mod consent;
mod faults;
mod graph;
mod helpers;
mod login;
mod recovery;
mod roles;
mod sign_in_with_microsoft;
mod tenants;
mod verifiedid;
mod wallet;
