-- 0030_versions_text: a version's result stored as text, the bytes the score worker wrote
-- (issue 15, recalculation at scale; 0021 went from jsonb to json for the same reason).
--
-- json only checks its text, but it checks every byte of it: on a 100 000 x 30 stack the
-- server took the period's 100 000 versions (633 MB, binary COPY) in 4.0-4.4 s with result
-- json, in 2.2 s with result text (docs/PERFORMANCE.md "The versions' COPY in binary"),
-- and at 1 000 000 that COPY is what the first computation waits on. The result is written
-- by one program, the score worker (common/score_json.c, its own JSON writer, unit-tested
-- against a parser), and read whole or by a path or two, so the server's check bought
-- nothing a reader needs.
--
-- Readers that want a path cast: result::json -> 'training', or result::jsonb for jsonb's
-- operators. The text is unchanged, byte for byte; the column stays inline (STORAGE MAIN)
-- and lz4-compressed. The two functions that take a result take it as text now (their
-- bodies cast it once): dropped here, made again from schemas/functions/ after the
-- migrations, as is kinerja_notify_inputs_missing (0006's, whose paths now cast).
--
-- The ALTER rewrites every partition of score_versions once (a deployment with many
-- periods of versions: minutes, under the migrations' lock).
--
-- A change of type drops the column's compression (and storage) back to the defaults,
-- and SET COMPRESSION, unlike SET STORAGE, is not passed on to partitions: the rewrite
-- compresses with lz4 (this transaction's default), then the parent and every partition
-- are told lz4 again, so the partitions made later inherit it as before.
SET LOCAL default_toast_compression = 'lz4';
ALTER TABLE score_versions ALTER COLUMN result TYPE text USING result::text;
ALTER TABLE score_versions ALTER COLUMN result SET STORAGE MAIN;
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT relid FROM pg_partition_tree('score_versions') LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN result SET COMPRESSION lz4', t);
    END LOOP;
END
$$;

DROP FUNCTION IF EXISTS kinerja_signoff_highlights(json, boolean, int, int);
DROP FUNCTION IF EXISTS kinerja_signoff_facts(json);

-- Bodies in schemas/functions/ (applied after the migrations):
--   kinerja_signoff_facts(text), kinerja_signoff_highlights(text, ...)   the result as text;
--   kinerja_notify_inputs_missing(text)   0006's, with the ratings read through result::json.
