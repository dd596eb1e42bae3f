-- The e-mail job reads the notices not sent yet, oldest first, without
-- reading every notice ever made.
CREATE INDEX notifications_notice_unsent ON notifications_notice (created_at, id) WHERE emailed_at IS NULL;
