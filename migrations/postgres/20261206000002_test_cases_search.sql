-- Searching tests by word: a full-text index of the name, procedure, host
-- and technique id. The text is split on anything not a letter or digit
-- before the `simple` configuration reads it (which lower-cases and keeps
-- accents), so `powershell.exe` is two words here as in SQLite's index. The
-- words are stored (a generated column, which backups leave out and inserts
-- compute), so checking a row costs no parsing whichever plan is chosen.
ALTER TABLE test_cases_test ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', regexp_replace(
        name || ' ' || procedure || ' ' || COALESCE(target_host, '') || ' ' || technique_id,
        '[^[:alnum:]]+', ' ', 'g'))
) STORED;
CREATE INDEX test_cases_test_search ON test_cases_test USING GIN (search_vector);
