#![recursion_limit = "256"]
use anyhow::Context;
use server::{Application, telemetry};
use traceless::config::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env().context("reading the configuration")?;
    telemetry::init(&settings.log_filter, settings.log_json);
    let application = Application::build(settings).await?;
    application.run_until_stopped().await
}
