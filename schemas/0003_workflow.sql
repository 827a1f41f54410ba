-- 0003_workflow: sign-off, appeal and notifications (SPEC 6).
--
-- The life of a result (employee, period), states from 0002's result_state:
--
--   collecting --(supervisor evaluation + a work result in, or the period closes)--> pending_signoff
--   pending_signoff --(signoff approve)--> approved --(appeal, within workflow.appeal_days)--> appealed
--   pending_signoff --(signoff return)--> returned --(at once)--> collecting (a new version follows)
--   approved --(appeal window over, the scheduler)--> final
--   appealed --(appeal_decision uphold | revise)--> final
--
-- Enforced in one place: result_transitions lists the allowed pairs and the trigger
-- results_transition refuses any other change of results.state, whoever makes it (the
-- ingest step, the score worker, the scheduler, an operator's SQL), and writes one
-- result_audit row per transition. Who made it comes from the UPDATE itself (the
-- columns transition_actor / transition_note / transition_event_id, which the trigger
-- records and clears, so they are NULL at rest and one statement can move many results
-- for different actors) or, when the UPDATE does not set them, from the transaction's
-- settings kinerja.actor / kinerja.note / kinerja.event_id (set_config(..., true)), else
-- the database user.
--
-- A new score version while pending_signoff: the result stays pending_signoff (the
-- supervisor still has to sign, and pending_since keeps counting for reminders), and a
-- new signoff_requested names the new version (its highlights carry replaces_version).
-- The older version is stale from then on: a signoff naming it is rejected at ingest
-- ("version: stale version 2, current is 3"). results.signoff_version is the version
-- the latest signoff_requested named, which is how kinerja_after_score() sees the change.
--
-- Where each step happens:
--   kinerja_after_score(period)   score worker, in its write transaction: collecting ->
--                                 pending_signoff, signoff_requested (set-based)
--   kinerja_ingest_staged(tz)     ingest worker: refuses a workflow event the result's
--                                 state does not allow (into rejected_events, with why)
--   event_log_workflow            trigger on event_log: applies the accepted signoff,
--                                 appeal and appeal_decision events, queues notifications
--   kinerja_close_period(period), kinerja_finalize_due(), kinerja_queue_reminders(days)
--                                 for the scheduler (period close, end of the appeal
--                                 window, sign-off reminders)
-- Every notification is a row of `notifications`, written in the transaction that made
-- the change (the transactional outbox); the notify worker delivers them.

-- Transitions and their audit -------------------------------------------------------------

-- SPEC 6's allowed transitions; the trigger below refuses any other state change.
CREATE TABLE result_transitions (
    from_state result_state,
    to_state   result_state,
    PRIMARY KEY (from_state, to_state)
);
INSERT INTO result_transitions (from_state, to_state) VALUES
    ('collecting', 'pending_signoff'),
    ('pending_signoff', 'approved'),
    ('pending_signoff', 'returned'),
    ('returned', 'collecting'),
    ('approved', 'appealed'),
    ('approved', 'final'),
    ('appealed', 'final');

-- One row per transition: who, when, from, to, which version, the note. A row with
-- from_state NULL records the creation of the result (by the score worker).
CREATE TABLE result_audit (
    id         bigserial PRIMARY KEY,
    employee   text NOT NULL,
    period     text NOT NULL,
    from_state result_state,
    to_state   result_state NOT NULL,
    version    int,
    actor      text,
    note       text,
    event_id   uuid,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX result_audit_result_idx ON result_audit (employee, period, id);

ALTER TABLE results
    ADD COLUMN pending_since timestamptz,       -- when it entered pending_signoff
    ADD COLUMN approved_at timestamptz,
    ADD COLUMN appeal_deadline timestamptz,     -- approved_at + workflow.appeal_days
    ADD COLUMN reminded_at timestamptz,         -- the last signoff_reminder
    ADD COLUMN revised_predikat text,           -- set by an appeal_decision revise
    ADD COLUMN signoff_version int,             -- the version the last signoff_requested named
    -- Transient: set them in the UPDATE that changes state; results_transition records
    -- them in result_audit and clears them.
    ADD COLUMN transition_actor text,
    ADD COLUMN transition_note text,
    ADD COLUMN transition_event_id uuid;
CREATE INDEX results_pending_idx ON results (pending_since) WHERE state = 'pending_signoff';
CREATE INDEX results_appeal_deadline_idx ON results (appeal_deadline) WHERE state = 'approved';

-- Who acts when an UPDATE does not say: the transaction's kinerja.actor, else the user.
CREATE FUNCTION kinerja_actor() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('kinerja.actor', true), ''), session_user::text)
$$;

