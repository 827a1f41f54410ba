-- event_log_derive: its one definition (schemas/functions/, re-applied by every `kinerja migrate`
-- after the migrations; see schemas/functions/README). From 0019_ingest_lean.sql (0016's
-- body now in kinerja_derive_from).
-- Runs once per statement that inserts into event_log. When the statement's transaction
-- asked for a deferred derivation (kinerja.derive_defer = on: kinerja_ingest_staged with a
-- batch of a busy stream), its new work results and citizen feedback only join
-- derive_queue, in this transaction, and kinerja_derive_queued() derives them later (the
-- score worker before every pass, the next quiet batch, the ingest worker when idle).
-- Evaluations and recalc requests are always derived here: the ingest checks read
-- ratings (the relation a rater already holds), so they must be current.
CREATE OR REPLACE FUNCTION event_log_derive() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    deferred boolean := current_setting('kinerja.derive_defer', true) = 'on';
BEGIN
    IF deferred THEN
        INSERT INTO derive_queue (ev)
        SELECT ROW(n.*)::event_log FROM new_events n
        WHERE n.type IN ('work_result', 'citizen_feedback');
    END IF;

    IF to_regclass('pg_temp._derive_new') IS NULL THEN
        CREATE TEMP TABLE _derive_new (LIKE event_log) ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM _derive_new;
    INSERT INTO _derive_new
    SELECT * FROM new_events n
    WHERE n.type IN ('evaluation', 'recalc')
       OR (NOT deferred AND n.type IN ('work_result', 'citizen_feedback'));
    IF FOUND THEN
        PERFORM kinerja_derive_from();
        DELETE FROM _derive_new;
    END IF;
    RETURN NULL;
END
$$;
