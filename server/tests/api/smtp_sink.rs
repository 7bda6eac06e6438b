//! A tiny SMTP server on a loopback port for the tests: it speaks just enough of RFC 5321
//! for `lettre` (no TLS, no auth), keeps every mail it accepted, and can refuse the next
//! mails with a transient error (`451`), as a mail server that is having a bad day. Sign-up
//! confirmation mails are accepted and not kept (see `TestApp::sign_up`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::eventually;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub recipients: Vec<String>,
    /// The message as sent (headers and body), with dot-stuffing undone.
    pub data: String,
    /// Whether the sink accepted it (a refused one was still seen, with its Message-ID).
    pub accepted: bool,
    pub at: std::time::Instant,
}

impl ReceivedMail {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The body with quoted-printable soft line breaks joined, for finding a link.
    pub fn unfolded(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }
}

#[derive(Clone, Default)]
pub struct SmtpSink {
    pub port: u16,
    seen: Arc<Mutex<Vec<ReceivedMail>>>,
    refuse: Arc<AtomicUsize>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the sink");
        let sink = SmtpSink {
            port: listener.local_addr().unwrap().port(),
            ..Default::default()
        };
        let serving = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sink = serving.clone();
                tokio::spawn(async move {
                    let _ = sink.converse(stream).await;
                });
            }
        });
        sink
    }

    /// The app's settings to send through this sink.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TRACELESS_SMTP_HOST", "127.0.0.1".into()),
            ("TRACELESS_SMTP_PORT", self.port.to_string()),
            ("TRACELESS_SMTP_SECURITY", "none".into()),
            (
                "TRACELESS_SMTP_FROM",
                "Traceless <verify@traceless.test>".into(),
            ),
            ("TRACELESS_MAIL_RETRY_BASE_MS", "200".into()),
        ]
    }

    /// Refuses the next `n` mails with `451`.
    pub fn refuse_next(&self, n: usize) {
        self.refuse.store(n, Ordering::SeqCst);
    }

    pub fn seen(&self) -> Vec<ReceivedMail> {
        self.seen.lock().unwrap().clone()
    }

    pub fn accepted(&self) -> Vec<ReceivedMail> {
        self.seen().into_iter().filter(|m| m.accepted).collect()
    }

    /// Waits until `n` mails were accepted; returns them.
    pub async fn wait_for_accepted(&self, n: usize) -> Vec<ReceivedMail> {
        eventually(&format!("{n} accepted mails"), || async {
            let accepted = self.accepted();
            if accepted.len() >= n {
                Ok(accepted)
            } else {
                Err(self.seen())
            }
        })
        .await
    }

    async fn converse(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink.test ESMTP\r\n").await?;
        let mut recipients = Vec::new();
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_ascii_uppercase();
            let reply: &[u8] = if command.starts_with("EHLO") {
                b"250-sink.test\r\n250 8BITMIME\r\n"
            } else if command.starts_with("HELO") || command.starts_with("NOOP") {
                b"250 ok\r\n"
            } else if command.starts_with("MAIL FROM") || command.starts_with("RSET") {
                recipients.clear();
                b"250 ok\r\n"
            } else if command.starts_with("RCPT TO") {
                recipients.push(
                    line.trim_end()[8..]
                        .trim()
                        .trim_matches(['<', '>'])
                        .to_owned(),
                );
                b"250 ok\r\n"
            } else if command == "DATA" {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if lines.read_line(&mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(
                        l.strip_prefix('.')
                            .filter(|_| l.starts_with(".."))
                            .unwrap_or(&l),
                    );
                }
                // The confirmation mail of a sign-up: `TestApp::sign_up` reads it from the
                // outbox; taken, not kept, so the tests see only the mail they caused.
                if data.contains(&format!(
                    "Subject: {}",
                    traceless::mail::compose::CONFIRMATION_SUBJECT
                )) {
                    write.write_all(b"250 2.0.0 queued\r\n").await?;
                    recipients.clear();
                    continue;
                }
                let refuse = self
                    .refuse
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                self.seen.lock().unwrap().push(ReceivedMail {
                    recipients: std::mem::take(&mut recipients),
                    data,
                    accepted: !refuse,
                    at: std::time::Instant::now(),
                });
                if refuse {
                    b"451 4.3.0 try again later\r\n"
                } else {
                    b"250 2.0.0 queued\r\n"
                }
            } else if command.starts_with("QUIT") {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                b"502 not implemented\r\n"
            };
            write.write_all(reply).await?;
        }
    }
}
