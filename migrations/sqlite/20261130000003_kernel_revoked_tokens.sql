-- Signed-out session tokens by `jti`, kept until the token would have expired
-- (then pruned): the key-value store only caches them, so an emptied Redis
-- cannot bring a signed-out session back.
CREATE TABLE kernel_revoked_token (
    jti        TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL,
    revoked_at TEXT NOT NULL
);
CREATE INDEX kernel_revoked_token_expires_at ON kernel_revoked_token (expires_at);
