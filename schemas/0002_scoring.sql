-- 0002_scoring: what scoring reads and writes (SPEC 5, 6, 7).
--
-- Derived tables are functions of event_log alone (SPEC 7: the immutable log is the
-- truth; these are rebuilt by kinerja_rebuild() for a recalculation):
--   ratings       the latest evaluation per (period, employee, rater, relation)
--   work_results  the latest work_result per (period, employee, indicator)
--   feedback      every citizen_feedback event (raw presses kept; `repeat` flags the
--                 presses the kiosk-misuse step does not count)
-- "Latest" is by the event's ts, ties broken by event id, so the incremental path
-- (the trigger below, per ingest batch) and a rebuild pick the same row whatever
-- order events arrived in.
--
-- Incremental path: an AFTER INSERT statement trigger on event_log derives the new
-- rows in the same transaction as the ingest batch and bumps the period's generation
-- in score_periods. The score worker recomputes a period whose generation is ahead of
-- the one it last computed, and writes a score version only for results whose output
-- changed (results.digest). Results that are approved, appealed or final are frozen:
-- events for them are stored, counted as late (late_events) and change nothing until
-- the supervisor returns the result (SPEC 6).

-- The states of a result (employee, period). Transitions are enforced in one place
-- (the workflow migration); scoring only reads the state.
CREATE TYPE result_state AS ENUM (
    'collecting',       -- ratings and work results still arriving
    'pending_signoff',  -- waiting for the pejabat penilai (supervisor) to sign
    'approved',         -- signed; the appeal window runs
    'returned',         -- sent back by the supervisor; collecting again
    'appealed',         -- the employee filed a keberatan; the supervisor's supervisor decides
    'final'             -- closed: appeal decided or window over
);

CREATE TABLE ratings (
    period      text NOT NULL,
    employee    text NOT NULL,
    rater       text NOT NULL,
    relation    text NOT NULL CHECK (relation IN ('supervisor', 'peer', 'subordinate', 'self')),
    -- the seven BerAKHLAK values in the order of event_behaviour_keys (common/event.h):
    -- berorientasi_pelayanan, akuntabel, kompeten, harmonis, loyal, adaptif,
    -- kolaboratif; 0 = not rated
    vals        smallint[] NOT NULL CHECK (cardinality(vals) = 7),
    hasil_kerja text CHECK (hasil_kerja IN ('above', 'meets', 'below')),
    comment     text,
    unit        text,
    ts          timestamptz NOT NULL,
    event_id    uuid NOT NULL,
    PRIMARY KEY (period, employee, rater, relation)
);

CREATE TABLE work_results (
    period      text NOT NULL,
    employee    text NOT NULL,
    indicator   text NOT NULL,
    target      double precision NOT NULL CHECK (target > 0),
    realization double precision NOT NULL CHECK (realization >= 0),
    direction   text NOT NULL CHECK (direction IN ('higher_better', 'lower_better')),
    weight      double precision NOT NULL CHECK (weight > 0),
    evidence    text,
    unit        text,
    ts          timestamptz NOT NULL,
    event_id    uuid NOT NULL,
    PRIMARY KEY (period, employee, indicator)
);

CREATE TABLE feedback (
    event_id   uuid PRIMARY KEY,
    period     text NOT NULL,
    unit       text NOT NULL,
    employee   text,
    source     text NOT NULL,
    ts_ms      bigint NOT NULL,
    respondent text NOT NULL,
    rating     smallint CHECK (rating BETWEEN 1 AND 4),
    skm        smallint[] CHECK (skm IS NULL OR cardinality(skm) = 9),
    comment    text,
    repeat     boolean NOT NULL DEFAULT false,
    CHECK ((rating IS NULL) <> (skm IS NULL))
);
CREATE INDEX feedback_period_unit_idx ON feedback (period, unit);
CREATE INDEX ratings_event_idx ON ratings (event_id);
CREATE INDEX work_results_event_idx ON work_results (event_id);
CREATE INDEX feedback_period_employee_idx ON feedback (period, employee);

