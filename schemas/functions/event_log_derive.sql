-- event_log_derive: its one definition (schemas/functions/, re-applied by every `kinerja migrate`
-- after the migrations; see schemas/functions/README). From 0019_ingest_lean.sql (0016's
-- body now in kinerja_derive_from).
-- Runs once per statement that inserts into event_log. When the statement's transaction
-- asked for a deferred derivation (kinerja.derive_defer = on: kinerja_ingest_staged with a
-- large batch), the new derivable events only join derive_queue, in this transaction, and
-- kinerja_derive_queued() derives them later (the score worker before every pass, the
-- next small batch). Otherwise they are derived here, as before.
CREATE OR REPLACE FUNCTION event_log_derive() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('kinerja.derive_defer', true) = 'on' THEN
        INSERT INTO derive_queue (ev)
        SELECT ROW(n.*)::event_log FROM new_events n
        WHERE n.type IN ('evaluation', 'work_result', 'citizen_feedback', 'recalc');
        RETURN NULL;
    END IF;

    IF to_regclass('pg_temp._derive_new') IS NULL THEN
        CREATE TEMP TABLE _derive_new (LIKE event_log) ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM _derive_new;
    INSERT INTO _derive_new
    SELECT * FROM new_events n
    WHERE n.type IN ('evaluation', 'work_result', 'citizen_feedback', 'recalc');
    IF FOUND THEN
        PERFORM kinerja_derive_from();
        DELETE FROM _derive_new;
    END IF;
    RETURN NULL;
END
$$;
