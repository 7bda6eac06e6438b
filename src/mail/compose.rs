//! The words of each mail, as plain text and simple HTML. A mail carries what its reader
//! needs and nothing else secret: the person gets their own link; an agent gets a link to
//! the verification's page in Traceless (which asks them to sign in), never evidence.

use time::OffsetDateTime;
use url::Url;

use super::Mail;

/// The guide's security note about links, for whoever holds one.
pub const LINK_SECURITY_NOTE: &str = "Treat verification links like sensitive links: share them only with the intended recipient and through your normal secure channels.";

/// The link mail to the person.
pub struct LinkMail<'a> {
    pub to: &'a str,
    pub organization: &'a str,
    pub asked_by: &'a str,
    pub ticket_reference: Option<&'a str>,
    pub ticket_subject: Option<&'a str>,
    pub link: &'a Url,
    pub expires_at: OffsetDateTime,
}

pub fn link(mail: &LinkMail<'_>) -> Mail {
    let why = match (mail.ticket_reference, mail.ticket_subject) {
        (Some(reference), Some(subject)) => format!(" for ticket {reference} ({subject})"),
        (Some(reference), None) => format!(" for ticket {reference}"),
        _ => String::new(),
    };
    let intro = format!(
        "{} at {} asks you to confirm who you are{why}.",
        mail.asked_by, mail.organization
    );
    let how = "Open the link below and present your work credential with Microsoft Authenticator: \
               scan the QR code, or tap \"Open in Authenticator\" on your phone.";
    let expires = format!("The link works until {}.", when(mail.expires_at));
    let ignore = "If you did not expect this, do not open the link and tell your help desk.";
    let note = "This link is for you alone. Treat verification links like sensitive links: \
                do not forward this mail or share the link with anyone.";
    let text = format!(
        "{intro}\n\n{how}\n\n{link}\n\n{expires}\n\n{note}\n{ignore}\n\n-- \nTraceless, on behalf of {org}\n",
        link = mail.link,
        org = mail.organization,
    );
    let html = page(&format!(
        "<p>{}</p><p>{}</p><p><a href=\"{link}\">Verify your identity</a></p><p>Or copy this link: {link}</p>\
         <p>{}</p><p><strong>{}</strong><br>{}</p>",
        escape(&intro),
        escape(how),
        escape(&expires),
        escape(note),
        escape(ignore),
        link = escape(mail.link.as_str()),
    ));
    Mail {
        to: mail.to.to_owned(),
        subject: format!("{} asks you to verify your identity", mail.organization),
        text,
        html,
    }
}

/// The "forgot password" mail: a link to set a new password.
pub struct PasswordResetMail<'a> {
    pub to: &'a str,
    pub link: &'a Url,
    pub expires_at: OffsetDateTime,
}

pub fn password_reset(mail: &PasswordResetMail<'_>) -> Mail {
    let intro = "Someone, hopefully you, asked to set a new password for your Traceless account.";
    let how = "Open the link below and choose a new password. Every device signed in to your account will be signed out.";
    let expires = format!("The link works once, until {}.", when(mail.expires_at));
    let ignore = "If you did not ask for this, ignore this mail: your password stays as it is.";
    let text = format!(
        "{intro}\n\n{how}\n\n{link}\n\n{expires}\n\n{ignore}\n\n-- \nTraceless\n",
        link = mail.link,
    );
    let html = page(&format!(
        "<p>{}</p><p>{}</p><p><a href=\"{link}\">Set a new password</a></p><p>Or copy this link: {link}</p>\
         <p>{}</p><p>{}</p>",
        escape(intro),
        escape(how),
        escape(&expires),
        escape(ignore),
        link = escape(mail.link.as_str()),
    ));
    Mail {
        to: mail.to.to_owned(),
        subject: "Set a new password for Traceless".to_owned(),
        text,
        html,
    }
}

/// The subject of the mail that confirms a sign-up's address.
pub const CONFIRMATION_SUBJECT: &str = "Confirm your email address for Traceless";

/// The sign-up's mail: a link to confirm the address.
pub struct ConfirmationMail<'a> {
    pub to: &'a str,
    pub organization: &'a str,
    pub link: &'a Url,
    pub expires_at: OffsetDateTime,
}

