//! Runs the Microsoft emulator alone: `microsoft-emulator --addr 127.0.0.1:4000 [--seed seed.json]`
//! (or `EMULATOR_ADDR` / `EMULATOR_SEED`).

use anyhow::Context;
use microsoft_emulator::{EmulatorConfig, Seed, spawn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "microsoft_emulator=info".into()),
        )
        .init();
    let mut addr = std::env::var("EMULATOR_ADDR").unwrap_or_else(|_| "127.0.0.1:4000".into());
    let mut seed_path = std::env::var("EMULATOR_SEED").ok();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().context("--addr needs a value")?,
            "--seed" => seed_path = Some(args.next().context("--seed needs a value")?),
            "--print-seed" => {
                println!("{}", serde_json::to_string_pretty(&Seed::demo())?);
                return Ok(());
            }
            "-h" | "--help" => {
                println!(
                    "microsoft-emulator [--addr 127.0.0.1:4000] [--seed seed.json] [--print-seed]"
                );
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other}; try --help"),
        }
    }
    let seed = match seed_path {
        Some(p) => Seed::from_file(p)?,
        None => Seed::demo(),
    };
    let emulator = spawn(EmulatorConfig {
        bind: addr
            .parse()
            .with_context(|| format!("parsing address {addr}"))?,
        seed,
    })
    .await?;
    println!("Microsoft emulator on {}", emulator.base_url());
    println!("  login:         {}", emulator.login_url());
    println!("  graph:         {}", emulator.graph_url());
    println!("  verifiedid:    {}", emulator.verified_id_url());
    println!("  authenticator: {}/", emulator.authenticator_url());
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await;
    Ok(())
}
