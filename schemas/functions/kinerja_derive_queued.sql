-- kinerja_derive_queued: its one definition (schemas/functions/, re-applied by every `kinerja migrate`
-- after the migrations; see schemas/functions/README). From 0019_ingest_lean.sql.
-- Takes up to max_rows events from derive_queue (deletes them) and derives them in the
-- caller's transaction (kinerja_derive_from), so the queue's rows and their derived rows
-- commit together: an event is derived exactly once whoever crashes. With wait, rows a
-- concurrent deriver holds are waited for (they are then gone, or back); without, they
-- are skipped. Returns how many rows were taken: a caller that loops until 0 (with
-- wait) has derived every event queued by a transaction committed before it began.
CREATE OR REPLACE FUNCTION kinerja_derive_queued(max_rows int, wait boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    IF to_regclass('pg_temp._derive_new') IS NULL THEN
        CREATE TEMP TABLE _derive_new (LIKE event_log) ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM _derive_new;
    IF wait THEN
        WITH taken AS (
            DELETE FROM derive_queue q
            WHERE q.ctid = ANY (ARRAY(SELECT x.ctid FROM derive_queue x LIMIT max_rows FOR UPDATE))
            RETURNING q.ev
        )
        INSERT INTO _derive_new SELECT (t.ev).* FROM taken t;
    ELSE
        WITH taken AS (
            DELETE FROM derive_queue q
            WHERE q.ctid = ANY (ARRAY(SELECT x.ctid FROM derive_queue x LIMIT max_rows FOR UPDATE SKIP LOCKED))
            RETURNING q.ev
        )
        INSERT INTO _derive_new SELECT (t.ev).* FROM taken t;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM kinerja_derive_from();
        DELETE FROM _derive_new;
    END IF;
    RETURN n;
END
$$;
