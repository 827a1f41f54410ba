-- 0006_workflow_v2: workflow integrity (SPEC 4, 6; issue 11).
--
-- What changes against 0003/0004 (each function below replaces the earlier body whole):
--
--   * Predikat required. No path (score worker, period close, the supervisor's offer)
--     moves a result without a predikat to pending_signoff. At period close such a
--     result stays collecting and its supervisor and the employee each get ONE
--     `inputs_missing` notification (results.inputs_missing_at remembers it, so the
--     scheduler's ticks do not repeat it) naming what is missing: `supervisor_evaluation`,
--     `work_results` (no SKP realization and no hasil_kerja judgement), `behaviour_ratings`,
--     `pejabat_penilai` (no supervisor nor evaluator in the organisation data).
--   * No pejabat penilai. An employee whose supervisor_nip is empty is never moved to
--     pending_signoff (nobody could sign): the result stays collecting, and at period
--     close the employee gets `inputs_missing` with `pejabat_penilai`. Naming an
--     evaluator (below) in supervisor_nip makes the result offerable again: the next
--     score of the period or the scheduler's next period-close tick offers it.
--   * Superseded requests. A new signoff_requested for a result marks every older
--     signoff_requested / signoff_reminder of that result superseded
--     (notifications.superseded_by = the new request's id, superseded_at). Reminders
--     go for the current request only and name it (payload "request").
--   * One relation per rater and ratee in a period. An evaluation whose rater already
--     holds another relation to that employee in that period (ratings, or an earlier
--     row of the same batch) is rejected: "relation: R already rates E as supervisor in
--     P; one rater holds one relation". The supervisor is never a peer (SPEC 4). A rater
--     correcting themselves in the same relation still replaces the earlier evaluation.
--     Ingest batches that carry evaluations of one (employee, period) take turns on an
--     advisory lock, so two workers cannot let two relations in at once.
--   * Evaluators who are not ASN (SPEC 4, 6): table `evaluators` (kinerja org import
--     --evaluators FILE.csv, columns id,name,position). An evaluator id is 1..64
--     characters of [A-Za-z0-9._:-] with at least one character that is not a digit, so
--     it is never mistaken for an 18-digit NIP (e.g. `bupati:kupang`, `gubernur.ntt`).
--     employees.supervisor_nip holds a NIP or an evaluator id (0001's CHECK and foreign
--     key are replaced by the CHECK below and a deferred constraint trigger naming the
--     employee). Such an employee's sign-off requests and reminders go to the evaluator,
--     who signs (`signoff` with supervisor = the evaluator id) and reads `kinerja inbox
--     ID`. An appeal of such a result has nobody to decide it in the organisation data
--     and is refused with that reason, as for any employee without a second level.
--   * Return waits. `return` no longer nulls the digest: the result goes back to
--     collecting and remembers the version returned (results.returned_version). It is
--     offered again when a NEW version arrives (a new input changed it) or when the
--     supervisor asks: a `signoff` with decision `offer` (CLI `kinerja signoff NIP
--     --period P --supervisor S --offer`), allowed to the supervisor of a collecting
--     result with a predikat, naming its current version.
--   * Reopen. approved -> returned is allowed: a `signoff` with decision `return` on an
--     approved result (naming its current version) reopens it before it is final. It
--     goes to collecting, the period is marked dirty (score_periods.generation + 1,
--     NOTIFY kinerja_score) so the score worker recomputes it with the late events, and
--     the employee gets result_returned (payload reopened: true, late_events; the
--     result's late_events counter goes back to 0, the late_events table keeps them). A new
--     version then is offered as usual; when the late events changed nothing, the
--     supervisor offers the same version again.
--   * A changed supervisor (SPEC 4): the employee's pending requests go to the new one
--     (and supersede the old ones) in the transaction that changed supervisor_nip.
--   * Every transition still writes result_audit (who, when, from, to, version, note,
--     event); no column is added to result_audit.
--
-- Not (yet) covered here: an evaluator sends no `evaluation` (the rater stays a NIP: the
-- score worker counts raters among employees), so a top-of-chain result rests on its
-- work results and its other raters; the employees CSV names an evaluator in
-- supervisor_nip once common/pgstore.c's import accepts the id form (until then an
-- operator's UPDATE does, checked by the trigger below); ratings stored before this
-- migration that break the one-relation rule stay as they are.
--
-- The states, after this migration:
--   collecting --(predikat, a pejabat penilai, not waiting after a return)--> pending_signoff
--       by the score worker once the supervisor evaluation and a work result are in, by
--       period close at the latest, or by the supervisor's `offer`
--   pending_signoff --approve--> approved ; pending_signoff --return--> returned
--   approved --return (reopen)--> returned ; returned --(at once)--> collecting
--   approved --appeal--> appealed --decision--> final ; approved --(window over)--> final

-- Organisation: evaluators ---------------------------------------------------------------

CREATE TABLE evaluators (
    id         text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._:-]{1,64}$' AND id ~ '[^0-9]'),
    name       text NOT NULL CHECK (length(name) > 0),
    position   text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- supervisor_nip: a NIP or an evaluator id. 0001 declared it with a CHECK (18 digits)
-- and a foreign key to employees; both go, whatever PostgreSQL named them.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT con.conname FROM pg_constraint con
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)
        WHERE con.conrelid = 'employees'::regclass AND a.attname = 'supervisor_nip'
          AND con.contype IN ('c', 'f')
    LOOP
        EXECUTE format('ALTER TABLE employees DROP CONSTRAINT %I', c.conname);
    END LOOP;
END
$$;
ALTER TABLE employees ADD CONSTRAINT employees_supervisor_nip_check CHECK (
    supervisor_nip <> nip
    AND (supervisor_nip ~ '^[0-9]{18}$' OR (supervisor_nip ~ '^[A-Za-z0-9._:-]{1,64}$' AND supervisor_nip ~ '[^0-9]')));

-- The reference 0001's foreign key kept, now to either table; deferred like it was, so
-- an import can load a chain in any order inside one transaction.
CREATE FUNCTION employees_supervisor_known() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.supervisor_nip IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM employees e WHERE e.nip = NEW.supervisor_nip)
       AND NOT EXISTS (SELECT 1 FROM evaluators v WHERE v.id = NEW.supervisor_nip) THEN
        RAISE EXCEPTION 'employee %: supervisor_nip: % is neither a known NIP nor an evaluator id',
                NEW.nip, NEW.supervisor_nip
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'import the evaluator first: kinerja org import --evaluators FILE.csv';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER employees_supervisor_known
    AFTER INSERT OR UPDATE OF supervisor_nip ON employees
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION employees_supervisor_known();

-- Nobody who is someone's supervisor (an employee or an evaluator) disappears from
-- under them: 0001's foreign key refused that for employees; this keeps it for both.
CREATE FUNCTION org_supervisor_in_use() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    who text := to_jsonb(OLD) ->> CASE WHEN TG_TABLE_NAME = 'evaluators' THEN 'id' ELSE 'nip' END;
    now_is text;
    whom text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        now_is := to_jsonb(NEW) ->> CASE WHEN TG_TABLE_NAME = 'evaluators' THEN 'id' ELSE 'nip' END;
        IF now_is = who THEN
            RETURN NEW;
        END IF;
    END IF;
    SELECT e.nip INTO whom FROM employees e WHERE e.supervisor_nip = who ORDER BY e.nip LIMIT 1;
    IF whom IS NOT NULL THEN
        RAISE EXCEPTION '%: % is the supervisor of % (and maybe others): name another supervisor first',
                TG_TABLE_NAME, who, whom
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER evaluators_in_use BEFORE DELETE OR UPDATE OF id ON evaluators
    FOR EACH ROW EXECUTE FUNCTION org_supervisor_in_use();
CREATE TRIGGER employees_in_use BEFORE DELETE OR UPDATE OF nip ON employees
    FOR EACH ROW EXECUTE FUNCTION org_supervisor_in_use();

-- Results and notifications: the new columns ---------------------------------------------

ALTER TABLE results
    ADD COLUMN returned_version int,          -- the version last returned or reopened; that
                                              -- version is not offered again by itself
    ADD COLUMN inputs_missing_at timestamptz; -- when inputs_missing went out (once per result)

-- A result returned under 0003 waited with digest NULL for an identical new version:
-- it waits for a real one now.
UPDATE results SET returned_version = version WHERE state = 'collecting' AND digest IS NULL AND version >= 1;

ALTER TABLE notifications
    ADD COLUMN superseded_by uuid,            -- the newer signoff_requested that replaced it
    ADD COLUMN superseded_at timestamptz;
ALTER TABLE notifications DROP CONSTRAINT IF EXISTS notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'signoff_requested', 'signoff_reminder', 'inputs_missing', 'result_approved', 'result_returned',
    'appeal_filed', 'appeal_decided'));
