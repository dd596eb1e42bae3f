-- The test-case module is `test_cases`; its tables take its prefix. Every
-- row stays: the tables are renamed, not copied.
ALTER TABLE tests_test RENAME TO test_cases_test;
ALTER TABLE tests_test_tag RENAME TO test_cases_test_tag;
ALTER TABLE tests_transition RENAME TO test_cases_transition;
ALTER TABLE tests_evidence RENAME TO test_cases_evidence;
ALTER TABLE tests_template RENAME TO test_cases_template;

-- SQLite cannot rename an index: each is made again under the new name.
DROP INDEX tests_test_state;
DROP INDEX tests_test_technique;
DROP INDEX tests_test_campaign;
DROP INDEX tests_test_created;
DROP INDEX tests_test_latest;
DROP INDEX tests_test_tag_tag;
DROP INDEX tests_transition_test;
DROP INDEX tests_evidence_test;
DROP INDEX tests_template_technique;
CREATE INDEX test_cases_test_state ON test_cases_test (state);
CREATE INDEX test_cases_test_technique ON test_cases_test (technique_domain, technique_id);
CREATE INDEX test_cases_test_campaign ON test_cases_test (campaign_id);
CREATE INDEX test_cases_test_created ON test_cases_test (created_at);
CREATE INDEX test_cases_test_latest ON test_cases_test
    (state, technique_domain, technique_id, procedure_key, ran_at DESC, updated_at DESC, id DESC, detection_outcome);
CREATE INDEX test_cases_test_tag_tag ON test_cases_test_tag (tag);
CREATE INDEX test_cases_transition_test ON test_cases_transition (test_id, at);
CREATE INDEX test_cases_evidence_test ON test_cases_evidence (test_id, uploaded_at);
CREATE INDEX test_cases_template_technique ON test_cases_template (technique_domain, technique_id);

-- The test-case module's published read surface. Other modules (coverage,
-- campaigns, reports, alerts) read test facts only through this view, never
-- the tables above, so the tables can change inside the module as long as
-- the view keeps these columns and meanings:
--   id, name, campaign_id, template_id, technique_domain, technique_id,
--   platform, state ('draft', 'red_executing', 'blue_evaluating',
--   'completed', 'cancelled'), attack_outcome, detection_outcome,
--   executed_at, detected_at, submitted_at, completed_at (RFC 3339 UTC text),
--   ttd_ms (detected_at - executed_at of a detected test, milliseconds),
--   review_ms (completed_at - submitted_at), procedure_key (the procedure a
--   test repeats: its template, else a hash of its procedure text), ran_at
--   (executed_at, else created_at), created_at, updated_at, version.
CREATE VIEW test_cases_fact AS
SELECT id, name, campaign_id, template_id, technique_domain, technique_id, platform, state,
       attack_outcome, detection_outcome, executed_at, detected_at, submitted_at, completed_at,
       ttd_ms, review_ms, procedure_key, ran_at, created_at, updated_at, version
FROM test_cases_test;