pub fn confirmation(mail: &ConfirmationMail<'_>) -> Mail {
    let intro = format!(
        "Someone, hopefully you, signed up for Traceless with this address, for the organization \"{}\".",
        mail.organization
    );
    let how = "To confirm that this address is yours, open the link below and choose \"Confirm my address\". Until then the account cannot see or change the organization's data.";
    let expires = format!("The link works once, until {}.", when(mail.expires_at));
    let ignore = "If you did not sign up, do not open the link and ignore this mail: the account is removed after 7 days.";
    let text = format!(
        "{intro}\n\n{how}\n\n{link}\n\n{expires}\n\n{ignore}\n\n-- \nTraceless\n",
        link = mail.link,
    );
    let html = page(&format!(
        "<p>{}</p><p>{}</p><p><a href=\"{link}\">Confirm your address</a></p><p>Or copy this link: {link}</p>\
         <p>{}</p><p>{}</p>",
        escape(&intro),
        escape(how),
        escape(&expires),
        escape(ignore),
        link = escape(mail.link.as_str()),
    ));
    Mail {
        to: mail.to.to_owned(),
        subject: CONFIRMATION_SUBJECT.to_owned(),
        text,
        html,
    }
}

/// To an address that already has an account (or an invitation) when someone signs up with
/// it: the visitor was told the same as for a new address, so only the owner learns of it.
pub struct SignUpNoticeMail<'a> {
    pub to: &'a str,
    pub organization: &'a str,
    /// `true`: invited and not joined yet; `false`: an account that can sign in.
    pub invited: bool,
    /// The public URL, for the sign-in and "forgot password" pages.
    pub base: &'a Url,
}

pub fn sign_up_notice(mail: &SignUpNoticeMail<'_>) -> Mail {
    let intro = "Someone tried to sign up for Traceless with this address.";
    let what = if mail.invited {
        format!(
            "This address is already invited to \"{}\". If it was you, open the invitation link your administrator sent you, or ask them for a new one.",
            mail.organization
        )
    } else {
        format!(
            "This address already has an account, in \"{}\". If it was you, sign in, or set a new password if you forgot it.",
            mail.organization
        )
    };
    let sign_in = mail
        .base
        .join("signin")
        .map(|u| u.to_string())
        .unwrap_or_default();
    let forgot = mail
        .base
        .join("forgot-password")
        .map(|u| u.to_string())
        .unwrap_or_default();
    let ignore = "If it was not you, ignore this mail: nothing was created and nothing changed.";
    // Each link on a line of its own, as every mail writes them.
    let (links_text, links_html) = if mail.invited {
        (String::new(), String::new())
    } else {
        (
            format!("Sign in:\n{sign_in}\n\nForgot your password:\n{forgot}\n\n"),
            format!(
                "<p><a href=\"{a}\">Sign in</a> · <a href=\"{b}\">Forgot your password</a></p>",
                a = escape(&sign_in),
                b = escape(&forgot),
            ),
        )
    };
    let text = format!("{intro}\n\n{what}\n\n{links_text}{ignore}\n\n-- \nTraceless\n");
    let html = page(&format!(
        "<p>{}</p><p>{}</p>{links_html}<p>{}</p>",
        escape(intro),
        escape(&what),
        escape(ignore),
    ));
    Mail {
        to: mail.to.to_owned(),
        subject: "Someone tried to sign up for Traceless with your address".to_owned(),
        text,
        html,
    }
}

/// The result (or the expiry) to the agent who started the verification.
pub struct OutcomeMail<'a> {
    pub to: &'a str,
    pub recipient: &'a str,
    pub ticket_reference: Option<&'a str>,
    /// "Verified", "Failed", "Expired".
    pub outcome: &'a str,
    /// What happened, in the timeline's words (the reason, for a failure).
    pub detail: &'a str,
    /// The verification's page in Traceless.
    pub page: &'a Url,
}

pub fn outcome(mail: &OutcomeMail<'_>) -> Mail {
    let ticket = mail
        .ticket_reference
        .map(|t| format!(" (ticket {t})"))
        .unwrap_or_default();
    let headline = format!(
        "The verification of {}{ticket}: {}.",
        mail.recipient, mail.outcome
    );
    let text = format!(
        "{headline}\n\n{}\n\nSee the details in Traceless:\n{}\n\n-- \nTraceless\n",
        mail.detail, mail.page
    );
    let html = page(&format!(
        "<p><strong>{}</strong></p><p>{}</p><p><a href=\"{page}\">See the details in Traceless</a></p>",
        escape(&headline),
        escape(mail.detail),
        page = escape(mail.page.as_str()),
    ));
    Mail {
        to: mail.to.to_owned(),
        subject: format!("{}: {}{ticket}", mail.outcome, mail.recipient),
        text,
        html,
    }
}

/// Put in place of a link mail's text once the link is no use to anyone: the mail was
/// delivered by SMTP (the person has it), or the link ended (verified, failed, expired,
/// cancelled). Only the link's hash is kept anywhere else.
pub const LINK_REMOVED: &str =
    "(The verification link was removed from this mail after it was delivered or the link ended.)";

