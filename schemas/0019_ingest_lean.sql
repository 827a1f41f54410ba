-- 0019_ingest_lean: derivation off the ingest transaction under load (issue 15).
--
-- Measured before (200 000 citizen_feedback events through `kinerja bench`, one ingest
-- worker): the ingest backend spent 43-58 us of CPU per event, of which the derivation
-- (the feedback upsert with its three indexes, late events, score_periods) was the
-- largest single part after the insert into event_log itself; every event paid for it
-- inside the transaction that the end-to-end figure waits on.
--
-- What changes:
--   - A batch of a busy stream is stored with its derivation deferred: the ingest
--     worker says busy (kinerja.ingest_busy, for its transaction) when some shard gave
--     it a whole read (more entries are waiting); a caller that does not say (an older
--     worker, a direct call) is busy from kinerja.derive_defer_min events (a setting,
--     default 256). kinerja_ingest_staged() then sets kinerja.derive_defer for its own
--     insert, and the derive trigger only copies its new work results and citizen
--     feedback into derive_queue, in the same transaction. Evaluations and recalc
--     requests are still derived in the ingest transaction: the relation check of the
--     next batch reads ratings. A batch with a sign-off, an appeal or a decision is never
--     deferred and first derives the whole queue (the workflow judges against derived
--     inputs; an event stored before a sign-off is not late for it). A quiet batch (a trickle, the end of a burst, every test with a few
--     events, an insert by hand) is derived in its transaction exactly as before.
--   - kinerja_derive_queued(max_rows, wait) takes up to max_rows queued events (deletes
--     them from the queue) and derives them in the caller's transaction with the same
--     statements as the trigger (kinerja_derive_from): derived rows and the queue's
--     deletion commit together, so a crash of either side derives every event exactly
--     once. With wait it waits for a concurrent deriver's rows (so a caller that loops
--     until it returns 0 has everything committed before it began derived); without,
--     it skips them.
--   - Who derives: the score worker at the start of every pass (at least every 2 s,
--     before recalculations and before it reads which periods are dirty), so a score is
--     never computed from derived tables that lack a stored event; every batch that is
--     not deferred (the stream went quiet) derives up to one chunk (20 000) of the queue
--     in its own transaction, so when the log holds the last event of a burst the
--     derived tables hold the burst (with one ingest worker and no score pass under way);
--     and the ingest worker derives a chunk on a read that found nothing after batches.
--     Under load the derived tables (feedback, ratings, work_results, late_events,
--     recalc_requests, score_periods' generation) trail event_log by at most a score
--     pass. The month's late counter of longer periods (event_log_late_longer) stays in
--     the ingest transaction.
--   - The derivation reads the events from a session temp table _derive_new (the
--     trigger copies its transition table there, the queue's taker its rows), so the
--     statements have one home (kinerja_derive_from), the static ones planned once per
--     session.

-- The events stored but not yet derived, each as its whole event_log row (a column
-- added to event_log later travels with the row type). No index: rows are taken in
-- any order (the derivation keeps "latest by (ts, id)", which is order-free).
CREATE TABLE derive_queue (
    ev event_log
);

GRANT SELECT, INSERT, DELETE, UPDATE ON derive_queue TO kinerja_app;

-- kinerja_derive_source_over(), kinerja_derive_from(), kinerja_derive_queued(): bodies in schemas/functions/ (applied
-- after the migrations), the grants below once they exist.
CREATE FUNCTION kinerja_derive_source_over(v regclass) RETURNS text LANGUAGE sql AS $$ SELECT NULL::text $$;
CREATE FUNCTION kinerja_derive_from() RETURNS bigint LANGUAGE sql AS $$ SELECT 0::bigint $$;
CREATE FUNCTION kinerja_derive_queued(max_rows int, wait boolean) RETURNS bigint
    LANGUAGE sql AS $$ SELECT 0::bigint $$;
GRANT EXECUTE ON FUNCTION kinerja_derive_source_over(regclass), kinerja_derive_from(),
    kinerja_derive_queued(int, boolean) TO kinerja_app;
