-- The test-case module is `test_cases`; its tables take its prefix. Every
-- row stays: the tables are renamed, not copied.
ALTER TABLE tests_test RENAME TO test_cases_test;
ALTER TABLE tests_test_tag RENAME TO test_cases_test_tag;
ALTER TABLE tests_transition RENAME TO test_cases_transition;
ALTER TABLE tests_evidence RENAME TO test_cases_evidence;
ALTER TABLE tests_template RENAME TO test_cases_template;

ALTER INDEX tests_test_pkey RENAME TO test_cases_test_pkey;
ALTER INDEX tests_test_state RENAME TO test_cases_test_state;
ALTER INDEX tests_test_technique RENAME TO test_cases_test_technique;
ALTER INDEX tests_test_campaign RENAME TO test_cases_test_campaign;
ALTER INDEX tests_test_created RENAME TO test_cases_test_created;
ALTER INDEX tests_test_latest RENAME TO test_cases_test_latest;
ALTER INDEX tests_test_tag_pkey RENAME TO test_cases_test_tag_pkey;
ALTER INDEX tests_test_tag_tag RENAME TO test_cases_test_tag_tag;
ALTER INDEX tests_transition_pkey RENAME TO test_cases_transition_pkey;
ALTER INDEX tests_transition_test RENAME TO test_cases_transition_test;
ALTER INDEX tests_evidence_pkey RENAME TO test_cases_evidence_pkey;
ALTER INDEX tests_evidence_storage_key_key RENAME TO test_cases_evidence_storage_key_key;
ALTER INDEX tests_evidence_test RENAME TO test_cases_evidence_test;
ALTER INDEX tests_template_pkey RENAME TO test_cases_template_pkey;
ALTER INDEX tests_template_external_id_key RENAME TO test_cases_template_external_id_key;
ALTER INDEX tests_template_technique RENAME TO test_cases_template_technique;
ALTER TABLE test_cases_test_tag RENAME CONSTRAINT tests_test_tag_test_id_fkey TO test_cases_test_tag_test_id_fkey;
ALTER TABLE test_cases_transition RENAME CONSTRAINT tests_transition_test_id_fkey TO test_cases_transition_test_id_fkey;
ALTER TABLE test_cases_evidence RENAME CONSTRAINT tests_evidence_test_id_fkey TO test_cases_evidence_test_id_fkey;

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
