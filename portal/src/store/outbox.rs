//! The email outbox: every message is a row first; the sender job claims due rows with a lease
//! (so replicas never send one twice at once), then marks them sent or schedules a retry.

use super::{Store, StoreError};
use crate::db::on_pool;

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// What it is (`verify`, `reset`, `invite`, …), for logs and tests.
    pub kind: String,
}

/// A queued message as the sender sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxMail {
    pub id: String,
    pub to_addr: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub kind: String,
    pub attempts: i64,
}

impl Store {
    /// Queues a message to be sent now.
    pub async fn enqueue_mail(&self, id: &str, mail: &NewMail, now: i64) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "INSERT INTO outbox (id, to_addr, subject, text_body, html_body, kind, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
            .bind(id).bind(&mail.to).bind(&mail.subject).bind(&mail.text).bind(&mail.html)
            .bind(&mail.kind).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Claims up to `limit` due messages for `lease_s` seconds.
    pub async fn claim_mail(
        &self,
        now: i64,
        limit: i64,
        lease_s: i64,
        max_attempts: i64,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        let due: Vec<OutboxMail> = on_pool!(&self.pool, pool => sqlx::query_as::<_, OutboxMail>(
            "SELECT id, to_addr, subject, text_body, html_body, kind, attempts FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 AND locked_until <= $1 AND attempts < $2 ORDER BY next_attempt_at, created_at LIMIT $3")
            .bind(now).bind(max_attempts).bind(limit).fetch_all(pool).await)?;
        let mut claimed = Vec::with_capacity(due.len());
        for mail in due {
            let won = on_pool!(&self.pool, pool => sqlx::query(
                "UPDATE outbox SET locked_until = $2 WHERE id = $1 AND sent_at IS NULL AND locked_until <= $3")
                .bind(&mail.id).bind(now + lease_s).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
            if won == 1 {
                claimed.push(mail);
            }
        }
        Ok(claimed)
    }

    /// Marks a message sent.
    pub async fn mail_sent(&self, id: &str, now: i64) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE outbox SET sent_at = $2, attempts = attempts + 1, locked_until = 0, last_error = NULL WHERE id = $1")
            .bind(id).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub async fn mail_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $3, locked_until = 0, last_error = $2 WHERE id = $1")
            .bind(id).bind(error).bind(retry_at).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Messages not sent yet (for status pages and tests).
    pub async fn unsent_mail_count(&self) -> Result<i64, StoreError> {
        Ok(on_pool!(&self.pool, pool => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
            .fetch_one(pool).await)?)
    }
}