-- A rating from its text in a jsonb payload: '1'..'5' (or '1'..'4' for citizens), else
-- 0 (behaviour: not rated) or NULL (citizens). The broker has validated every event
-- already; this keeps a malformed payload (a bug, a hand-made row) from failing the
-- ingest transaction: such a value counts as missing and the event stays in the log.
-- A CASE on the text is much cheaper than casting with checks (3 million ratings are
-- derived in a full recalculation).
CREATE FUNCTION kinerja_value5(t text) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$
    SELECT (CASE t WHEN '1' THEN 1 WHEN '2' THEN 2 WHEN '3' THEN 3 WHEN '4' THEN 4 WHEN '5' THEN 5 ELSE 0 END)::smallint
$$;

CREATE FUNCTION kinerja_value4(t text) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$
    SELECT (CASE t WHEN '1' THEN 1 WHEN '2' THEN 2 WHEN '3' THEN 3 WHEN '4' THEN 4 END)::smallint
$$;

-- The object at j, or NULL when j is anything else (jsonb_to_record refuses non-objects).
CREATE FUNCTION kinerja_jsonb_object(j jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(j) = 'object' THEN j END
$$;

CREATE FUNCTION kinerja_jsonb_num(j jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(j) = 'number' THEN j::text::double precision END
$$;

-- A derived row is a function of the one event it came from: it is replaced whole by
-- another event's row (the incremental upsert changes event_id with the content) or
-- deleted, never edited in place. kinerja_rebuild() relies on that to check a period by
-- event ids alone, so it is enforced here; the score worker's kiosk flag (feedback.repeat)
-- is the one column that may change on its own.
CREATE FUNCTION derived_refuse_edit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: a derived row changes only with its event (event_id %)', TG_TABLE_NAME, OLD.event_id
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER ratings_whole_rows BEFORE UPDATE ON ratings
    FOR EACH ROW WHEN (NEW.event_id = OLD.event_id) EXECUTE FUNCTION derived_refuse_edit();
CREATE TRIGGER work_results_whole_rows BEFORE UPDATE ON work_results
    FOR EACH ROW WHEN (NEW.event_id = OLD.event_id) EXECUTE FUNCTION derived_refuse_edit();
CREATE TRIGGER feedback_whole_rows BEFORE UPDATE ON feedback
    FOR EACH ROW WHEN (NEW.event_id <> OLD.event_id OR (to_jsonb(NEW) - 'repeat') <> (to_jsonb(OLD) - 'repeat'))
    EXECUTE FUNCTION derived_refuse_edit();

-- What the derivation reads from the log: one view per derived table, shared by the
-- trigger and kinerja_rebuild() so both extract the same columns the same way.
CREATE VIEW event_ratings AS
SELECT e.id AS event_id, e.period, e.employee, e.rater, e.relation, e.unit, e.ts,
       ARRAY[kinerja_value5(b.berorientasi_pelayanan), kinerja_value5(b.akuntabel), kinerja_value5(b.kompeten),
             kinerja_value5(b.harmonis), kinerja_value5(b.loyal), kinerja_value5(b.adaptif),
             kinerja_value5(b.kolaboratif)] AS vals,
       CASE WHEN e.payload ->> 'hasil_kerja' IN ('above', 'meets', 'below') THEN e.payload ->> 'hasil_kerja' END
           AS hasil_kerja,
       e.payload ->> 'comment' AS comment
FROM event_log e
LEFT JOIN LATERAL jsonb_to_record(kinerja_jsonb_object(e.payload -> 'behaviour'))
    AS b(berorientasi_pelayanan text, akuntabel text, kompeten text, harmonis text, loyal text, adaptif text,
         kolaboratif text) ON true
WHERE e.type = 'evaluation';

CREATE VIEW event_work_results AS
SELECT e.id AS event_id, e.period, e.employee, e.unit, e.ts,
       e.payload ->> 'indicator' AS indicator,
       kinerja_jsonb_num(e.payload -> 'target') AS target,
       kinerja_jsonb_num(e.payload -> 'realization') AS realization,
       coalesce(e.payload ->> 'direction', 'higher_better') AS direction,
       coalesce(kinerja_jsonb_num(e.payload -> 'weight'), 1) AS weight,
       e.payload ->> 'evidence' AS evidence
FROM event_log e
WHERE e.type = 'work_result';

CREATE VIEW event_feedback AS
SELECT e.id AS event_id, e.period, e.unit, e.employee, e.source,
       (extract(epoch FROM e.ts) * 1000)::bigint AS ts_ms,
       coalesce(e.payload ->> 'respondent', 'citizen') AS respondent,
       kinerja_value4(e.payload ->> 'rating') AS rating,
       CASE WHEN e.payload ? 'skm' THEN
           ARRAY[kinerja_value4(q.u1), kinerja_value4(q.u2), kinerja_value4(q.u3), kinerja_value4(q.u4),
                 kinerja_value4(q.u5), kinerja_value4(q.u6), kinerja_value4(q.u7), kinerja_value4(q.u8),
                 kinerja_value4(q.u9)]
       END AS skm,
       e.payload ->> 'comment' AS comment
FROM event_log e
LEFT JOIN LATERAL jsonb_to_record(kinerja_jsonb_object(e.payload -> 'skm'))
    AS q(u1 text, u2 text, u3 text, u4 text, u5 text, u6 text, u7 text, u8 text, u9 text) ON true
WHERE e.type = 'citizen_feedback';

-- Results and their versions ----------------------------------------------------------

CREATE TABLE results (
    employee    text NOT NULL,
    period      text NOT NULL,
    state       result_state NOT NULL DEFAULT 'collecting',
    version     int NOT NULL DEFAULT 0,      -- the current score version; 0 = none yet
    predikat    text,
    score       numeric(6, 2),
    digest      text,                        -- hash of the current version's result JSON
    calibration boolean NOT NULL DEFAULT false,
    late_events int NOT NULL DEFAULT 0,      -- events that arrived while frozen
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (employee, period)
);
CREATE INDEX results_period_state_idx ON results (period, state);

-- One row per recomputation that changed anything (SPEC 5.7): a supervisor signs a
-- specific version; an appeal sees exactly how the result came about.
CREATE TABLE score_versions (
    employee    text NOT NULL,
    period      text NOT NULL,
    version     int NOT NULL CHECK (version >= 1),
    predikat    text,
    score       numeric(6, 2),
    result      jsonb NOT NULL,              -- predikat, score, hasil_kerja, perilaku, ikm,
                                             -- satisfaction, training, breakdown
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (employee, period, version)
);

CREATE FUNCTION score_versions_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'score_versions is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER score_versions_immutable
    BEFORE UPDATE OR DELETE ON score_versions
    FOR EACH ROW EXECUTE FUNCTION score_versions_refuse_change();

-- Per unit and period: IKM and smiley satisfaction, written by the score worker.
CREATE TABLE unit_scores (
    period        text NOT NULL,
    unit          text NOT NULL,
    ikm           numeric(6, 2),
    mutu          text,
    skm_n         int NOT NULL DEFAULT 0,
    element_means double precision[],
    satisfaction  numeric(6, 4),
    presses       int NOT NULL DEFAULT 0,
    repeats       int NOT NULL DEFAULT 0,
    counted       int NOT NULL DEFAULT 0,
    computed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period, unit)
);

-- Events that arrived for a frozen result (approved, appealed, final).
CREATE TABLE late_events (
    event_id   uuid PRIMARY KEY,
    employee   text NOT NULL,
    period     text NOT NULL,
    state      result_state NOT NULL,
    arrived_at timestamptz NOT NULL DEFAULT now()
);

-- The score worker's work list. generation goes up with every change to a period's
-- inputs; the worker computes a period whose generation is ahead of computed_generation
-- (under an advisory lock, so two workers never compute one period at once).
CREATE TABLE score_periods (
    period              text PRIMARY KEY,
    generation          bigint NOT NULL DEFAULT 1,
    computed_generation bigint NOT NULL DEFAULT 0,
    changed_at          timestamptz NOT NULL DEFAULT now(),
    computed_at         timestamptz
);

-- recalc events (SPEC 5, `kinerja recalc`): rebuild the derived tables of a scope from
-- the log, then recompute. Picked up by the score worker.
CREATE TABLE recalc_requests (
    event_id     uuid PRIMARY KEY,
    period       text,
    unit         text,
    employee     text,
    requested_at timestamptz NOT NULL DEFAULT now(),
    done_at      timestamptz
);
CREATE INDEX recalc_requests_open_idx ON recalc_requests (requested_at) WHERE done_at IS NULL;

-- Derivation ------------------------------------------------------------------------------

-- Upserts the derived rows of the events listed in the temp table _derive_ids (the
-- caller fills it), keeping the latest per key by (ts, event_id).
CREATE FUNCTION kinerja_derive_listed() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ratings AS r (period, employee, rater, relation, vals, hasil_kerja, comment, unit, ts, event_id)
    SELECT DISTINCT ON (period, employee, rater, relation)
           period, employee, rater, relation, vals, hasil_kerja, comment, unit, ts, event_id
    FROM event_ratings
    WHERE event_id IN (SELECT id FROM _derive_ids)
      AND period IS NOT NULL AND employee IS NOT NULL AND rater IS NOT NULL
      AND relation IN ('supervisor', 'peer', 'subordinate', 'self')
    ORDER BY period, employee, rater, relation, ts DESC, event_id DESC
    ON CONFLICT (period, employee, rater, relation) DO UPDATE
        SET vals = excluded.vals, hasil_kerja = excluded.hasil_kerja, comment = excluded.comment,
            unit = excluded.unit, ts = excluded.ts, event_id = excluded.event_id
        WHERE (excluded.ts, excluded.event_id) > (r.ts, r.event_id);

    INSERT INTO work_results AS w (period, employee, indicator, target, realization, direction, weight,
                                   evidence, unit, ts, event_id)
    SELECT DISTINCT ON (period, employee, indicator)
           period, employee, indicator, target, realization, direction, weight, evidence, unit, ts, event_id
    FROM event_work_results
    WHERE event_id IN (SELECT id FROM _derive_ids)
      AND period IS NOT NULL AND employee IS NOT NULL AND indicator IS NOT NULL
      AND target > 0 AND realization >= 0 AND weight > 0
      AND direction IN ('higher_better', 'lower_better')
    ORDER BY period, employee, indicator, ts DESC, event_id DESC
    ON CONFLICT (period, employee, indicator) DO UPDATE
        SET target = excluded.target, realization = excluded.realization, direction = excluded.direction,
            weight = excluded.weight, evidence = excluded.evidence, unit = excluded.unit,
            ts = excluded.ts, event_id = excluded.event_id
        WHERE (excluded.ts, excluded.event_id) > (w.ts, w.event_id);

    INSERT INTO feedback (event_id, period, unit, employee, source, ts_ms, respondent, rating, skm, comment)
    SELECT event_id, period, unit, employee, source, ts_ms, respondent, rating, skm, comment
    FROM event_feedback
    WHERE event_id IN (SELECT id FROM _derive_ids)
      AND period IS NOT NULL AND unit IS NOT NULL
      AND ((rating IS NOT NULL AND skm IS NULL)
           OR (rating IS NULL AND skm IS NOT NULL AND array_position(skm, NULL) IS NULL))
    ON CONFLICT (event_id) DO NOTHING;
END
$$;

CREATE FUNCTION kinerja_derive_ids_table() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp._derive_ids') IS NULL THEN
        CREATE TEMP TABLE _derive_ids (id uuid PRIMARY KEY) ON COMMIT DELETE ROWS;
    ELSE
        DELETE FROM _derive_ids;
    END IF;
END
$$;

-- The incremental path: runs once per ingest batch, in its transaction.
CREATE FUNCTION event_log_derive() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kinerja_derive_ids_table();
    INSERT INTO _derive_ids
    SELECT id FROM new_events WHERE type IN ('evaluation', 'work_result', 'citizen_feedback');
    PERFORM kinerja_derive_listed();

    -- events for frozen results are kept, counted as late, and change nothing visible
    INSERT INTO late_events (event_id, employee, period, state)
    SELECT n.id, n.employee, n.period, r.state
    FROM new_events n
    JOIN results r ON r.employee = n.employee AND r.period = n.period
    WHERE n.type IN ('evaluation', 'work_result', 'citizen_feedback')
      AND r.state IN ('approved', 'appealed', 'final')
    ON CONFLICT (event_id) DO NOTHING;
    UPDATE results r SET late_events = r.late_events + l.n
    FROM (SELECT n.employee, n.period, count(*) AS n
          FROM new_events n
          WHERE n.type IN ('evaluation', 'work_result', 'citizen_feedback')
          GROUP BY 1, 2) l
    WHERE r.employee = l.employee AND r.period = l.period
      AND r.state IN ('approved', 'appealed', 'final');

    -- periods whose inputs changed
    INSERT INTO score_periods AS p (period)
    SELECT DISTINCT period FROM new_events
    WHERE type IN ('evaluation', 'work_result', 'citizen_feedback') AND period IS NOT NULL
    ORDER BY 1
    ON CONFLICT (period) DO UPDATE SET generation = p.generation + 1, changed_at = now();

    INSERT INTO recalc_requests (event_id, period, unit, employee)
    SELECT id, period, unit, employee FROM new_events WHERE type = 'recalc'
    ON CONFLICT (event_id) DO NOTHING;

    -- wake the score workers (delivered at commit, once per transaction)
    IF EXISTS (SELECT 1 FROM new_events
               WHERE type IN ('evaluation', 'work_result', 'citizen_feedback', 'recalc')) THEN
        PERFORM pg_notify('kinerja_score', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER event_log_derive
    AFTER INSERT ON event_log
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION event_log_derive();

-- The recalculation: brings the derived rows of a scope (any of period, unit, employee
-- may be NULL = all) back to what the log says, set-based, and marks the periods for
-- recomputation. Returns the periods touched.
--
-- A derived row is a function of the one event it came from (the log is immutable), so
-- the rebuild works on event ids: which event is the latest per key is decided from the
-- log's own columns (no payload parsing), rows whose event is no longer the latest are
-- deleted, and only the missing rows are derived from their payloads. On a consistent
-- period (the usual case) that writes nothing, and 3 million ratings are checked in a
-- few seconds; on an empty one it derives everything. The same views and the same
-- "latest by (ts, event id)" rule as the trigger, so both paths derive the same rows.
CREATE FUNCTION kinerja_rebuild(p_period text, p_unit text, p_employee text)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
    SET LOCAL work_mem = '256MB';
    IF to_regclass('pg_temp._rebuild_latest') IS NULL THEN
        CREATE TEMP TABLE _rebuild_latest (id uuid PRIMARY KEY) ON COMMIT DELETE ROWS;
    ELSE
        DELETE FROM _rebuild_latest;
    END IF;

    -- ratings: the latest evaluation per key
    INSERT INTO _rebuild_latest
    SELECT DISTINCT ON (period, employee, rater, relation) id
    FROM event_log
    WHERE type = 'evaluation'
      AND (p_period IS NULL OR period = p_period) AND (p_unit IS NULL OR unit = p_unit)
      AND (p_employee IS NULL OR employee = p_employee)
      AND period IS NOT NULL AND employee IS NOT NULL AND rater IS NOT NULL
      AND relation IN ('supervisor', 'peer', 'subordinate', 'self')
    ORDER BY period, employee, rater, relation, ts DESC, id DESC;
    ANALYZE _rebuild_latest;
    DELETE FROM ratings r
    WHERE (p_period IS NULL OR r.period = p_period) AND (p_unit IS NULL OR r.unit = p_unit)
      AND (p_employee IS NULL OR r.employee = p_employee)
      AND NOT EXISTS (SELECT 1 FROM _rebuild_latest l WHERE l.id = r.event_id);
    INSERT INTO ratings (period, employee, rater, relation, vals, hasil_kerja, comment, unit, ts, event_id)
    SELECT v.period, v.employee, v.rater, v.relation, v.vals, v.hasil_kerja, v.comment, v.unit, v.ts, v.event_id
    FROM event_ratings v
    WHERE v.event_id IN (SELECT l.id FROM _rebuild_latest l
                         WHERE NOT EXISTS (SELECT 1 FROM ratings r WHERE r.event_id = l.id));

    -- work results: validity needs the payload; there are few of them
    DELETE FROM _rebuild_latest;
    INSERT INTO _rebuild_latest
    SELECT DISTINCT ON (period, employee, indicator) event_id
    FROM event_work_results
    WHERE (p_period IS NULL OR period = p_period) AND (p_unit IS NULL OR unit = p_unit)
      AND (p_employee IS NULL OR employee = p_employee)
      AND period IS NOT NULL AND employee IS NOT NULL AND indicator IS NOT NULL
      AND target > 0 AND realization >= 0 AND weight > 0
      AND direction IN ('higher_better', 'lower_better')
    ORDER BY period, employee, indicator, ts DESC, event_id DESC;
    DELETE FROM work_results w
    WHERE (p_period IS NULL OR w.period = p_period) AND (p_unit IS NULL OR w.unit = p_unit)
      AND (p_employee IS NULL OR w.employee = p_employee)
      AND NOT EXISTS (SELECT 1 FROM _rebuild_latest l WHERE l.id = w.event_id);
    INSERT INTO work_results (period, employee, indicator, target, realization, direction, weight,
                              evidence, unit, ts, event_id)
    SELECT v.period, v.employee, v.indicator, v.target, v.realization, v.direction, v.weight, v.evidence,
           v.unit, v.ts, v.event_id
    FROM event_work_results v
    WHERE v.event_id IN (SELECT l.id FROM _rebuild_latest l
                         WHERE NOT EXISTS (SELECT 1 FROM work_results w WHERE w.event_id = l.id));

    -- citizen feedback: every valid event, one row each
    DELETE FROM feedback f
    WHERE (p_period IS NULL OR f.period = p_period) AND (p_unit IS NULL OR f.unit = p_unit)
      AND (p_employee IS NULL OR f.employee = p_employee)
      AND NOT EXISTS (SELECT 1 FROM event_log e WHERE e.id = f.event_id);
    INSERT INTO feedback (event_id, period, unit, employee, source, ts_ms, respondent, rating, skm, comment)
    SELECT v.event_id, v.period, v.unit, v.employee, v.source, v.ts_ms, v.respondent, v.rating, v.skm, v.comment
    FROM event_feedback v
    WHERE (p_period IS NULL OR v.period = p_period) AND (p_unit IS NULL OR v.unit = p_unit)
      AND (p_employee IS NULL OR v.employee = p_employee)
      AND v.period IS NOT NULL AND v.unit IS NOT NULL
      AND ((v.rating IS NOT NULL AND v.skm IS NULL)
           OR (v.rating IS NULL AND v.skm IS NOT NULL AND array_position(v.skm, NULL) IS NULL))
      AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.event_id = v.event_id);

    RETURN QUERY
    INSERT INTO score_periods AS p (period)
    SELECT DISTINCT period FROM event_log
    WHERE type IN ('evaluation', 'work_result', 'citizen_feedback') AND period IS NOT NULL
      AND (p_period IS NULL OR period = p_period) AND (p_unit IS NULL OR unit = p_unit)
      AND (p_employee IS NULL OR employee = p_employee)
    ORDER BY 1
    ON CONFLICT (period) DO UPDATE SET generation = p.generation + 1, changed_at = now()
    RETURNING p.period;
END
$$;

-- Called by the score worker in the transaction that stored a period's new versions,
-- after they are stored: the place where the workflow (a later migration) moves results
-- on (collecting -> pending_signoff) and queues notifications. A no-op here.
CREATE FUNCTION kinerja_after_score(p_period text) RETURNS void
LANGUAGE sql AS $$ SELECT $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON ratings, work_results, feedback, results, unit_scores,
    late_events, score_periods, recalc_requests TO kinerja_app;
GRANT SELECT, INSERT ON score_versions TO kinerja_app;
GRANT SELECT ON event_ratings, event_work_results, event_feedback TO kinerja_app;
