-- kinerja_ingest_staged: its one definition (schemas/functions/, re-applied by every `kinerja migrate`
-- after the migrations; see schemas/functions/README). From 0016_ingest_fast.sql; 0019 defers
-- the derivation of a large batch; 0029 files every id in event_ids first (stored or rejected
-- once across every period's partition) and files rejected events under a period.
CREATE OR REPLACE FUNCTION kinerja_ingest_staged(tz text, OUT stored bigint, OUT rejected bigint,
                                                 OUT already bigint)
LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
    wf_ids uuid[];
    w record;
    r_state result_state;
    r_version int;
    r_deadline timestamptz;
    why text;
    n bigint;
    busy text;
    has_workflow boolean;
    filed_period text;
BEGIN
    -- An unknown zone raises here (22023), once, before any row is touched.
    PERFORM now() AT TIME ZONE tz;

    -- The staging table of a worker from before 0009 (or a hand-made one) has no client
    -- column: add it (NULL: not known), so such a worker keeps storing until restarted.
    IF NOT EXISTS (SELECT 1 FROM pg_attribute
                   WHERE attrelid = 'ingest_staging'::regclass AND attname = 'client' AND NOT attisdropped) THEN
        ALTER TABLE ingest_staging ADD COLUMN client text;
    END IF;

    SELECT count(*) INTO total FROM ingest_staging;

    -- A batch of a busy stream leaves its derivation to kinerja_derive_queued() (0019):
    -- the derive trigger queues its events instead of deriving them here. Busy: the
    -- worker says so (kinerja.ingest_busy, set for this transaction: a shard gave it a
    -- whole read), or the batch has kinerja.derive_defer_min events (a setting; by
    -- default 256 when the caller does not say). A batch with a sign-off, an appeal or
    -- a decision is never deferred, and first derives everything queued (waiting for a
    -- concurrent deriver): the workflow then judges against derived inputs, and an
    -- event stored before it is not counted late for the result it approves.
    busy := current_setting('kinerja.ingest_busy', true);
    has_workflow := EXISTS (SELECT 1 FROM ingest_staging WHERE type IN ('signoff', 'appeal', 'appeal_decision'));
    PERFORM set_config('kinerja.derive_defer',
                       CASE WHEN NOT has_workflow
                             AND (busy = 'on'
                                  OR total >= coalesce(nullif(current_setting('kinerja.derive_defer_min', true), '')::int,
                                                       CASE WHEN busy IS NULL OR busy = '' THEN 256 END))
                            THEN 'on' ELSE 'off' END, true);
    IF has_workflow THEN
        LOOP
            EXIT WHEN kinerja_derive_queued(20000, true) = 0;
        END LOOP;
    ELSIF current_setting('kinerja.derive_defer', true) = 'off' AND EXISTS (SELECT 1 FROM derive_queue) THEN
        -- a quiet batch (the stream is quiet again) also derives what busy ones queued,
        -- up to one chunk: so once the log holds the last event of a burst, the derived
        -- tables hold the burst (one worker; with several, what another deriver holds at
        -- that moment follows at its commit). The score worker derives the rest before
        -- its next pass.
        PERFORM kinerja_derive_queued(20000, false);
    END IF;

    -- One relation per rater and ratee: batches with evaluations of the same (employee,
    -- period) take turns (in a fixed order, so two batches cannot deadlock), and the
    -- check below then sees what the other one stored.
    PERFORM pg_advisory_xact_lock(hashtextextended('kinerja.relation:' || x.employee || ':' || x.period, 0))
    FROM (SELECT DISTINCT employee, period FROM ingest_staging
          WHERE type = 'evaluation' AND employee IS NOT NULL AND period IS NOT NULL
          ORDER BY 1, 2) x;

    WITH s AS (
        SELECT DISTINCT ON (id) *
        FROM ingest_staging
        ORDER BY id, seq
    ), checked0 AS (
        SELECT s.*,
            CASE WHEN s.type = 'citizen_feedback'
                 THEN to_char(to_timestamp(s.ts_ms / 1000.0) AT TIME ZONE tz, 'YYYY-MM')
                 ELSE s.period END AS eff_period,
            CASE WHEN s.type IN ('citizen_feedback', 'recalc') THEN s.unit
                 ELSE e.unit END AS eff_unit,
            COALESCE(s.reject_reason, CASE
                WHEN s.employee IS NOT NULL AND e.nip IS NULL
                    THEN 'employee: unknown NIP ' || s.employee
                WHEN s.unit IS NOT NULL AND u.code IS NULL
                    THEN 'unit: unknown unit ' || s.unit
                WHEN s.rater IS NOT NULL AND r.nip IS NULL
                    THEN 'rater: unknown NIP ' || s.rater
                WHEN s.supervisor IS NOT NULL AND sv.nip IS NULL AND sve.id IS NULL
                    THEN CASE WHEN s.supervisor ~ '^[0-9]{18}$' THEN 'supervisor: unknown NIP ' || s.supervisor
                              ELSE 'supervisor: unknown evaluator id ' || s.supervisor END
                WHEN s.decider IS NOT NULL AND d.nip IS NULL
                    THEN 'decider: unknown NIP ' || s.decider
                WHEN s.type = 'evaluation' AND s.relation = 'supervisor'
                     AND e.supervisor_nip IS DISTINCT FROM s.rater
                    THEN 'rater: ' || s.rater || ' is not the supervisor of ' || s.employee
                WHEN s.type = 'evaluation' AND s.relation = 'subordinate'
                     AND r.supervisor_nip IS DISTINCT FROM s.employee
                    THEN 'rater: ' || s.rater || ' does not report to ' || s.employee
                WHEN s.type = 'evaluation' AND s.relation = 'self'
                     AND s.rater IS DISTINCT FROM s.employee
                    THEN 'rater: ' || s.rater || ' is not ' || s.employee
                         || ' (a self evaluation comes from the employee)'
                WHEN s.type = 'evaluation' AND s.relation = 'peer' AND e.supervisor_nip = s.rater
                    THEN 'relation: ' || s.rater || ' is the supervisor of ' || s.employee
                         || ', so rates as supervisor, not as peer; one rater holds one relation'
                WHEN s.type = 'evaluation' AND s.relation = 'peer'
                     AND (s.rater IS NOT DISTINCT FROM s.employee OR r.unit IS DISTINCT FROM e.unit)
                    THEN 'rater: ' || s.rater || ' is not a peer of ' || s.employee
                         || ' (peers are others in unit ' || e.unit || ')'
                WHEN s.type = 'evaluation' AND s.relation IS NULL
                    THEN 'relation: missing'
                WHEN s.type IN ('signoff', 'feedback') AND e.supervisor_nip IS DISTINCT FROM s.supervisor
                    THEN 'supervisor: ' || s.supervisor || ' is not the supervisor of ' || s.employee
                WHEN s.type = 'appeal_decision' AND e.supervisor_nip IS NULL
                    THEN 'decider: ' || s.employee || ' has no supervisor, so no one decides appeals'
                WHEN s.type = 'appeal_decision' AND es.supervisor_nip IS NULL
                    THEN 'decider: ' || e.supervisor_nip || ', the supervisor of ' || s.employee
                         || ', has no supervisor to decide appeals'
                WHEN s.type = 'appeal_decision' AND es.supervisor_nip <> s.decider
                    THEN 'decider: ' || s.decider || ' is not the supervisor of '
                         || e.supervisor_nip || ', the supervisor of ' || s.employee
            END) AS reason0,
            s.type IN ('signoff', 'appeal', 'appeal_decision') AS workflow
        FROM s
        LEFT JOIN employees e ON e.nip = s.employee
        LEFT JOIN employees es ON es.nip = e.supervisor_nip
        LEFT JOIN employees r ON r.nip = s.rater
        LEFT JOIN employees sv ON sv.nip = s.supervisor
        LEFT JOIN evaluators sve ON sve.id = s.supervisor
        LEFT JOIN employees d ON d.nip = s.decider
        LEFT JOIN units u ON u.code = s.unit
    ), stored_relations AS (
        -- the relations the batch's raters already hold to its ratees (set-based)
        SELECT g.period, g.employee, g.rater, array_agg(g.relation ORDER BY g.ts, g.relation) AS relations
        FROM ratings g
        JOIN (SELECT DISTINCT c.period, c.employee, c.rater FROM checked0 c
              WHERE c.type = 'evaluation' AND c.reason0 IS NULL) k
          ON g.period = k.period AND g.employee = k.employee AND g.rater = k.rater
        GROUP BY 1, 2, 3
    ), held AS (
        -- a good evaluation against the relation its rater already holds (stored)
        SELECT c.*,
            CASE WHEN c.type = 'evaluation' AND c.reason0 IS NULL THEN
                (SELECT x FROM unnest(h.relations) AS x WHERE x <> c.relation LIMIT 1) END AS held_stored
        FROM checked0 c
        LEFT JOIN stored_relations h ON h.period = c.period AND h.employee = c.employee AND h.rater = c.rater
    ), first_in_batch AS (
        -- and against the first relation the rater takes earlier in this batch (only the
        -- batch's good evaluations are sorted for it; 0009 sorted every row)
        SELECT h.*, fb.held_batch
        FROM held h
        LEFT JOIN (SELECT DISTINCT ON (x.period, x.employee, x.rater)
                          x.period, x.employee, x.rater, x.relation AS held_batch
                   FROM held x
                   WHERE x.type = 'evaluation' AND x.reason0 IS NULL AND x.held_stored IS NULL
                   ORDER BY x.period, x.employee, x.rater, x.seq) fb
          ON h.type = 'evaluation' AND h.reason0 IS NULL AND h.held_stored IS NULL
         AND fb.period = h.period AND fb.employee = h.employee AND fb.rater = h.rater
    ), checked AS (
        SELECT f.*,
            COALESCE(f.reason0, CASE
                WHEN f.type = 'evaluation' AND f.held_stored IS NOT NULL
                    THEN 'relation: ' || f.rater || ' already rates ' || f.employee || ' as ' || f.held_stored
                         || ' in ' || f.period || '; one rater holds one relation'
                WHEN f.type = 'evaluation' AND f.held_batch IS NOT NULL AND f.held_batch <> f.relation
                    THEN 'relation: ' || f.rater || ' already rates ' || f.employee || ' as ' || f.held_batch
                         || ' in ' || f.period || ' (earlier in this batch); one rater holds one relation'
            END) AS reason
        FROM first_in_batch f
    ), filed AS (
        -- every id once (0029): filed in the registry first, stored or rejected only when
        -- this statement filed it (an id filed before, by any batch, is "already")
        INSERT INTO event_ids (id, period)
        SELECT c.id, CASE WHEN c.reason IS NULL THEN c.eff_period
                          ELSE kinerja_filed_period(c.eff_period, now(), tz) END
        FROM checked c
        WHERE c.reason IS NOT NULL OR NOT c.workflow
        ON CONFLICT (id) DO NOTHING
        RETURNING id, period
    ), ins_log AS (
        INSERT INTO event_log (id, type, source, ts, employee, unit, period, rater, relation,
                               payload, stream_key, stream_id, received_at, client)
        SELECT c.id, c.type, c.source, to_timestamp(c.ts_ms / 1000.0), c.employee, c.eff_unit,
               c.eff_period, c.rater, c.relation, c.payload, c.stream_key, c.stream_id,
               to_timestamp(c.received_ms / 1000.0), c.client
        FROM checked c JOIN filed f ON f.id = c.id
        WHERE c.reason IS NULL AND NOT c.workflow
        RETURNING 1
    ), ins_rej AS (
        INSERT INTO rejected_events (event_id, type, source, employee, payload, reason,
                                     stream_key, stream_id, client, period)
        SELECT c.id, c.type, c.source, c.employee, c.payload, c.reason, c.stream_key, c.stream_id, c.client,
               f.period
        FROM checked c JOIN filed f ON f.id = c.id
        WHERE c.reason IS NOT NULL
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM ins_log), (SELECT count(*) FROM ins_rej),
           (SELECT array_agg(c.id) FROM checked c WHERE c.reason IS NULL AND c.workflow)
    INTO stored, rejected, wf_ids;

    IF wf_ids IS NOT NULL THEN
        FOR w IN
            SELECT s.*, e.unit AS eff_unit, e.supervisor_nip AS sup, es.supervisor_nip AS sup2
            FROM (SELECT DISTINCT ON (id) * FROM ingest_staging
                  WHERE id = ANY (wf_ids) ORDER BY id, seq) s
            JOIN employees e ON e.nip = s.employee
            LEFT JOIN employees es ON es.nip = e.supervisor_nip
            ORDER BY s.employee, s.period, s.ts_ms, s.seq
        LOOP
            -- lock first: a concurrent delivery of the same id then sees it stored
            SELECT x.state, x.version, x.appeal_deadline INTO r_state, r_version, r_deadline
            FROM results x WHERE x.employee = w.employee AND x.period = w.period
            FOR UPDATE;
            why := kinerja_workflow_reason(w.type, w.employee, w.period, w.payload, w.received_ms, w.sup2,
                                           w.sup, r_state, r_version, r_deadline, tz);
            -- filed once (0029): an id filed before is "already", whatever it became
            filed_period := CASE WHEN why IS NULL THEN w.period ELSE kinerja_filed_period(w.period, now(), tz) END;
            INSERT INTO event_ids (id, period) VALUES (w.id, filed_period) ON CONFLICT (id) DO NOTHING;
            GET DIAGNOSTICS n = ROW_COUNT;
            CONTINUE WHEN n = 0;
            IF why IS NULL THEN
                INSERT INTO event_log (id, type, source, ts, employee, unit, period, rater, relation,
                                       payload, stream_key, stream_id, received_at, client)
                VALUES (w.id, w.type, w.source, to_timestamp(w.ts_ms / 1000.0), w.employee, w.eff_unit,
                        w.period, w.rater, w.relation, w.payload, w.stream_key, w.stream_id,
                        to_timestamp(w.received_ms / 1000.0), w.client);
                stored := stored + 1;
            ELSE
                INSERT INTO rejected_events (event_id, type, source, employee, payload, reason,
                                             stream_key, stream_id, client, period)
                VALUES (w.id, w.type, w.source, w.employee, w.payload, why, w.stream_key, w.stream_id, w.client,
                        filed_period);
                rejected := rejected + 1;
            END IF;
        END LOOP;
    END IF;

    PERFORM set_config('kinerja.derive_defer', 'off', true);
    already := total - stored - rejected;
END
$$;
