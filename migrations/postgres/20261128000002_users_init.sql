-- Users and their personal API tokens.
CREATE TABLE users_user (
    id                    TEXT PRIMARY KEY,
    username              TEXT NOT NULL,
    username_key          TEXT NOT NULL UNIQUE,
    display_name          TEXT NOT NULL,
    role                  TEXT NOT NULL,
    password_hash         TEXT NOT NULL,
    active                BIGINT NOT NULL DEFAULT 1,
    sessions_valid_after  TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    last_login_at         TEXT
);

CREATE TABLE users_api_token (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users_user (id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    token_prefix  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX users_api_token_user ON users_api_token (user_id);
