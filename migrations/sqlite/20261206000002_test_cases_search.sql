-- Searching tests by word: a full-text index of the name, procedure, host
-- and technique id (FTS5 over the tests table's own columns, kept in step by
-- triggers). unicode61 folds case beyond ASCII and splits on anything not a
-- letter or digit; accents are kept, as PostgreSQL's `simple` search keeps
-- them. The index is keyed by the tests' rowid: `aegis rebuild-aggregates`
-- rebuilds it too, should a VACUUM ever renumber them.
CREATE VIRTUAL TABLE test_cases_search USING fts5(
    name, procedure, target_host, technique_id,
    content = 'test_cases_test', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER test_cases_search_insert AFTER INSERT ON test_cases_test BEGIN
    INSERT INTO test_cases_search (rowid, name, procedure, target_host, technique_id)
    VALUES (new.rowid, new.name, new.procedure, new.target_host, new.technique_id);
END;
CREATE TRIGGER test_cases_search_delete AFTER DELETE ON test_cases_test BEGIN
    INSERT INTO test_cases_search (test_cases_search, rowid, name, procedure, target_host, technique_id)
    VALUES ('delete', old.rowid, old.name, old.procedure, old.target_host, old.technique_id);
END;
CREATE TRIGGER test_cases_search_update
AFTER UPDATE OF name, procedure, target_host, technique_id ON test_cases_test BEGIN
    INSERT INTO test_cases_search (test_cases_search, rowid, name, procedure, target_host, technique_id)
    VALUES ('delete', old.rowid, old.name, old.procedure, old.target_host, old.technique_id);
    INSERT INTO test_cases_search (rowid, name, procedure, target_host, technique_id)
    VALUES (new.rowid, new.name, new.procedure, new.target_host, new.technique_id);
END;
INSERT INTO test_cases_search (test_cases_search) VALUES ('rebuild');
