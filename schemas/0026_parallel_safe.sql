-- 0026_parallel_safe: the pure SQL helpers marked PARALLEL SAFE (issue 15).
--
-- A function is PARALLEL UNSAFE unless it says otherwise, and one such call anywhere in a
-- query keeps PostgreSQL from planning any parallel worker for it. The rebuild's check of
-- the work results (kinerja_rebuild_check over event_work_results, whose columns call
-- kinerja_jsonb_num) therefore scanned the whole event log on one core: 1.4-1.6 s at
-- 100 000 x 30, 0.75 s with its workers. Every function below is an IMMUTABLE SQL
-- expression of its arguments (no table, no setting, no side effect). The ones whose
-- bodies live in schemas/functions/ say PARALLEL SAFE there (CREATE OR REPLACE would
-- otherwise reset it); test_pgstore checks that every IMMUTABLE SQL function of the
-- schema is marked.
ALTER FUNCTION kinerja_jsonb_num(jsonb) PARALLEL SAFE;
ALTER FUNCTION kinerja_jsonb_object(jsonb) PARALLEL SAFE;
ALTER FUNCTION kinerja_value5(text) PARALLEL SAFE;
ALTER FUNCTION kinerja_value4(text) PARALLEL SAFE;
ALTER FUNCTION kinerja_period_end(text) PARALLEL SAFE;
ALTER FUNCTION kinerja_period_months(text) PARALLEL SAFE;
ALTER FUNCTION kinerja_period_level(text) PARALLEL SAFE;
ALTER FUNCTION kinerja_period_parts(text) PARALLEL SAFE;
ALTER FUNCTION kinerja_period_quarter(text) PARALLEL SAFE;
ALTER FUNCTION kinerja_offerable(result_state, int, text, int, text) PARALLEL SAFE;
ALTER FUNCTION kinerja_schedule_lock_key() PARALLEL SAFE;