CREATE FUNCTION results_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state THEN
        IF NOT EXISTS (SELECT 1 FROM result_transitions t
                       WHERE t.from_state = OLD.state AND t.to_state = NEW.state) THEN
            RAISE EXCEPTION 'result of % for %: % -> % is not an allowed transition',
                    OLD.employee, OLD.period, OLD.state, NEW.state
                USING ERRCODE = 'check_violation',
                      HINT = 'allowed: collecting -> pending_signoff -> approved | returned; '
                             'returned -> collecting; approved -> appealed | final; appealed -> final '
                             '(table result_transitions)';
        END IF;
        INSERT INTO result_audit (employee, period, from_state, to_state, version, actor, note, event_id)
        VALUES (NEW.employee, NEW.period, OLD.state, NEW.state, NEW.version,
                coalesce(NEW.transition_actor, kinerja_actor()),
                coalesce(NEW.transition_note, nullif(current_setting('kinerja.note', true), '')),
                coalesce(NEW.transition_event_id,
                         nullif(current_setting('kinerja.event_id', true), '')::uuid));
    END IF;
    NEW.transition_actor := NULL;
    NEW.transition_note := NULL;
    NEW.transition_event_id := NULL;
    RETURN NEW;
END
$$;

CREATE TRIGGER results_transition
    BEFORE UPDATE OF state, transition_actor, transition_note, transition_event_id ON results
    FOR EACH ROW EXECUTE FUNCTION results_transition();

-- Creation is recorded too (from_state NULL), set-based: the score worker inserts a
-- period's results in one statement.
CREATE FUNCTION results_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO result_audit (employee, period, from_state, to_state, version, actor, note)
    SELECT n.employee, n.period, NULL, n.state, n.version, coalesce(n.transition_actor, kinerja_actor()),
           coalesce(n.transition_note, 'result created')
    FROM new_results n;
    IF EXISTS (SELECT 1 FROM new_results n
               WHERE n.transition_actor IS NOT NULL OR n.transition_note IS NOT NULL
                  OR n.transition_event_id IS NOT NULL) THEN
        UPDATE results r SET transition_actor = NULL, transition_note = NULL, transition_event_id = NULL
        FROM new_results n
        WHERE r.employee = n.employee AND r.period = n.period
          AND (n.transition_actor IS NOT NULL OR n.transition_note IS NOT NULL
               OR n.transition_event_id IS NOT NULL);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER results_created
    AFTER INSERT ON results
    REFERENCING NEW TABLE AS new_results
    FOR EACH STATEMENT EXECUTE FUNCTION results_created();

-- Notifications: the transactional outbox and the inbox ----------------------------------

