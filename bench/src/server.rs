//! The servers under test: release binaries as an operator runs them, on loopback ports,
//! with the built-in Microsoft emulator, on a throw-away SQLite file or a fresh PostgreSQL
//! database; one instance, or two behind nginx. And what `/proc` says about them (resident
//! memory, CPU time).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Rate limits the benchmark lifts, and why: every client is one loopback address.
pub const RAISED_LIMITS: [(&str, &str); 6] = [
    // Thousands of pages and pollers share 127.0.0.1.
    ("TRACELESS_RATE_LIMIT_LINK_PER_IP", "100000000/min"),
    // So do their event streams (and every stream through nginx comes from 127.0.0.1).
    ("TRACELESS_MAX_STREAMS_PER_IP", "50000"),
    // A poller asks every second, on top of its page and its stream.
    ("TRACELESS_RATE_LIMIT_LINK_PER_LINK", "100000/min"),
    // Every callback comes from 127.0.0.1 (Microsoft's come from many addresses).
    ("TRACELESS_RATE_LIMIT_MICROSOFT_PER_IP", "100000000/min"),
    ("TRACELESS_RATE_LIMIT_PRESENTATIONS_PER_LINK", "1000/min"),
    ("TRACELESS_RATE_LIMIT_SIGN_UP_PER_IP", "1000/min"),
];

/// What a run is measured on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setup {
    /// One instance on a SQLite file.
    Sqlite,
    /// One instance on a fresh database of the PostgreSQL server at `url`.
    Postgres { url: String },
    /// Two instances on one fresh PostgreSQL database, behind the nginx `scripts/bench`
    /// started on `proxy_port` (round-robin over `instance_ports`).
    PostgresTwo {
        url: String,
        proxy_port: u16,
        instance_ports: [u16; 2],
    },
}

impl Setup {
    /// For file names and the JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Setup::Sqlite => "sqlite",
            Setup::Postgres { .. } => "postgres",
            Setup::PostgresTwo { .. } => "postgres-2",
        }
    }

    /// For the table.
    pub fn describe(&self) -> &'static str {
        match self {
            Setup::Sqlite => "SQLite, 1 instance",
            Setup::Postgres { .. } => "PostgreSQL, 1 instance",
            Setup::PostgresTwo { .. } => "PostgreSQL, 2 instances behind nginx",
        }
    }
}

/// The instances of one run and where clients reach them.
pub struct Deployment {
    instances: Vec<Server>,
    /// Where streams, polls and callbacks go: nginx, or the one instance.
    pub base: String,
    /// The first instance, directly: the product's flows are prepared through it, since
    /// the Microsoft it talks to is its own built-in emulator.
    pub first: String,
    /// That emulator's base URL.
    pub emulator: String,
    /// The run's database.
    pub database_url: String,
    /// A fresh PostgreSQL database, dropped at the end: (the server's URL, the name).
    postgres: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Deployment {
    pub async fn start(
        binary: &Path,
        setup: &Setup,
        logs: &Path,
        label: &str,
    ) -> anyhow::Result<Deployment> {
        let dir = tempfile::tempdir().context("a throw-away folder")?;
        let (database_url, postgres) = match setup {
            Setup::Sqlite => (
                format!("sqlite://{}", dir.path().join("bench.db").display()),
                None,
            ),
            Setup::Postgres { url } | Setup::PostgresTwo { url, .. } => {
                let name = format!("bench_{}", label.replace('-', "_"));
                let database = fresh_database(url, &name).await?;
                (database, Some((url.clone(), name)))
            }
        };
        let (ports, proxy) = match setup {
            Setup::PostgresTwo {
                proxy_port,
                instance_ports,
                ..
            } => (instance_ports.to_vec(), Some(*proxy_port)),
            _ => (vec![free_port()?], None),
        };
        let public = format!("http://127.0.0.1:{}/", proxy.unwrap_or(ports[0]));
        let mut instances = Vec::new();
        // One at a time: the first applies the migrations.
        for (i, port) in ports.iter().enumerate() {
            let log = logs.join(format!("server-{label}-{}.log", i + 1));
            instances.push(Server::start(binary, &log, *port, &public, &database_url).await?);
        }
        let first = instances[0].base.clone();
        let emulator = instances[0].emulator.clone();
        let base = match proxy {
            Some(port) => {
                let base = format!("http://127.0.0.1:{port}");
                wait_until_healthy(&base).await?;
                base
            }
            None => first.clone(),
        };
        Ok(Deployment {
            instances,
            base,
            first,
            emulator,
            database_url,
            postgres,
            _dir: dir,
        })
    }

    /// Resident memory of the instances together, in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        self.instances.iter().map(Server::rss_kib).sum()
    }