CREATE INDEX notifications_result_idx ON notifications (employee, period, kind) WHERE superseded_at IS NULL;

-- Older requests of a result already superseded under 0003 (the newest stays current).
UPDATE notifications o SET superseded_by = n.id, superseded_at = n.created_at
FROM (SELECT DISTINCT ON (employee, period) id, employee, period, created_at FROM notifications
      WHERE kind = 'signoff_requested' ORDER BY employee, period, created_at DESC, id DESC) n
WHERE o.employee = n.employee AND o.period = n.period AND o.kind IN ('signoff_requested', 'signoff_reminder')
  AND o.id <> n.id AND o.created_at <= n.created_at;

-- Transitions ---------------------------------------------------------------------------

INSERT INTO result_transitions (from_state, to_state) VALUES ('approved', 'returned') ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION results_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state THEN
        IF NOT EXISTS (SELECT 1 FROM result_transitions t
                       WHERE t.from_state = OLD.state AND t.to_state = NEW.state) THEN
            RAISE EXCEPTION 'result of % for %: % -> % is not an allowed transition',
                    OLD.employee, OLD.period, OLD.state, NEW.state
                USING ERRCODE = 'check_violation',
                      HINT = 'allowed: collecting -> pending_signoff -> approved | returned; '
                             'approved -> returned (reopen) | appealed | final; returned -> collecting; '
                             'appealed -> final (table result_transitions)';
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

