-- Searching tests by word: a full-text index of the name, procedure, host
-- and technique id. The text is split on anything not a letter or digit
-- before the `simple` configuration reads it (which lower-cases and keeps
-- accents), so `powershell.exe` is two words here as in SQLite's index. The
-- expression is the one `aegis_mod_test_cases::repo` searches with.
CREATE INDEX test_cases_test_search ON test_cases_test USING GIN (
    to_tsvector('simple', regexp_replace(
        name || ' ' || procedure || ' ' || COALESCE(target_host, '') || ' ' || technique_id,
        '[^[:alnum:]]+', ' ', 'g'))
);
