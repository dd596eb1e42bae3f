-- Where a user's notices are e-mailed; none: the inbox only.
ALTER TABLE users_user ADD COLUMN email TEXT;
