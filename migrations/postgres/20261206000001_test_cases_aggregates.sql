-- The aggregates coverage and KPIs read instead of ranking every test. The
-- test-case module writes them in the same transaction as every write of a
-- test (`aegis_mod_test_cases::aggregates`), and `aegis rebuild-aggregates`
-- recomputes them from the tests. They hold, for the whole history:

-- Per procedure (technique and procedure key), over its completed tests with
-- an outcome: how many, the latest one's outcome and run time, and the latest
-- test when it went undetected after an earlier one was prevented or alerted.
CREATE TABLE test_cases_agg_procedure (
    technique_domain  TEXT NOT NULL,
    technique_id      TEXT NOT NULL,
    procedure_key     TEXT NOT NULL,
    tests             BIGINT NOT NULL,
    latest_outcome    TEXT NOT NULL,
    last_ran          TEXT NOT NULL,
    regressed_test_id TEXT,
    PRIMARY KEY (technique_domain, technique_id, procedure_key)
);

-- Per state and detection outcome ('' for none): how many tests, and the sums
-- and counts of their times to detect and to review.
CREATE TABLE test_cases_agg_tally (
    state        TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    tests        BIGINT NOT NULL,
    ttd_sum      BIGINT NOT NULL,
    ttd_count    BIGINT NOT NULL,
    review_sum   BIGINT NOT NULL,
    review_count BIGINT NOT NULL,
    PRIMARY KEY (state, outcome)
);

-- Completed tests with a time to detect, per whole second of it: the median
-- is found by walking these counts, then reading inside one second.
CREATE TABLE test_cases_agg_ttd (
    ttd_second BIGINT PRIMARY KEY,
    tests      BIGINT NOT NULL
);

-- The tests of one second of time to detect, read in order.
CREATE INDEX test_cases_test_ttd ON test_cases_test (state, ttd_ms);

-- Published with the `test_cases_fact` view: other modules read these.
CREATE VIEW test_cases_procedure_latest AS
SELECT technique_domain, technique_id, procedure_key, tests, latest_outcome, last_ran, regressed_test_id
FROM test_cases_agg_procedure;
CREATE VIEW test_cases_tally AS
SELECT state, outcome, tests, ttd_sum, ttd_count, review_sum, review_count FROM test_cases_agg_tally;
CREATE VIEW test_cases_ttd_histogram AS
SELECT ttd_second, tests FROM test_cases_agg_ttd;

-- An existing installation's history, computed once here.
INSERT INTO test_cases_agg_procedure
    (technique_domain, technique_id, procedure_key, tests, latest_outcome, last_ran, regressed_test_id)
SELECT technique_domain, technique_id, procedure_key, COUNT(*),
       MAX(CASE WHEN pos = 1 THEN detection_outcome END), MAX(ran_at),
       CASE WHEN MAX(CASE WHEN pos > 1 AND detection_outcome IN ('prevented', 'alerted') THEN 1 ELSE 0 END) = 1
            THEN MAX(CASE WHEN pos = 1 AND detection_outcome = 'not_detected' THEN id END) END
FROM (SELECT id, technique_domain, technique_id, procedure_key, detection_outcome, ran_at,
             ROW_NUMBER() OVER (PARTITION BY technique_domain, technique_id, procedure_key
                                ORDER BY ran_at DESC, updated_at DESC, id DESC) AS pos
      FROM test_cases_test WHERE state = 'completed' AND detection_outcome IS NOT NULL) ranked
GROUP BY technique_domain, technique_id, procedure_key;
INSERT INTO test_cases_agg_tally (state, outcome, tests, ttd_sum, ttd_count, review_sum, review_count)
SELECT state, COALESCE(detection_outcome, ''), COUNT(*), CAST(COALESCE(SUM(ttd_ms), 0) AS BIGINT), COUNT(ttd_ms),
       CAST(COALESCE(SUM(review_ms), 0) AS BIGINT), COUNT(review_ms)
FROM test_cases_test GROUP BY state, COALESCE(detection_outcome, '');
INSERT INTO test_cases_agg_ttd (ttd_second, tests)
SELECT ttd_ms / 1000, COUNT(*) FROM test_cases_test
WHERE state = 'completed' AND ttd_ms IS NOT NULL GROUP BY ttd_ms / 1000;
