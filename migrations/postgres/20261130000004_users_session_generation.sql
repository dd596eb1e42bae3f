-- A counter bumped by every password change or reset; session tokens carry
-- the value they were issued under, so revocation is exact (no one-second
-- `iat` resolution to slip through).
ALTER TABLE users_user ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
