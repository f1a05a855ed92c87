//! Email: the messages the portal sends (text + HTML from one template each) and the outbox
//! sender, which drains due rows over SMTP (lettre) with exponential backoff, so an SMTP outage
//! delays mail but loses none.

use crate::config::SmtpSettings;
use crate::db::now;
use crate::store::{NewMail, OutboxMail, Store, StoreError};
use crate::tokens::new_id;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
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

/// A message with one call to action: a paragraph, a button link, a closing line.
fn action_mail(
    to: &str,
    kind: &str,
    subject: &str,
    intro: &str,
    button: &str,
    link: &str,
    outro: &str,
) -> NewMail {
    let text = format!("{intro}\n\n{button}: {link}\n\n{outro}\n\n— Weir\n");
    let html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#1c2733;max-width:560px;margin:0 auto;padding:24px\">\
<h1 style=\"font-size:20px\">{subject}</h1><p>{intro}</p>\
<p><a href=\"{link}\" style=\"display:inline-block;background:#1f6feb;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none\">{button}</a></p>\
<p style=\"font-size:13px;color:#57606a\">Or open this link: {link}</p><p style=\"font-size:13px;color:#57606a\">{outro}</p></body></html>",
        subject = escape_html(subject),
        intro = escape_html(intro),
        button = escape_html(button),
        link = escape_html(link),
        outro = escape_html(outro),
    );
    NewMail {
        to: to.to_string(),
        subject: subject.to_string(),
        text,
        html,
        kind: kind.to_string(),
    }
}

/// "Confirm your email" with the verification link.
pub fn verify_email(to: &str, base_url: &str, token: &str) -> NewMail {
    action_mail(
        to,
        "verify",
        "Confirm your email for Weir",
        "Welcome to Weir. Confirm this address to start adding sites.",
        "Confirm email",
        &format!("{base_url}/verify?token={token}"),
        "The link works once, for 24 hours. If you did not sign up, ignore this email.",
    )
}

/// "Reset your password" with the reset link.
pub fn password_reset(to: &str, base_url: &str, token: &str) -> NewMail {
    action_mail(
        to,
        "reset",
        "Reset your Weir password",
        "Someone (hopefully you) asked to reset the password of this Weir account.",
        "Choose a new password",
        &format!("{base_url}/reset?token={token}"),
        "The link works once, for 1 hour. If you did not ask, ignore this email: your password stays as it is.",
    )
}

/// "You are invited to TENANT" with the invitation link.
pub fn invitation(to: &str, base_url: &str, token: &str, tenant: &str, inviter: &str) -> NewMail {
    action_mail(
        to,
        "invite",
        &format!("You are invited to {tenant} on Weir"),
        &format!("{inviter} invited you to join {tenant} on Weir."),
        "Accept the invitation",
        &format!("{base_url}/invite?token={token}"),
        "The link works once, for 7 days.",
    )
}

/// "Node NAME is offline" for the tenant's owners and admins, linking to its nodes page.
pub fn node_offline(
    to: &str,
    base_url: &str,
    tenant_id: &str,
    tenant: &str,
    node: &str,
) -> NewMail {
    action_mail(
        to,
        "node_offline",
        &format!("Node {node} of {tenant} is offline"),
        &format!(
            "Weir has not heard from node {node} ({tenant}) for longer than its heartbeat allows. It keeps serving its last config while it runs; if it stopped, its traffic has stopped too."
        ),
        "See the nodes",
        &format!("{base_url}/t/{tenant_id}/nodes"),
        "You get this once each time the node goes offline; it shows as online again on its next heartbeat.",
    )
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The SMTP URL or an address is unusable.
    #[error("{0}")]
    Setup(String),
    /// The SMTP server refused or was unreachable.
    #[error("smtp: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// The outbox could not be read or updated.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Drains the outbox.
pub struct Sender {
    store: Store,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    max_attempts: u32,
}

impl Sender {
    /// A sender for the configured SMTP server.
    pub fn new(store: Store, smtp: &SmtpSettings) -> Result<Sender, SendError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp.url.expose())
            .map_err(|_| SendError::Setup("smtp.url is not a usable SMTP URL".into()))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = smtp.from.parse().map_err(|_| {
            SendError::Setup(format!("smtp.from `{}` is not an address", smtp.from))
        })?;
        Ok(Sender {
            store,
            transport,
            from,
            max_attempts: smtp.max_attempts,
        })
    }

    /// Sends every due message once; returns how many were sent.
    pub async fn send_due(&self) -> Result<usize, SendError> {
        let claimed = self
            .store
            .claim_mail(now(), 20, 120, i64::from(self.max_attempts))
            .await?;
        let mut sent = 0;
        for mail in claimed {
            match self.send(&mail).await {
                Ok(()) => {
                    self.store.mail_sent(&mail.id, now()).await?;
                    tracing::info!(id = %mail.id, kind = %mail.kind, "email sent");
                    sent += 1;
                }
                Err(e) => {
                    let backoff = 1i64 << mail.attempts.clamp(0, 9);
                    let retry_at = now() + backoff;
                    tracing::warn!(id = %mail.id, kind = %mail.kind, attempt = mail.attempts + 1, retry_in_s = backoff, error = %e, "email not sent; will retry");
                    self.store
                        .mail_failed(&mail.id, &e.to_string(), retry_at)
                        .await?;
                }
            }
        }
        Ok(sent)
    }

    async fn send(&self, mail: &OutboxMail) -> Result<(), SendError> {
        let to: Mailbox = mail
            .to_addr
            .parse()
            .map_err(|_| SendError::Setup(format!("`{}` is not an address", mail.to_addr)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text_body.clone(),
                mail.html_body.clone(),
            ))
            .map_err(|e| SendError::Setup(e.to_string()))?;
        self.transport.send(message).await?;
        Ok(())
    }

    /// Runs forever, draining the outbox every `poll`.
    pub async fn run(self, poll: Duration) {
        loop {
            if let Err(e) = self.send_due().await {
                tracing::warn!(error = %e, "outbox pass failed");
            }
            tokio::time::sleep(poll).await;
        }
    }
}

/// Queues a message.
pub async fn enqueue(store: &Store, mail: &NewMail) -> Result<(), StoreError> {
    store.enqueue_mail(&new_id("mail"), mail, now()).await
}

/// "You already have an account" (a signup with a taken address), with a reset link.
pub fn account_exists(to: &str, base_url: &str, token: &str) -> NewMail {
    action_mail(
        to,
        "account-exists",
        "You already have a Weir account",
        "Someone tried to sign up to Weir with this address, which already has an account.",
        "Reset your password",
        &format!("{base_url}/reset?token={token}"),
        "If it was you and you remember your password, just sign in. Otherwise ignore this email.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_escape_and_carry_the_link() {
        let m = invitation(
            "a@b.test",
            "https://p.test",
            "tok",
            "<Acme & Co>",
            "x@y.test",
        );
        assert!(m.text.contains("https://p.test/invite?token=tok"));
        assert!(m.html.contains("&lt;Acme &amp; Co&gt;"));
        assert!(!m.html.contains("<Acme"));
        assert_eq!(m.kind, "invite");
    }
}
