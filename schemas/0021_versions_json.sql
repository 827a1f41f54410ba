-- 0021_versions_json: a version's result stored as the score worker wrote it (issue 15,
-- recalculation at scale).
--
-- score_versions.result was jsonb: PostgreSQL parsed every ~5.5 kB result into its binary
-- tree (keys sorted, every number a numeric) as the score worker's COPY arrived. perf at
-- 100 000 new results: jsonb_in was 19% of the machine's two cores during the first
-- computation, the largest single part of it. A version is written once and read whole
-- (`kinerja score`, the pages, the SIASN export) or by a path or two (sign-off facts,
-- the inputs-missing notice), which json serves as well; json only checks the text, at
-- about half the cost, and keeps it byte for byte as the worker wrote (and digested) it.
--
-- The result is also kept inline (STORAGE MAIN): compressed it is ~2.7 kB, which fits the
-- row's page, so the TOAST table's heap and index inserts (9% of the same profile) go.
--
-- Readers that need jsonb's operators (||, functions taking jsonb) cast: result::jsonb.
-- The text form a reader gets back changes from jsonb's (keys by length, ", " and ": ")
-- to the worker's own (its key order, no spaces); the JSON is the same.
ALTER TABLE score_versions ALTER COLUMN result TYPE json USING result::json;
ALTER TABLE score_versions ALTER COLUMN result SET STORAGE MAIN;
ALTER TABLE score_versions ALTER COLUMN result SET COMPRESSION lz4;

-- The two functions that read a result take it as json now (their bodies cast it once):
-- dropped here, made again from schemas/functions/ after the migrations.
DROP FUNCTION IF EXISTS kinerja_signoff_highlights(jsonb, boolean, int, int);
DROP FUNCTION IF EXISTS kinerja_signoff_facts(jsonb);

-- Bodies in schemas/functions/ (applied after the migrations):
--   kinerja_signoff_facts(json), kinerja_signoff_highlights(json, ...)   0020's and 0003's,
--                                  the result taken as json;
--   kinerja_queue_reminders(int)   0006's, with the highlights and training from the
--                                  version's sign-off facts (as kinerja_request_signoff).
