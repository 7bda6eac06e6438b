//! Where mail goes: an SMTP server (`lettre`), or the development mailbox, where delivering
//! is only marking the message delivered so admins can read it in the app.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::Message;
use crate::config::{SmtpSecurity, SmtpSettings};

/// One SMTP conversation may take this long before the attempt counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

pub enum Transport {
    Smtp(Box<Smtp>),
    /// No SMTP configured: delivered mail is kept for the development mailbox page.
    Mailbox,
}

pub struct Smtp {
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the recipient {0:?} is not a mail address")]
    Recipient(String),
    #[error("composing the mail: {0}")]
    Compose(String),
    #[error("SMTP: {0}")]
    Smtp(String),
}

impl Transport {
    pub fn new(smtp: Option<&SmtpSettings>) -> anyhow::Result<Self> {
        let Some(settings) = smtp else {
            return Ok(Transport::Mailbox);
        };
        let builder = match settings.security {
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)?,
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
        };
        let mut builder = builder.port(settings.port).timeout(Some(SMTP_TIMEOUT));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Transport::Smtp(Box::new(Smtp {
            mailer: builder.build(),
            from: settings.from.clone(),
        })))
    }

    /// As stored on a delivered message: `smtp` or `mailbox`.
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Smtp(_) => "smtp",
            Transport::Mailbox => "mailbox",
        }
    }

    /// For the timeline: where the mail went.
    pub fn describe(&self) -> &'static str {
        match self {
            Transport::Smtp(_) => "the mail server",
            Transport::Mailbox => "the development mailbox",
        }
    }

    pub fn is_mailbox(&self) -> bool {
        matches!(self, Transport::Mailbox)
    }

    /// One attempt. The `Message-ID` is the message's own id on every attempt.
    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        match self {
            Transport::Mailbox => Ok(()),
            Transport::Smtp(smtp) => smtp.send(message).await,
        }
    }
}

impl Smtp {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let to: Mailbox = message
            .mail
            .to
            .parse()
            .map_err(|_| SendError::Recipient(message.mail.to.clone()))?;
        let domain = self.from.email.domain().to_owned();
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.mail.subject.clone())
            .message_id(Some(message.id.header(&domain)))
            .multipart(MultiPart::alternative_plain_html(
                message.mail.text.clone(),
                message.mail.html.clone(),
            ))
            .map_err(|e| SendError::Compose(e.to_string()))?;
        self.mailer
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| SendError::Smtp(e.to_string()))
    }
}