/// A one-paragraph HTML part for a placeholder text.
pub fn placeholder_html(text: &str) -> String {
    page(&format!("<p>{}</p>", escape(text)))
}

/// To an organization's administrator: domains Microsoft no longer lists for the connected
/// tenant, so Traceless stopped covering them.
pub struct DomainsRemovedMail<'a> {
    pub to: &'a str,
    pub organization: &'a str,
    pub tenant_name: &'a str,
    pub removed: &'a [String],
    /// The integrations page in Traceless.
    pub page: &'a Url,
}

pub fn domains_removed(mail: &DomainsRemovedMail<'_>) -> Mail {
    let list = mail.removed.join(", ");
    let headline = format!(
        "Microsoft no longer lists {list} among the verified domains of your tenant {}.",
        mail.tenant_name
    );
    let effect = "Traceless stopped covering these domains: new verifications to email addresses in them are refused (their domain is not among the domains tied to the Microsoft tenant you connected).";
    let todo = "If this is a mistake, ask your Microsoft administrator to add or verify the domain, then press \"Refresh from Microsoft\" on the Microsoft Verified ID card.";
    let text = format!(
        "{headline}\n\n{effect}\n\n{todo}\n\n{}\n\n-- \nTraceless, for {}\n",
        mail.page, mail.organization
    );
    let html = page(&format!(
        "<p><strong>{}</strong></p><p>{}</p><p>{}</p><p><a href=\"{page}\">Open the Microsoft Verified ID card</a></p>",
        escape(&headline),
        escape(effect),
        escape(todo),
        page = escape(mail.page.as_str()),
    ));
    Mail {
        to: mail.to.to_owned(),
        subject: format!("Traceless no longer covers {list}"),
        text,
        html,
    }
}

fn page(body: &str) -> String {
    format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5; max-width: 36em\">{body}</body></html>"
    )
}

/// `2026-12-01 14:05 UTC`
pub fn when(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_mail_says_who_why_until_when_and_the_security_note() {
        let link = Url::parse("http://127.0.0.1:3000/verify/abc").unwrap();
        let mail = link_mail(&link);
        assert!(mail.text.contains("Ada Admin at Contoso <Help> asks you"));
        assert!(mail.text.contains("for ticket INC-4711 (Reset)"));
        assert!(mail.text.contains("http://127.0.0.1:3000/verify/abc"));
        assert!(
            mail.text
                .contains("Treat verification links like sensitive links")
        );
        assert!(mail.text.contains("until 2026-12-01 14:05 UTC"));
        // Names are text, not markup, in the HTML part.
        assert!(mail.html.contains("Contoso &lt;Help&gt;"));
    }

    #[test]
    fn the_confirmation_mail_names_the_organization_and_puts_the_link_on_its_own_line() {
        let link = Url::parse("http://127.0.0.1:3000/confirm-email/abc").unwrap();
        let mail = confirmation(&ConfirmationMail {
            to: "ada@contoso.com",
            organization: "Contoso <Help>",
            link: &link,
            expires_at: time::macros::datetime!(2026-12-01 14:05 UTC),
        });
        assert_eq!(mail.subject, CONFIRMATION_SUBJECT);
        assert!(
            mail.text
                .contains("for the organization \"Contoso <Help>\"")
        );
        assert!(mail.text.lines().any(|l| l == link.as_str()));
        assert!(
            mail.text
                .contains("If you did not sign up, do not open the link")
        );
        assert!(mail.html.contains("Contoso &lt;Help&gt;"));
    }

    #[test]
    fn the_sign_up_notice_offers_sign_in_to_a_member_and_the_invitation_to_an_invitee() {
        let base = Url::parse("https://traceless.example.com/").unwrap();
        let notice = |invited| {
            sign_up_notice(&SignUpNoticeMail {
                to: "ada@contoso.com",
                organization: "Contoso",
                invited,
                base: &base,
            })
        };
        let member = notice(false);
        assert!(
            member
                .text
                .lines()
                .any(|l| l == "https://traceless.example.com/signin")
        );
        assert!(
            member
                .text
                .lines()
                .any(|l| l == "https://traceless.example.com/forgot-password")
        );
        let invitee = notice(true);
        assert!(invitee.text.contains("already invited to \"Contoso\""));
        assert!(!invitee.text.contains("http"));
    }

    fn link_mail(link: &Url) -> Mail {
        super::link(&LinkMail {
            to: "megan@contoso.com",
            organization: "Contoso <Help>",
            asked_by: "Ada Admin",
            ticket_reference: Some("INC-4711"),
            ticket_subject: Some("Reset"),
            link,
            expires_at: time::macros::datetime!(2026-12-01 14:05 UTC),
        })
    }
}
