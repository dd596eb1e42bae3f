-- Every order GET /tests offers is one index walked forwards or backwards, so
-- a page reads its rows in order and stops at the limit instead of sorting
-- every matching test. The id ends each key: it breaks ties the same way.
DROP INDEX test_cases_test_created;
CREATE INDEX test_cases_test_created ON test_cases_test (created_at, id);
CREATE INDEX test_cases_test_updated ON test_cases_test (updated_at, id);
CREATE INDEX test_cases_test_name ON test_cases_test (name, id);
DROP INDEX test_cases_test_state;
CREATE INDEX test_cases_test_state ON test_cases_test (state, id);
CREATE INDEX test_cases_test_technique_order ON test_cases_test (technique_id, id);
-- Execution time, never-executed tests last in both directions.
CREATE INDEX test_cases_test_executed_asc ON test_cases_test ((executed_at IS NULL), executed_at, id);
CREATE INDEX test_cases_test_executed_desc ON test_cases_test ((executed_at IS NULL), executed_at DESC, id DESC);
-- A campaign's tests, newest first.
DROP INDEX test_cases_test_campaign;
CREATE INDEX test_cases_test_campaign ON test_cases_test (campaign_id, created_at, id);
