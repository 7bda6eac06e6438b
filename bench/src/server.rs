//! The server under test: the release binary as an operator runs it, on random loopback
//! ports, with the built-in Microsoft emulator and a throw-away SQLite database; and what
//! `/proc` says about it (resident memory, CPU time).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Rate limits the benchmark lifts, and why: every client is one loopback address.
pub const RAISED_LIMITS: [(&str, &str); 5] = [
    // Thousands of pages and pollers share 127.0.0.1.
    ("TRACELESS_RATE_LIMIT_LINK_PER_IP", "100000000/min"),
    // A poller asks every second, on top of its page and its stream.
    ("TRACELESS_RATE_LIMIT_LINK_PER_LINK", "100000/min"),
    // Every callback comes from 127.0.0.1 (Microsoft's come from many addresses).
    ("TRACELESS_RATE_LIMIT_MICROSOFT_PER_IP", "100000000/min"),
    ("TRACELESS_RATE_LIMIT_PRESENTATIONS_PER_LINK", "1000/min"),
    ("TRACELESS_RATE_LIMIT_SIGN_UP_PER_IP", "1000/min"),
];

pub struct Server {
    child: Child,
    pub pid: u32,
    /// `http://127.0.0.1:port`
    pub base: String,
    /// The built-in emulator's base URL.
    pub emulator: String,
    pub database: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(binary: &Path, log: &Path) -> anyhow::Result<Server> {
        let dir = tempfile::tempdir().context("a throw-away folder")?;
        let database = dir.path().join("bench.db");
        let port = free_port()?;
        let emulator_port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let log_file = std::fs::File::create(log).with_context(|| format!("{}", log.display()))?;
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TRACELESS_BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("TRACELESS_PUBLIC_URL", format!("{base}/"))
            .env(
                "TRACELESS_EMULATOR_ADDR",
                format!("127.0.0.1:{emulator_port}"),
            )
            .env("TRACELESS_MS_EMULATOR", "true")
            .env(
                "TRACELESS_DATABASE_URL",
                format!("sqlite://{}", database.display()),
            )
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        for (name, value) in RAISED_LIMITS {
            command.env(name, value);
        }
        if let Ok(root) = std::env::var("LEPTOS_SITE_ROOT") {
            command.env("LEPTOS_SITE_ROOT", root);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let server = Server {
            pid: child.id(),
            child,
            base,
            emulator: format!("http://127.0.0.1:{emulator_port}"),
            database,
            _dir: dir,
        };
        server.wait_until_healthy().await?;
        Ok(server)
    }

    async fn wait_until_healthy(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let began = Instant::now();
        while began.elapsed() < Duration::from_secs(60) {
            if let Ok(response) = client.get(format!("{}/healthz", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the server did not answer /healthz within a minute")
    }

    /// Resident memory, in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("VmRSS in /proc/<pid>/status")
    }

    /// User plus system CPU time so far.
    pub fn cpu(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        // Fields after the command name (which may hold spaces) start at field 3.
        let rest = stat.rsplit_once(')').context("/proc/<pid>/stat")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
    }

    /// Stops the server as a service manager does (SIGTERM), then waits for it.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let began = Instant::now();
        while began.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Kernel clock ticks per second (`getconf CLK_TCK`; 100 on Linux almost everywhere).
fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// The soft and hard limit on open files of this process (raised by `scripts/bench`).
pub fn open_file_limit() -> (String, String) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[3].to_owned(), f[4].to_owned())
        })
        .unwrap_or_else(|| ("?".into(), "?".into()))
}