-- Whether a result may be offered for sign-off (the one home of that rule): collecting,
-- scored, with a predikat, someone to sign (p_supervisor: the employee's supervisor_nip),
-- and not the very version the supervisor returned or reopened.
CREATE FUNCTION kinerja_offerable(p_state result_state, p_version int, p_predikat text, p_returned_version int,
                                  p_supervisor text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_state = 'collecting' AND p_version >= 1 AND p_predikat IS NOT NULL AND p_supervisor IS NOT NULL
           AND (p_returned_version IS NULL OR p_version > p_returned_version)
$$;

-- Sign-off requests --------------------------------------------------------------------

-- As 0003's, plus: only offerable results move (kinerja_offerable); p_employee (NULL:
-- all) narrows it to one employee (the supervisor's offer); every request queued
-- supersedes the older requests and reminders of its result. A pending result whose
-- version changed gets a new request (renewed) as before. Returns how many requests
-- were queued.
DROP FUNCTION kinerja_request_signoff(text, boolean, text, text);
CREATE FUNCTION kinerja_request_signoff(p_period text, p_require_inputs boolean, p_actor text, p_note text,
                                        p_employee text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    queued bigint;
BEGIN
    WITH moved AS (
        UPDATE results r
        SET state = 'pending_signoff', pending_since = now(), reminded_at = NULL,
            signoff_version = r.version, returned_version = NULL, transition_actor = p_actor,
            transition_note = p_note
        FROM employees e
        WHERE r.period = p_period AND (p_employee IS NULL OR r.employee = p_employee)
          AND e.nip = r.employee
          AND kinerja_offerable(r.state, r.version, r.predikat, r.returned_version, e.supervisor_nip)
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
              WHERE o.period = p_period AND (p_employee IS NULL OR o.employee = p_employee)
                AND o.state = 'pending_signoff' AND o.version >= 1
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
        RETURNING id, employee
    ), superseded AS (
        -- sees the rows as they were before this statement: every older one
        UPDATE notifications o SET superseded_by = i.id, superseded_at = now()
        FROM ins i
        WHERE o.employee = i.employee AND o.period = p_period
          AND o.kind IN ('signoff_requested', 'signoff_reminder') AND o.superseded_at IS NULL
        RETURNING 1
    )
    SELECT count(*) INTO queued FROM ins;
    RETURN queued;
END
$$;

-- Period close ---------------------------------------------------------------------------

-- inputs_missing for the period's collecting results that cannot be offered for want of
-- inputs (no predikat) or of a pejabat penilai, once per result: to the employee and
-- to the supervisor (when there is one). Payload: employee, name, unit, period,
-- version, predikat, missing (codes, see the header), note (the same in words).
-- Returns how many notifications were queued.
CREATE FUNCTION kinerja_notify_inputs_missing(p_period text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    WITH due AS (
        UPDATE results r SET inputs_missing_at = now()
        FROM employees e
        WHERE r.period = p_period AND r.state = 'collecting' AND r.version >= 1 AND r.inputs_missing_at IS NULL
          AND e.nip = r.employee AND (r.predikat IS NULL OR e.supervisor_nip IS NULL)
        RETURNING r.employee, r.version, r.predikat, e.name, e.unit, e.supervisor_nip
    ), what AS (
        SELECT d.*, array_remove(ARRAY[
                   CASE WHEN d.supervisor_nip IS NULL THEN 'pejabat_penilai' END,
                   CASE WHEN d.supervisor_nip IS NOT NULL
                             AND NOT EXISTS (SELECT 1 FROM ratings g
                                             WHERE g.period = p_period AND g.employee = d.employee
                                               AND g.relation = 'supervisor')
                        THEN 'supervisor_evaluation' END,
                   -- a rating the score worker could not give is "none" (common/score.c)
                   CASE WHEN coalesce(v.result #>> '{hasil_kerja,rating}', 'none') = 'none' THEN 'work_results' END,
                   CASE WHEN coalesce(v.result #>> '{perilaku,rating}', 'none') = 'none'
                        THEN 'behaviour_ratings' END], NULL) AS missing
        FROM due d
        LEFT JOIN score_versions v ON v.employee = d.employee AND v.period = p_period AND v.version = d.version
    ), ins AS (
        INSERT INTO notifications (id, kind, recipient, employee, period, version, payload)
        SELECT gen_random_uuid(), 'inputs_missing', who, w.employee, p_period, w.version,
               jsonb_build_object(
                   'employee', w.employee, 'name', w.name, 'unit', w.unit, 'period', p_period,
                   'version', w.version, 'predikat', w.predikat, 'supervisor', w.supervisor_nip,
                   'missing', to_jsonb(w.missing),
                   'note', 'the period closed; not offered for sign-off, missing: '
                           || (SELECT string_agg(CASE m
                                   WHEN 'pejabat_penilai' THEN 'a pejabat penilai (no supervisor or evaluator '
                                                               'in the organisation data)'
                                   WHEN 'supervisor_evaluation' THEN 'the supervisor evaluation'
                                   WHEN 'work_results' THEN 'work results (SKP realizations) or the '
                                                            'supervisor''s hasil_kerja judgement'
                                   WHEN 'behaviour_ratings' THEN 'behaviour ratings'
                                   ELSE m END, ', ' ORDER BY o)
                               FROM unnest(w.missing) WITH ORDINALITY AS x(m, o)))
        FROM what w
        CROSS JOIN LATERAL unnest(ARRAY[w.employee, w.supervisor_nip]) AS who
        WHERE who IS NOT NULL
        ORDER BY w.employee, who
        RETURNING 1
    )
    SELECT count(*) INTO n FROM ins;
    RETURN n;
END
$$;

-- Period close (SPEC 6): every offerable collecting result of the period goes to
-- pending_signoff; the rest are told what is missing. Returns the number of sign-off
-- requests queued.
CREATE OR REPLACE FUNCTION kinerja_close_period(p_period text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    n := kinerja_request_signoff(p_period, false, 'scheduler', 'the period closed');
    PERFORM kinerja_notify_inputs_missing(p_period);
    RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION kinerja_after_score(p_period text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kinerja_request_signoff(p_period, true, 'score-worker',
                                    'the supervisor evaluation and work results are in');
END
$$;

-- 0004's job, with the loop over closed periods narrowed to what can still be done:
-- results that became offerable, and results not yet told what they miss. A result
-- without a predikat (or without a pejabat penilai), once told, is not looked at again
-- on every tick. `moved` counts the results offered now, `missing` the inputs_missing
-- notifications queued now.
DROP FUNCTION kinerja_schedule_close_periods(text, int, text, int);
CREATE FUNCTION kinerja_schedule_close_periods(p_tz text, p_grace_days int, p_ran_by text, p_lock_pid int)
RETURNS TABLE (period text, newly_closed boolean, period_end timestamptz, moved bigint, requests bigint,
               missing bigint)
LANGUAGE plpgsql AS $$
DECLARE
    local_now timestamp := now() AT TIME ZONE p_tz; -- raises for an unknown zone
    p record;
    closed_list text[];
    acted bigint := 0;
    closed_now bigint := 0;
    total_moved bigint := 0;
BEGIN
    PERFORM kinerja_schedule_fence(p_lock_pid);
    WITH ended AS (
        INSERT INTO closed_periods AS c (period, period_end, closed_by)
        SELECT sp.period, kinerja_period_end(sp.period) AT TIME ZONE p_tz, p_ran_by
        FROM score_periods sp
        WHERE kinerja_period_end(sp.period) + make_interval(days => p_grace_days) <= local_now
        ORDER BY sp.period
        ON CONFLICT ON CONSTRAINT closed_periods_pkey DO NOTHING
        RETURNING c.period
    )
    SELECT coalesce(array_agg(e.period), '{}') INTO closed_list FROM ended e;
    FOR p IN
        SELECT c.period, c.period = ANY (closed_list) AS newly, c.period_end
        FROM closed_periods c
        WHERE c.period = ANY (closed_list)
           OR EXISTS (SELECT 1 FROM results r JOIN employees e ON e.nip = r.employee
                      WHERE r.period = c.period
                        AND (kinerja_offerable(r.state, r.version, r.predikat, r.returned_version, e.supervisor_nip)
                             OR (r.state = 'collecting' AND r.version >= 1 AND r.inputs_missing_at IS NULL
                                 AND (r.predikat IS NULL OR e.supervisor_nip IS NULL))))
        ORDER BY c.period
    LOOP
        period := p.period;
        newly_closed := p.newly;
        period_end := p.period_end;
        SELECT count(*) INTO moved FROM results r JOIN employees e ON e.nip = r.employee
        WHERE r.period = p.period
          AND kinerja_offerable(r.state, r.version, r.predikat, r.returned_version, e.supervisor_nip);
        requests := kinerja_request_signoff(p.period, false, 'scheduler', 'the period closed');
        missing := kinerja_notify_inputs_missing(p.period);
        IF p.newly OR moved > 0 OR missing > 0 THEN
            acted := acted + 1;
            closed_now := closed_now + p.newly::int;
            total_moved := total_moved + moved;
            RETURN NEXT;
        END IF;
    END LOOP;
    IF acted > 0 THEN
        PERFORM kinerja_schedule_record('period_close', p_ran_by,
                                        format('%s periods closed, %s results to pending_signoff', closed_now,
                                               total_moved));
    END IF;
END
$$;

-- Reminders ------------------------------------------------------------------------------

-- As 0003's, for the current request only: the reminder names it (payload "request",
-- the id of the newest signoff_requested of the result, never a superseded one) and
-- goes to whoever signs now (a supervisor or an evaluator).
CREATE OR REPLACE FUNCTION kinerja_queue_reminders(p_days int) RETURNS bigint
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
                   'pending_since', d.pending_since,
                   'request', (SELECT q.id FROM notifications q
                               WHERE q.employee = d.employee AND q.period = d.period
                                 AND q.kind = 'signoff_requested' AND q.superseded_at IS NULL
                               ORDER BY q.created_at DESC, q.id DESC LIMIT 1))
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

-- As 0003's, with the signoff decisions of this migration: approve (pending_signoff),
-- return (pending_signoff, or approved: reopen), offer (collecting with a predikat).
CREATE OR REPLACE FUNCTION kinerja_workflow_reason(p_type text, p_employee text, p_period text, p_payload jsonb,
                                                   p_received_ms bigint, p_supervisor2 text, p_supervisor text,
                                                   r_state result_state, r_version int, r_deadline timestamptz,
                                                   tz text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v bigint;
    decision text := p_payload ->> 'decision';
    pred text;
BEGIN
    IF p_type = 'signoff' THEN
        IF r_state IS NULL THEN
            RETURN format('signoff: no result of %s for %s to sign yet', p_employee, p_period);
        ELSIF decision = 'return' AND r_state NOT IN ('pending_signoff', 'approved') THEN
            RETURN format('signoff: result of %s for %s is %s: only a pending_signoff result can be returned, '
                          'or an approved one reopened', p_employee, p_period, r_state);
        ELSIF decision = 'offer' AND r_state <> 'collecting' THEN
            RETURN format('signoff: result of %s for %s is %s: only a collecting (returned) result can be offered',
                          p_employee, p_period, r_state);
        ELSIF decision IS DISTINCT FROM 'return' AND decision IS DISTINCT FROM 'offer'
              AND r_state <> 'pending_signoff' THEN
            -- approve (the broker lets no other decision through; a hand-made row without
            -- one is held to approve's rule, as in 0003, and applying it changes nothing)
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
        IF decision = 'offer' OR decision = 'approve' THEN
            SELECT x.predikat INTO pred FROM results x WHERE x.employee = p_employee AND x.period = p_period;
            IF pred IS NULL AND decision = 'offer' THEN
                RETURN format('signoff: result of %s for %s has no predikat yet: nothing to offer '
                              '(a supervisor evaluation and work results are needed)', p_employee, p_period);
            ELSIF pred IS NULL THEN
                -- a pending result whose newest version lost its predikat (a corrected
                -- evaluation): it can be returned, never approved
                RETURN format('signoff: result of %s for %s has no predikat: it cannot be approved, only returned',
                              p_employee, p_period);
            END IF;
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

-- The ingest step of 0003, every rule and text kept, plus: a sign-off's supervisor may
-- be an evaluator id; the supervisor is not a peer; one relation per rater and ratee.
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
        -- and against the first relation the rater takes earlier in this batch
        SELECT h.*,
            CASE WHEN h.type = 'evaluation' AND h.reason0 IS NULL AND h.held_stored IS NULL
                 THEN first_value(h.relation) OVER (
                          PARTITION BY h.period, h.employee, h.rater,
                                       (h.type = 'evaluation' AND h.reason0 IS NULL AND h.held_stored IS NULL)
                          ORDER BY h.seq) END AS held_batch
        FROM held h
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

-- As 0003's for approve, appeal and appeal_decision. Changed: return waits (no digest
-- reset, returned_version set, no recomputation), return on an approved result
-- reopens it (the period is marked dirty so the late events are taken in), and offer
-- moves a collecting result to pending_signoff with a new request.
CREATE OR REPLACE FUNCTION kinerja_workflow_apply(ev event_log) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r results%ROWTYPE;
    emp employees%ROWTYPE;
    sup2 text;
    decision text := ev.payload ->> 'decision';
    note text := ev.payload ->> 'note';
    signer text := ev.payload ->> 'supervisor';
    original text;
    reopened boolean;
BEGIN
    SELECT * INTO emp FROM employees WHERE nip = ev.employee;

    IF ev.type = 'signoff' AND decision = 'approve' THEN
        UPDATE results
        SET state = 'approved', approved_at = now(),
            appeal_deadline = now() + make_interval(days => kinerja_setting_days('workflow.appeal_days', 14)),
            updated_at = now(), transition_actor = signer, transition_note = note, transition_event_id = ev.id
        WHERE employee = ev.employee AND period = ev.period AND state = 'pending_signoff'
          AND version::text = ev.payload ->> 'version'
        RETURNING * INTO r;
        IF FOUND THEN
            INSERT INTO notifications (id, kind, recipient, employee, period, version, payload)
            VALUES (gen_random_uuid(), 'result_approved', r.employee, r.employee, r.period, r.version,
                    jsonb_build_object('employee', r.employee, 'name', emp.name, 'period', r.period,
                                       'version', r.version, 'predikat', r.predikat, 'score', r.score,
                                       'supervisor', signer, 'note', note,
                                       'approved_at', r.approved_at, 'appeal_deadline', r.appeal_deadline));
        END IF;

    ELSIF ev.type = 'signoff' AND decision = 'return' THEN
        SELECT x.state = 'approved' INTO reopened FROM results x
        WHERE x.employee = ev.employee AND x.period = ev.period;
        UPDATE results
        SET state = 'returned', approved_at = NULL, appeal_deadline = NULL, updated_at = now(),
            transition_actor = signer, transition_note = note, transition_event_id = ev.id
        WHERE employee = ev.employee AND period = ev.period AND state IN ('pending_signoff', 'approved')
          AND version::text = ev.payload ->> 'version'
        RETURNING * INTO r;
        IF FOUND THEN
            -- back to collecting; this version is not offered again by itself
            UPDATE results
            SET state = 'collecting', pending_since = NULL, reminded_at = NULL, signoff_version = NULL,
                returned_version = version, updated_at = now(), transition_actor = signer,
                -- reopened: the late events count from now on (the late_events table keeps them)
                late_events = CASE WHEN reopened THEN 0 ELSE late_events END,
                transition_note = CASE WHEN reopened
                    THEN 'reopened: collecting; the late inputs are taken in, a new version is offered, or the '
                         'supervisor offers this one again'
                    ELSE 'returned: collecting; offered again when a new version arrives or the supervisor '
                         'offers it' END,
                transition_event_id = ev.id
            WHERE employee = ev.employee AND period = ev.period;
            IF reopened THEN
                -- the events that arrived while approved count now: recompute the period
                INSERT INTO score_periods AS p (period) VALUES (ev.period)
                ON CONFLICT (period) DO UPDATE SET generation = p.generation + 1, changed_at = now();
                PERFORM pg_notify('kinerja_score', '');
            END IF;
            INSERT INTO notifications (id, kind, recipient, employee, period, version, payload)
            VALUES (gen_random_uuid(), 'result_returned', r.employee, r.employee, r.period, r.version,
                    jsonb_build_object('employee', r.employee, 'name', emp.name, 'period', r.period,
                                       'version', r.version, 'supervisor', signer, 'note', note,
                                       'reopened', reopened, 'late_events', r.late_events));
        END IF;

    ELSIF ev.type = 'signoff' AND decision = 'offer' THEN
        UPDATE results
        SET state = 'pending_signoff', pending_since = now(), reminded_at = NULL, signoff_version = NULL,
            returned_version = NULL, updated_at = now(), transition_actor = signer,
            transition_note = coalesce(note, 'offered for sign-off by the supervisor'), transition_event_id = ev.id
        WHERE employee = ev.employee AND period = ev.period AND state = 'collecting' AND predikat IS NOT NULL
          AND version::text = ev.payload ->> 'version'
        RETURNING * INTO r;
        IF FOUND THEN
            -- signoff_version NULL: the request step sees a pending result to request
            PERFORM kinerja_request_signoff(ev.period, false, signer, 'offered by the supervisor', ev.employee);
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

-- A new supervisor (SPEC 4) ---------------------------------------------------------------

-- "A re-import that changes a supervisor takes effect for sign-offs from then on; the
-- new supervisor is sent the pending requests": when an employee's supervisor_nip
-- changes (org import, or an operator's UPDATE), each pending_signoff result of theirs
-- gets a new signoff_requested to the new supervisor (or evaluator), which supersedes
-- the old one; the ingest step already checks a sign-off against the current
-- supervisor. A collecting result follows the usual rules. When supervisor_nip is
-- emptied, a pending result goes back to collecting (nobody could sign it).
CREATE FUNCTION employees_supervisor_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    p text;
BEGIN
    IF NEW.supervisor_nip IS NULL THEN
        -- nobody can sign any more: back to collecting (through returned, audited), the
        -- requests superseded by nothing, and at period close the employee is told
        -- (inputs_missing: pejabat_penilai) until someone is named again
        UPDATE results SET state = 'returned', transition_actor = kinerja_actor(),
            transition_note = 'no pejabat penilai any more (supervisor_nip emptied)'
        WHERE employee = NEW.nip AND state = 'pending_signoff';
        UPDATE results SET state = 'collecting', pending_since = NULL, reminded_at = NULL, signoff_version = NULL,
            inputs_missing_at = NULL, transition_actor = kinerja_actor(),
            transition_note = 'collecting until a pejabat penilai is named'
        WHERE employee = NEW.nip AND state = 'returned';
        UPDATE notifications SET superseded_at = now()
        WHERE employee = NEW.nip AND kind IN ('signoff_requested', 'signoff_reminder') AND superseded_at IS NULL;
        RETURN NULL;
    END IF;
    FOR p IN
        UPDATE results SET signoff_version = NULL
        WHERE employee = NEW.nip AND state = 'pending_signoff'
        RETURNING period
    LOOP
        PERFORM kinerja_request_signoff(p, true, kinerja_actor(), 'the supervisor changed', NEW.nip);
    END LOOP;
    RETURN NULL;
END
$$;
CREATE TRIGGER employees_supervisor_changed
    AFTER UPDATE OF supervisor_nip ON employees
    FOR EACH ROW WHEN (OLD.supervisor_nip IS DISTINCT FROM NEW.supervisor_nip)
    EXECUTE FUNCTION employees_supervisor_changed();

-- Daemon role (SPEC 8) -----------------------------------------------------------------

GRANT SELECT ON evaluators TO kinerja_app;
GRANT EXECUTE ON FUNCTION employees_supervisor_known(), employees_supervisor_changed(), org_supervisor_in_use(),
    kinerja_offerable(result_state, int, text, int, text), kinerja_request_signoff(text, boolean, text, text, text),
    kinerja_notify_inputs_missing(text), kinerja_schedule_close_periods(text, int, text, int) TO kinerja_app;
