-- Retention (`crate::retention`; twin of migrations/0009): the hourly job finds what is older
-- than the retention period by time, and a verification's link mails by verification when its link ends.
CREATE INDEX verifications_by_created ON verifications(created_at);
CREATE INDEX verification_events_by_created ON verification_events(created_at);
CREATE INDEX ticket_entries_by_created ON ticket_entries(created_at);
CREATE INDEX outbox_messages_by_created ON outbox_messages(created_at);
CREATE INDEX outbox_messages_by_verification ON outbox_messages(verification_id, kind);
CREATE INDEX webhook_deliveries_by_created ON webhook_deliveries(created_at);
-- (webhook_attempts.response_excerpt keeps at most 200 characters from now on: src/webhooks/worker.rs)
CREATE INDEX webhook_attempts_by_time ON webhook_attempts(attempted_at);
