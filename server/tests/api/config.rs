//! The server binary itself, as an operator starts it: a wrong setting stops it with one
//! line naming the variable, and SIGTERM stops a running one cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::eventually;

/// The binary with no settings but `vars` (and a throw-away working folder).
fn server(dir: &std::path::Path, vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env_clear()
        .current_dir(dir)
        .envs(vars.iter().copied())
        .stdin(Stdio::null());
    command
}

/// Kills the child if the test ends early, so no server outlives a failed test.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_unsupported_database_url_stops_the_binary_with_one_line_before_anything_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let output = server(
        dir.path(),
        &[
            (
                "TRACELESS_DATABASE_URL",
                "mysql://traceless:hunter2@db.internal/traceless",
            ),
            ("TRACELESS_BIND_ADDR", "127.0.0.1:0"),
            ("TRACELESS_MS_EMULATOR", "true"),
        ],
    )
    .output()
    .expect("the binary runs");

    assert_eq!(output.status.code(), Some(2), "a configuration error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(lines[0].contains("TRACELESS_DATABASE_URL"), "{stderr}");
    assert!(
        lines[0].contains("the mysql: scheme is not supported"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "no password in the output");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "no stray SQLite file or folder"
    );
}

#[test]
fn a_malformed_token_key_stops_the_binary_with_one_line_that_never_repeats_it() {
    let dir = tempfile::tempdir().unwrap();
    // 16 bytes, not 32.
    let key = "c2l4dGVlbiBieXRlcyBrZXk=";
    let output = server(
        dir.path(),
        &[
            ("TRACELESS_DATABASE_URL", "sqlite://traceless.db"),
            ("TRACELESS_BIND_ADDR", "127.0.0.1:0"),
            ("TRACELESS_MS_EMULATOR", "true"),
            ("TRACELESS_TOKEN_KEY", key),
        ],
    )
    .output()
    .expect("the binary runs");

    assert_eq!(output.status.code(), Some(2), "a configuration error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(
        lines[0].contains("TRACELESS_TOKEN_KEY: expected 32 random bytes in base64"),
        "{stderr}"
    );
    assert!(!stderr.contains(key), "the key is a secret");
}

#[tokio::test]
async fn sigterm_stops_a_running_binary_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut running = Running(
        server(
            dir.path(),
            &[
                ("TRACELESS_DATABASE_URL", "sqlite://traceless.db"),
                ("TRACELESS_BIND_ADDR", "127.0.0.1:0"),
                ("TRACELESS_EMULATOR_ADDR", "127.0.0.1:0"),
                ("TRACELESS_MS_EMULATOR", "true"),
                ("TRACELESS_LOG", "warn,server=info"),
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts"),
    );
    let child = &mut running.0;
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = stdout.lines();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("Traceless is listening"));
    assert!(listening, "the server said it listens");

    let began = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = eventually("the server exits after SIGTERM", || {
        std::future::ready(child.try_wait().unwrap())
    })
    .await;
    assert!(began.elapsed() < Duration::from_secs(10), "stopped in time");
    assert!(status.success(), "{status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|line| line.contains("SIGTERM")),
        "the log says why it stopped: {rest:?}"
    );
}