    /// User plus system CPU time of the instances together so far.
    pub fn cpu(&self) -> anyhow::Result<Duration> {
        self.instances.iter().map(Server::cpu).sum()
    }

    /// A counter summed over the instances' `/metrics` (lines `name{labels} value` whose
    /// name and labels start with `series`); zero when none has it.
    pub async fn counter(&self, series: &str) -> anyhow::Result<f64> {
        let mut total = 0.0;
        for server in &self.instances {
            let text = reqwest::get(&server.metrics).await?.text().await?;
            total += text
                .lines()
                .filter(|line| line.starts_with(series))
                .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
                .sum::<f64>();
        }
        Ok(total)
    }

    /// Stops every instance, then drops a PostgreSQL run's database.
    pub async fn stop(self) {
        for server in self.instances {
            server.stop();
        }
        if let Some((url, name)) = self.postgres
            && let Err(error) = drop_database(&url, &name).await
        {
            println!("warning: could not drop the database {name}: {error:#}");
        }
    }
}

/// Creates the database `name` (dropping a leftover of that name first) on the PostgreSQL
/// server at `url`; returns the new database's URL.
async fn fresh_database(url: &str, name: &str) -> anyhow::Result<String> {
    drop_database(url, name).await?;
    let admin = sqlx::PgPool::connect(url).await.context("PostgreSQL")?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await?;
    admin.close().await;
    let mut database = url::Url::parse(url).context("the PostgreSQL URL")?;
    database.set_path(&format!("/{name}"));
    Ok(database.to_string())
}

async fn drop_database(url: &str, name: &str) -> anyhow::Result<()> {
    let admin = sqlx::PgPool::connect(url).await.context("PostgreSQL")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await?;
    admin.close().await;
    Ok(())
}

/// One running instance.
struct Server {
    child: Child,
    pid: u32,
    /// `http://127.0.0.1:port`
    base: String,
    /// Its built-in emulator's base URL.
    emulator: String,
    /// Its `/metrics` (Prometheus text).
    metrics: String,
}

impl Server {
    async fn start(
        binary: &Path,
        log: &Path,
        port: u16,
        public_url: &str,
        database_url: &str,
    ) -> anyhow::Result<Server> {
        let emulator_port = free_port()?;
        let metrics_port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let log_file = std::fs::File::create(log).with_context(|| format!("{}", log.display()))?;
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TRACELESS_BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("TRACELESS_PUBLIC_URL", public_url)
            // Behind nginx, as in production: clients are read from X-Forwarded-For.
            .env("TRACELESS_TRUSTED_PROXIES", "127.0.0.1")
            .env(
                "TRACELESS_EMULATOR_ADDR",
                format!("127.0.0.1:{emulator_port}"),
            )
            .env("TRACELESS_MS_EMULATOR", "true")
            .env(
                "TRACELESS_METRICS_ADDR",
                format!("127.0.0.1:{metrics_port}"),
            )
            .env("TRACELESS_DATABASE_URL", database_url)
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
            metrics: format!("http://127.0.0.1:{metrics_port}/metrics"),
        };
        wait_until_healthy(&server.base).await?;
        Ok(server)
    }

    /// Resident memory, in KiB.
    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("VmRSS in /proc/<pid>/status")
    }

    /// User plus system CPU time so far.
    fn cpu(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        // Fields after the command name (which may hold spaces) start at field 3.
        let rest = stat.rsplit_once(')').context("/proc/<pid>/stat")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
    }

    /// Stops the server as a service manager does (SIGTERM), then waits for it.
    fn stop(mut self) {
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

async fn wait_until_healthy(base: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(60) {
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{base} did not answer /healthz within a minute")
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
