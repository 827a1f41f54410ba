-- 0016_ingest_fast: the ingest transaction, cheaper per event (issue 15).
--
-- Measured (EXPLAIN ANALYZE under auto_explain of one staged batch of 8 000 citizen
-- feedback events, 64 000 already in event_log): 1.6 s, of which
--   - 0.65 s deriving feedback: kinerja_derive_listed() reads the views over event_log
--     with `event_id IN (SELECT id FROM _derive_ids)`, and the planner scanned every
--     citizen_feedback event of the log (64 000 rows for 8 000 new ones) through
--     event_log_type_idx: the cost of a batch grew with the size of the log;
--   - 0.08 s sorting every row of the batch for the window function of the relation
--     check, which only evaluations need;
--   - the rest: the checks (0.2 s) and the insert into event_log (0.37 s).
--
-- After (200 000 events of gen_traffic's default mix queued in Redis, one ingest worker
-- draining them; CPU seconds of every PostgreSQL process, so the figure holds on a
-- loaded machine): 15.6 and 15.0 s before, 9.8 and 11.6 s after (78 -> 49..58 us per
-- event).
--
-- What changes (nothing stored or refused changes; the same rows, the same reasons):
--   - event_log_derive() derives from the statement's transition table (new_events)
--     instead of reading the events back from event_log. The derivation is still the
--     one of the views event_ratings, event_work_results and event_feedback (the views
--     stay the single definition, shared with kinerja_rebuild()): kinerja_view_over_new()
--     takes a view's own text (pg_get_viewdef) and has it read new_events where it read
--     event_log. Should a view ever be written so that this cannot be done safely (not
--     exactly one `event_log e`), the trigger looks each new event up in the view by
--     its id instead: slower, the same rows.
--   - late events and the late counters group the batch by (employee, period) before
--     joining results and computing the longer periods (0014's trigger evaluated three
--     regular expressions per event).
--   - kinerja_ingest_staged() is 0009's (with 0015's rule for `feedback` notes: only the
--     employee's supervisor sends one) with the first-relation-in-batch check computed
--     over the batch's good evaluations alone.
--   - event_log_type_idx is dropped: nothing needs it any more (the views are read by
--     type only in a rebuild, which scans the log for its period anyway, and the
--     bad plan above used it), and every event paid for it.

-- kinerja_ingest_staged(): its body is schemas/functions/kinerja_ingest_staged.sql (applied after the migrations).

-- The text of view v (one of the event_* derivation views) reading the transition
-- table new_events (same row type as event_log) instead of event_log; NULL when the
-- view does not read `event_log e` exactly once (then the caller looks up by id).
CREATE FUNCTION kinerja_view_over_new(v regclass) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    def text := rtrim(pg_get_viewdef(v), E'; \n');
BEGIN
    IF regexp_count(def, '\mevent_log\M') <> 1 OR regexp_count(def, '\mevent_log e\M') <> 1 THEN
        RETURN NULL;
    END IF;
    RETURN regexp_replace(def, '\mevent_log e\M', 'new_events e');
END
$$;

-- A derivation view's rows for the events of this statement: over new_events when the
-- view's text allows it, else by id through the view itself.
CREATE FUNCTION kinerja_derive_source(v regclass) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    def text := kinerja_view_over_new(v);
BEGIN
    IF def IS NOT NULL THEN
        RETURN '(' || def || ')';
    END IF;
    RETURN format('(SELECT x.* FROM new_events n CROSS JOIN LATERAL'
                  ' (SELECT * FROM %s y WHERE y.event_id = n.id OFFSET 0) x)', v);
END
$$;

-- event_log_derive(): its body is schemas/functions/event_log_derive.sql (applied after the migrations).

-- event_log_late_longer(): its body is schemas/functions/event_log_late_longer.sql (applied after the migrations).

DROP INDEX IF EXISTS event_log_type_idx;

GRANT EXECUTE ON FUNCTION kinerja_view_over_new(regclass), kinerja_derive_source(regclass) TO kinerja_app;
