//! The binary runs on its own port and prints its base URLs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the child even when an assertion fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_discovery_on_the_port_it_prints() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_microsoft-emulator"))
            .args(["--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    let mut first = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first
        .trim()
        .strip_prefix("Microsoft emulator on ")
        .expect("prints its base URL")
        .to_string();
    let url = format!(
        "{base}login/{}/v2.0/.well-known/openid-configuration",
        microsoft_emulator::CONTOSO_TENANT_ID
    );
    let doc: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    assert_eq!(
        doc["issuer"],
        format!("{base}login/{}/v2.0", microsoft_emulator::CONTOSO_TENANT_ID)
    );
}