-- One row per notification per recipient, written in the transaction that made the
-- change. Payloads (JSON, what the receiver needs):
--   signoff_requested, signoff_reminder (to the supervisor): employee, name, unit,
--       period, version, predikat, score, calibration, highlights {calibration,
--       calibration_values, late_events, groups_hidden, hasil_kerja, perilaku,
--       replaces_version}, training (the version's recommendations), pending_since
--   result_approved (to the employee): employee, period, version, predikat, score,
--       supervisor, note, approved_at, appeal_deadline
--   result_returned (to the employee): employee, period, version, supervisor, note
--   appeal_filed (to the supervisor's supervisor): employee, name, unit, period,
--       version, predikat, score, supervisor, reason, calibration, highlights, approved_at
--   appeal_decided (to the employee and to the supervisor): employee, period, version,
--       decision, decider, note, predikat (the final one), original_predikat,
--       revised_predikat
CREATE TABLE notifications (
    id              uuid PRIMARY KEY,        -- unique id receivers dedupe on (gen_random_uuid())
    kind            text NOT NULL CHECK (kind IN ('signoff_requested', 'signoff_reminder', 'result_approved',
                        'result_returned', 'appeal_filed', 'appeal_decided')),
    recipient       text NOT NULL,           -- NIP; the ZeroMQ PUB topic
    employee        text NOT NULL,
    period          text NOT NULL,
    version         int,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'dead')),
    published_at    timestamptz,             -- ZeroMQ PUB done
    attempts        int NOT NULL DEFAULT 0,  -- webhook attempts
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,             -- webhook 2xx (or no webhook configured)
    last_error      text
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status = 'queued';
CREATE INDEX notifications_recipient_idx ON notifications (recipient, created_at);

-- Settings from config the SQL side needs -----------------------------------------------

-- Published by the workers at start (kinerja_publish_setting): workflow.appeal_days,
-- workflow.reminder_days, schedule.period_close_grace_days. Read with a default.
CREATE TABLE kinerja_settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION kinerja_publish_setting(p_key text, p_value text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO kinerja_settings AS s (key, value) VALUES (p_key, p_value)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
        WHERE s.value IS DISTINCT FROM excluded.value
$$;

CREATE FUNCTION kinerja_setting(p_key text, p_default text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT value FROM kinerja_settings WHERE key = p_key), p_default)
$$;

-- A whole number of days (0..3650) from the settings; the default when absent or not
-- such a number (a bad value must never make an ingest batch fail).
CREATE FUNCTION kinerja_setting_days(p_key text, p_default int) RETURNS int
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN v ~ '^\s*[0-9]{1,4}\s*$' AND trim(v)::int <= 3650 THEN trim(v)::int ELSE p_default END
    FROM (SELECT kinerja_setting(p_key, NULL) AS v) s
$$;

-- Sign-off requests --------------------------------------------------------------------

-- The highlights a supervisor sees with a sign-off request: the calibration flag and
-- which values it concerns, events that arrived while frozen, rater groups hidden by
-- anonymity, the two ratings, and the version this request replaces (if any).
CREATE FUNCTION kinerja_signoff_highlights(p_result jsonb, p_calibration boolean, p_late int,
                                           p_replaces int) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'calibration', p_calibration,
        'calibration_values', coalesce((SELECT jsonb_agg(k ORDER BY k)
                                        FROM jsonb_each(p_result #> '{breakdown,values}') AS v(k, d)
                                        WHERE jsonb_typeof(v.d) = 'object' AND v.d ->> 'calibration' = 'true'),
                                       '[]'::jsonb),
        'late_events', p_late,
        'groups_hidden', coalesce((SELECT jsonb_agg(k ORDER BY k)
                                   FROM jsonb_each(p_result #> '{perilaku,groups}') AS g(k, d)
                                   WHERE jsonb_typeof(g.d) = 'object' AND g.d ->> 'shown' = 'false'),
                                  '[]'::jsonb),
        'hasil_kerja', p_result #>> '{hasil_kerja,rating}',
        'perilaku', p_result #>> '{perilaku,rating}',
        'replaces_version', p_replaces)
$$;

-- Moves the period's collecting results that have a score version to pending_signoff
-- (with p_require_inputs: only those whose supervisor evaluation and at least one work
-- result are in, and whose current version has a numeric score), and sends a new signoff_requested for pending results whose version
-- changed since the last request. One signoff_requested per result moved or renewed,
-- to the employee's supervisor (none when the employee has no supervisor). A result
-- whose digest is NULL (returned, waiting for its new version) is left alone.
-- Set-based. Returns how many requests were queued.
CREATE FUNCTION kinerja_request_signoff(p_period text, p_require_inputs boolean, p_actor text, p_note text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    queued bigint;
BEGIN
    WITH moved AS (
        UPDATE results r
        SET state = 'pending_signoff', pending_since = now(), reminded_at = NULL,
            signoff_version = r.version, transition_actor = p_actor, transition_note = p_note
        WHERE r.period = p_period AND r.state = 'collecting' AND r.version >= 1 AND r.digest IS NOT NULL
          AND (NOT p_require_inputs
               OR (EXISTS (SELECT 1 FROM ratings g
                           WHERE g.period = p_period AND g.employee = r.employee AND g.relation = 'supervisor')
                   AND EXISTS (SELECT 1 FROM work_results w
                               WHERE w.period = p_period AND w.employee = r.employee)
                   -- and the version itself was computed with them (it has a numeric
                   -- score): inputs stored after the score worker read the period wait
                   -- for the next version rather than being signed without them
                   AND r.score IS NOT NULL))
        RETURNING r.employee, r.version, r.calibration, r.late_events, r.pending_since, NULL::int AS replaces
    ), renewed AS (
        UPDATE results r
        SET signoff_version = r.version
        FROM (SELECT o.employee, o.signoff_version
              FROM results o
              WHERE o.period = p_period AND o.state = 'pending_signoff' AND o.version >= 1
                AND o.signoff_version IS DISTINCT FROM o.version) o
        WHERE r.period = p_period AND r.employee = o.employee
        RETURNING r.employee, r.version, r.calibration, r.late_events, r.pending_since, o.signoff_version
    ), todo AS (
        SELECT * FROM moved UNION ALL SELECT * FROM renewed
    ), ins AS (
        INSERT INTO notifications (id, kind, recipient, employee, period, version, payload)
        SELECT gen_random_uuid(), 'signoff_requested', e.supervisor_nip, t.employee, p_period, t.version,
               jsonb_build_object(
                   'employee', t.employee, 'name', e.name, 'unit', e.unit, 'period', p_period,
                   'version', t.version, 'predikat', v.predikat, 'score', v.score,
                   'calibration', t.calibration,
                   'highlights', kinerja_signoff_highlights(v.result, t.calibration, t.late_events, t.replaces),
                   'training', coalesce(v.result -> 'training', '[]'::jsonb),
                   'pending_since', t.pending_since)
        FROM todo t
        JOIN employees e ON e.nip = t.employee
        LEFT JOIN score_versions v ON v.employee = t.employee AND v.period = p_period AND v.version = t.version
        WHERE e.supervisor_nip IS NOT NULL
        ORDER BY t.employee
        RETURNING 1
    )
    SELECT count(*) INTO queued FROM ins;
    RETURN queued;
END
$$;

-- Called by the score worker in the transaction that stored the period's new versions
-- (0002 left it a no-op): collecting -> pending_signoff once the supervisor's evaluation
-- and a work result are in, and a new request when a pending result got a new version.
CREATE OR REPLACE FUNCTION kinerja_after_score(p_period text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kinerja_request_signoff(p_period, true, 'score-worker',
                                    'the supervisor evaluation and work results are in');
END
$$;

-- For the scheduler --------------------------------------------------------------------

-- Period close (SPEC 6: "or when the period closes"): every result of the period that
-- has a score version and is still collecting goes to pending_signoff. Returns the
-- number of sign-off requests queued.
CREATE FUNCTION kinerja_close_period(p_period text) RETURNS bigint
LANGUAGE sql AS $$
    SELECT kinerja_request_signoff(p_period, false, 'scheduler', 'the period closed')
$$;

-- approved -> final for every result whose appeal window has ended. Returns how many.
CREATE FUNCTION kinerja_finalize_due() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    UPDATE results
    SET state = 'final', transition_actor = 'scheduler', transition_note = 'the appeal window closed'
    WHERE state = 'approved' AND appeal_deadline <= now();
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- A signoff_reminder to the supervisor for each result pending longer than p_days
-- whose last reminder (if any) is also older than p_days; marks reminded_at. Returns
-- how many were queued.
CREATE FUNCTION kinerja_queue_reminders(p_days int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    WITH due AS (
        UPDATE results r SET reminded_at = now()
        WHERE r.state = 'pending_signoff'
          AND r.pending_since <= now() - make_interval(days => p_days)
          -- at most one reminder a day per result, even with workflow.reminder_days = 0
          AND (r.reminded_at IS NULL OR r.reminded_at <= now() - make_interval(days => greatest(p_days, 1)))
          AND EXISTS (SELECT 1 FROM employees e WHERE e.nip = r.employee AND e.supervisor_nip IS NOT NULL)
        RETURNING r.employee, r.period, r.version, r.calibration, r.late_events, r.pending_since
    ), ins AS (
        INSERT INTO notifications (id, kind, recipient, employee, period, version, payload)
        SELECT gen_random_uuid(), 'signoff_reminder', e.supervisor_nip, d.employee, d.period, d.version,
               jsonb_build_object(
                   'employee', d.employee, 'name', e.name, 'unit', e.unit, 'period', d.period,
                   'version', d.version, 'predikat', v.predikat, 'score', v.score,
                   'calibration', d.calibration,
                   'highlights', kinerja_signoff_highlights(v.result, d.calibration, d.late_events, NULL),
                   'training', coalesce(v.result -> 'training', '[]'::jsonb),
                   'pending_since', d.pending_since)
        FROM due d
        JOIN employees e ON e.nip = d.employee
        LEFT JOIN score_versions v ON v.employee = d.employee AND v.period = d.period AND v.version = d.version
        ORDER BY d.period, d.employee
        RETURNING 1
    )
    SELECT count(*) INTO n FROM ins;
    RETURN n;
END
$$;

-- Ingest-side refusals -----------------------------------------------------------------

-- Why the result's state refuses a workflow event (NULL: it does not). The caller holds
-- the result row (FOR UPDATE) and passes its columns; r_state NULL = no result row.
-- An appeal counts by the time the broker received it (received_ms, which the client
-- cannot set), so a backlog at the worker does not close the window on anyone.
CREATE FUNCTION kinerja_workflow_reason(p_type text, p_employee text, p_period text, p_payload jsonb,
                                        p_received_ms bigint, p_supervisor2 text, p_supervisor text,
                                        r_state result_state, r_version int, r_deadline timestamptz,
                                        tz text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v bigint;
BEGIN
    IF p_type = 'signoff' THEN
        IF r_state IS NULL THEN
            RETURN format('signoff: no result of %s for %s to sign yet', p_employee, p_period);
        ELSIF r_state <> 'pending_signoff' THEN
            RETURN format('signoff: result of %s for %s is %s, not pending_signoff', p_employee, p_period, r_state);
        END IF;
        v := CASE WHEN p_payload ->> 'version' ~ '^[0-9]{1,9}$' THEN (p_payload ->> 'version')::bigint END;
        IF v IS NULL THEN
            RETURN format('version: missing or not a version number, current is %s', r_version);
        ELSIF v < r_version THEN
            RETURN format('version: stale version %s, current is %s', v, r_version);
        ELSIF v > r_version THEN
            RETURN format('version: no version %s yet, current is %s', v, r_version);
        END IF;
    ELSIF p_type = 'appeal' THEN
        IF r_state IS NULL THEN
            RETURN format('appeal: no result of %s for %s to appeal', p_employee, p_period);
        ELSIF r_state <> 'approved' THEN
            RETURN format('appeal: result of %s for %s is %s, not approved', p_employee, p_period, r_state);
        ELSIF r_deadline IS NOT NULL
              AND coalesce(to_timestamp(p_received_ms / 1000.0), now()) >= r_deadline THEN
            RETURN format('appeal: the appeal window closed on %s',
                          to_char(r_deadline AT TIME ZONE tz, 'YYYY-MM-DD'));
        ELSIF p_supervisor IS NULL THEN
            RETURN format('appeal: %s has no supervisor, so no one decides appeals', p_employee);
        ELSIF p_supervisor2 IS NULL THEN
            RETURN format('appeal: %s, the supervisor of %s, has no supervisor to decide appeals',
                          p_supervisor, p_employee);
        END IF;
    ELSIF p_type = 'appeal_decision' THEN
        IF r_state IS NULL THEN
            RETURN format('appeal_decision: no result of %s for %s', p_employee, p_period);
        ELSIF r_state <> 'appealed' THEN
            RETURN format('appeal_decision: result of %s for %s is %s, not appealed', p_employee, p_period,
                          r_state);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- The ingest step of 0001, every rule and text kept, plus the workflow's refusals.
-- Rows that pass the organisation checks and are signoff, appeal or appeal_decision are
-- not stored with the rest: they are taken one at a time afterwards, by result and in
-- ts order, each checked against the result as the previous one left it (row locked,
-- so two workers storing events of one result take turns) and stored or rejected on
-- its own. The event_log trigger applies each stored one before the next is checked,
-- so "approve, then appeal" in one batch works, and a second sign-off of the same
-- version in one batch is refused rather than applied twice. A redelivered id already
-- in either table is skipped (counted in `already`).
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
BEGIN
    -- An unknown zone raises here (22023), once, before any row is touched.
    PERFORM now() AT TIME ZONE tz;

    SELECT count(*) INTO total FROM ingest_staging;

    WITH s AS (
        SELECT DISTINCT ON (id) *
        FROM ingest_staging
        ORDER BY id, seq
    ), checked AS (
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
                WHEN s.supervisor IS NOT NULL AND sv.nip IS NULL
                    THEN 'supervisor: unknown NIP ' || s.supervisor
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
                WHEN s.type = 'evaluation' AND s.relation = 'peer'
                     AND (s.rater IS NOT DISTINCT FROM s.employee OR r.unit IS DISTINCT FROM e.unit)
                    THEN 'rater: ' || s.rater || ' is not a peer of ' || s.employee
                         || ' (peers are others in unit ' || e.unit || ')'
                WHEN s.type = 'evaluation' AND s.relation IS NULL
                    THEN 'relation: missing'
                WHEN s.type = 'signoff' AND e.supervisor_nip IS DISTINCT FROM s.supervisor
                    THEN 'supervisor: ' || s.supervisor || ' is not the supervisor of ' || s.employee
                WHEN s.type = 'appeal_decision' AND e.supervisor_nip IS NULL
                    THEN 'decider: ' || s.employee || ' has no supervisor, so no one decides appeals'
                WHEN s.type = 'appeal_decision' AND es.supervisor_nip IS NULL
                    THEN 'decider: ' || e.supervisor_nip || ', the supervisor of ' || s.employee
                         || ', has no supervisor to decide appeals'
                WHEN s.type = 'appeal_decision' AND es.supervisor_nip <> s.decider
                    THEN 'decider: ' || s.decider || ' is not the supervisor of '
                         || e.supervisor_nip || ', the supervisor of ' || s.employee
            END) AS reason,
            s.type IN ('signoff', 'appeal', 'appeal_decision') AS workflow
        FROM s
        LEFT JOIN employees e ON e.nip = s.employee
        LEFT JOIN employees es ON es.nip = e.supervisor_nip
        LEFT JOIN employees r ON r.nip = s.rater
        LEFT JOIN employees sv ON sv.nip = s.supervisor
        LEFT JOIN employees d ON d.nip = s.decider
        LEFT JOIN units u ON u.code = s.unit
    ), ins_log AS (
        INSERT INTO event_log (id, type, source, ts, employee, unit, period, rater, relation,
                               payload, stream_key, stream_id, received_at)
        SELECT c.id, c.type, c.source, to_timestamp(c.ts_ms / 1000.0), c.employee, c.eff_unit,
               c.eff_period, c.rater, c.relation, c.payload, c.stream_key, c.stream_id,
               to_timestamp(c.received_ms / 1000.0)
        FROM checked c
        WHERE c.reason IS NULL AND NOT c.workflow
          AND NOT EXISTS (SELECT 1 FROM rejected_events x WHERE x.event_id = c.id)
        ON CONFLICT (id) DO NOTHING
        RETURNING 1
    ), ins_rej AS (
        INSERT INTO rejected_events (event_id, type, source, employee, payload, reason,
                                     stream_key, stream_id)
        SELECT c.id, c.type, c.source, c.employee, c.payload, c.reason, c.stream_key, c.stream_id
        FROM checked c
        WHERE c.reason IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM event_log x WHERE x.id = c.id)
        ON CONFLICT (event_id) DO NOTHING
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
            CONTINUE WHEN EXISTS (SELECT 1 FROM event_log x WHERE x.id = w.id)
                       OR EXISTS (SELECT 1 FROM rejected_events x WHERE x.event_id = w.id);
            why := kinerja_workflow_reason(w.type, w.employee, w.period, w.payload, w.received_ms, w.sup2,
                                           w.sup, r_state, r_version, r_deadline, tz);
            IF why IS NULL THEN
                INSERT INTO event_log (id, type, source, ts, employee, unit, period, rater, relation,
                                       payload, stream_key, stream_id, received_at)
                VALUES (w.id, w.type, w.source, to_timestamp(w.ts_ms / 1000.0), w.employee, w.eff_unit,
                        w.period, w.rater, w.relation, w.payload, w.stream_key, w.stream_id,
                        to_timestamp(w.received_ms / 1000.0))
                ON CONFLICT (id) DO NOTHING;
                GET DIAGNOSTICS n = ROW_COUNT;
                stored := stored + n;
            ELSE
                INSERT INTO rejected_events (event_id, type, source, employee, payload, reason,
                                             stream_key, stream_id)
                VALUES (w.id, w.type, w.source, w.employee, w.payload, why, w.stream_key, w.stream_id)
                ON CONFLICT (event_id) DO NOTHING;
                GET DIAGNOSTICS n = ROW_COUNT;
                rejected := rejected + n;
            END IF;
        END LOOP;
    END IF;

    already := total - stored - rejected;
END
$$;

-- Applying accepted workflow events ----------------------------------------------------

-- One accepted signoff, appeal or appeal_decision (a row of event_log): the transition
-- and its notifications. The ingest step checked the event against the state just
-- before storing it; the UPDATEs still name the state they leave, so an event that
-- does not fit (it cannot happen through ingest) changes nothing rather than failing
-- the batch.
CREATE FUNCTION kinerja_workflow_apply(ev event_log) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r results%ROWTYPE;
    emp employees%ROWTYPE;
    sup2 text;
    decision text := ev.payload ->> 'decision';
    note text := ev.payload ->> 'note';
    original text;
BEGIN
    SELECT * INTO emp FROM employees WHERE nip = ev.employee;

    IF ev.type = 'signoff' AND decision = 'approve' THEN
        UPDATE results
        SET state = 'approved', approved_at = now(),
            appeal_deadline = now() + make_interval(days => kinerja_setting_days('workflow.appeal_days', 14)),
            updated_at = now(), transition_actor = ev.payload ->> 'supervisor', transition_note = note,
            transition_event_id = ev.id
        WHERE employee = ev.employee AND period = ev.period AND state = 'pending_signoff'
          AND version::text = ev.payload ->> 'version'
        RETURNING * INTO r;
        IF FOUND THEN
            INSERT INTO notifications (id, kind, recipient, employee, period, version, payload)
            VALUES (gen_random_uuid(), 'result_approved', r.employee, r.employee, r.period, r.version,
                    jsonb_build_object('employee', r.employee, 'name', emp.name, 'period', r.period,
                                       'version', r.version, 'predikat', r.predikat, 'score', r.score,
                                       'supervisor', ev.payload ->> 'supervisor', 'note', note,
                                       'approved_at', r.approved_at, 'appeal_deadline', r.appeal_deadline));
        END IF;

    ELSIF ev.type = 'signoff' AND decision = 'return' THEN
        UPDATE results
        SET state = 'returned', updated_at = now(), transition_actor = ev.payload ->> 'supervisor',
            transition_note = note, transition_event_id = ev.id
        WHERE employee = ev.employee AND period = ev.period AND state = 'pending_signoff'
          AND version::text = ev.payload ->> 'version'
        RETURNING * INTO r;
        IF FOUND THEN
            -- straight back to collecting; digest NULL makes the score worker write a new
            -- version on its next computation of the period, which the bump below starts
            UPDATE results
            SET state = 'collecting', digest = NULL, pending_since = NULL, reminded_at = NULL,
                signoff_version = NULL, updated_at = now(), transition_actor = ev.payload ->> 'supervisor',
                transition_note = 'returned: collecting again, a new version follows',
                transition_event_id = ev.id
            WHERE employee = ev.employee AND period = ev.period;
            INSERT INTO score_periods AS p (period) VALUES (ev.period)
            ON CONFLICT (period) DO UPDATE SET generation = p.generation + 1, changed_at = now();
            PERFORM pg_notify('kinerja_score', '');
            INSERT INTO notifications (id, kind, recipient, employee, period, version, payload)
            VALUES (gen_random_uuid(), 'result_returned', r.employee, r.employee, r.period, r.version,
                    jsonb_build_object('employee', r.employee, 'name', emp.name, 'period', r.period,
                                       'version', r.version, 'supervisor', ev.payload ->> 'supervisor',
                                       'note', note));
        END IF;

    ELSIF ev.type = 'appeal' THEN
        UPDATE results
        SET state = 'appealed', updated_at = now(), transition_actor = ev.employee,
            transition_note = ev.payload ->> 'reason', transition_event_id = ev.id
        WHERE employee = ev.employee AND period = ev.period AND state = 'approved'
        RETURNING * INTO r;
        IF FOUND THEN
            SELECT supervisor_nip INTO sup2 FROM employees WHERE nip = emp.supervisor_nip;
            IF sup2 IS NOT NULL THEN
                INSERT INTO notifications (id, kind, recipient, employee, period, version, payload)
                SELECT gen_random_uuid(), 'appeal_filed', sup2, r.employee, r.period, r.version,
                       jsonb_build_object('employee', r.employee, 'name', emp.name, 'unit', emp.unit,
                                          'period', r.period, 'version', r.version, 'predikat', r.predikat,
                                          'score', r.score, 'supervisor', emp.supervisor_nip,
                                          'reason', ev.payload ->> 'reason', 'calibration', r.calibration,
                                          'highlights', kinerja_signoff_highlights(v.result, r.calibration,
                                                                                   r.late_events, NULL),
                                          'approved_at', r.approved_at)
                FROM (SELECT NULL) one
                LEFT JOIN score_versions v ON v.employee = r.employee AND v.period = r.period
                                          AND v.version = r.version;
            END IF;
        END IF;

    ELSIF ev.type = 'appeal_decision' THEN
        SELECT predikat INTO original FROM results WHERE employee = ev.employee AND period = ev.period;
        UPDATE results
        SET state = 'final', updated_at = now(),
            revised_predikat = CASE WHEN decision = 'revise' THEN ev.payload ->> 'predikat' END,
            predikat = CASE WHEN decision = 'revise' THEN ev.payload ->> 'predikat' ELSE predikat END,
            transition_actor = ev.payload ->> 'decider',
            transition_note = decision || coalesce(': ' || note, ''), transition_event_id = ev.id
        WHERE employee = ev.employee AND period = ev.period AND state = 'appealed'
        RETURNING * INTO r;
        IF FOUND THEN
            INSERT INTO notifications (id, kind, recipient, employee, period, version, payload)
            SELECT gen_random_uuid(), 'appeal_decided', who, r.employee, r.period, r.version,
                   jsonb_build_object('employee', r.employee, 'name', emp.name, 'period', r.period,
                                      'version', r.version, 'decision', decision,
                                      'decider', ev.payload ->> 'decider', 'note', note,
                                      'predikat', r.predikat, 'original_predikat', original,
                                      'revised_predikat', r.revised_predikat)
            FROM unnest(ARRAY[r.employee, emp.supervisor_nip]) AS who
            WHERE who IS NOT NULL;
        END IF;
    END IF;
END
$$;

-- Runs once per INSERT statement on event_log (the ingest step inserts workflow events
-- one at a time, but any statement is taken in ts order).
CREATE FUNCTION event_log_workflow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ev event_log%ROWTYPE;
BEGIN
    FOR ev IN
        SELECT * FROM new_events
        WHERE type IN ('signoff', 'appeal', 'appeal_decision')
        ORDER BY ts, id
    LOOP
        PERFORM kinerja_workflow_apply(ev);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER event_log_workflow
    AFTER INSERT ON event_log
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION event_log_workflow();

-- Daemon role (SPEC 8) -----------------------------------------------------------------

GRANT SELECT ON result_transitions TO kinerja_app;
GRANT SELECT, INSERT ON result_audit TO kinerja_app;
GRANT USAGE ON SEQUENCE result_audit_id_seq TO kinerja_app;
GRANT SELECT, INSERT, UPDATE ON notifications TO kinerja_app;
GRANT SELECT, INSERT, UPDATE ON kinerja_settings TO kinerja_app;
GRANT EXECUTE ON FUNCTION kinerja_actor(), kinerja_publish_setting(text, text), kinerja_setting(text, text),
    kinerja_setting_days(text, int), kinerja_signoff_highlights(jsonb, boolean, int, int),
    kinerja_request_signoff(text, boolean, text, text), kinerja_after_score(text),
    kinerja_close_period(text), kinerja_finalize_due(), kinerja_queue_reminders(int),
    kinerja_workflow_reason(text, text, text, jsonb, bigint, text, text, result_state, int, timestamptz, text),
    kinerja_ingest_staged(text), kinerja_workflow_apply(event_log) TO kinerja_app;
