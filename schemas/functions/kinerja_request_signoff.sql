-- kinerja_request_signoff: its one definition (schemas/functions/, re-applied by every `kinerja migrate`
-- after the migrations; see schemas/functions/README). From 0006_workflow_v2.sql; since
-- 0020 the highlights and training come from the version's facts (score_versions.signoff,
-- written by the score worker) instead of its whole result, which is read only for
-- versions without them. Since 0025 a period's requests can be made in parts (p_part of
-- p_parts, by kinerja_part_of(employee)), each its own transaction on its own connection
-- (the score worker's split sign-off, kinerja_after_score(period, part, parts)). Since 0024 it writes the audit of the results it moves itself,
-- in one INSERT from the UPDATE's RETURNING, and results_transition's row trigger skips
-- them (kinerja.transition_audit = 'statement' while it runs).
--
-- As 0003's, plus: only offerable results move (kinerja_offerable); p_employee (NULL:
-- all) narrows it to one employee (the supervisor's offer); every request queued
-- supersedes the older requests and reminders of its result. A pending result whose
-- version changed gets a new request (renewed) as before. Returns how many requests
-- were queued.
CREATE OR REPLACE FUNCTION kinerja_request_signoff(p_period text, p_require_inputs boolean, p_actor text, p_note text,
                                                   p_employee text DEFAULT NULL, p_part int DEFAULT 0,
                                                   p_parts int DEFAULT 1)
RETURNS bigint
LANGUAGE plpgsql
-- the requests are inserted in employee order: a period's 100 000 sort in memory, not
-- in temporary files (the default 4 MB spilled them)
SET work_mem = '64MB'
AS $$
DECLARE
    queued bigint;
    audit_was text := current_setting('kinerja.transition_audit', true);
BEGIN
    -- results_transition skips collecting -> pending_signoff while this is on: the audit
    -- rows come from `audited` below (0024). Set here, not in a SET clause: PostgreSQL 15
    -- refuses a custom setting in a function's SET clause to a role that is not a
    -- superuser (the owner of a real installation is not); local to the transaction, so
    -- an error undoes it with the rest, and put back below.
    PERFORM set_config('kinerja.transition_audit', 'statement', true);
    WITH moved AS (
        UPDATE results r
        SET state = 'pending_signoff', pending_since = now(), reminded_at = NULL,
            signoff_version = r.version, returned_version = NULL
        FROM employees e
        WHERE r.period = p_period AND (p_employee IS NULL OR r.employee = p_employee)
          AND (p_parts = 1 OR kinerja_part_of(r.employee, p_parts) = p_part)
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
    ), audited AS (
        -- what results_transition wrote per row before 0024, for the whole statement
        INSERT INTO result_audit (employee, period, from_state, to_state, version, actor, note, event_id)
        SELECT m.employee, p_period, 'collecting', 'pending_signoff', m.version, coalesce(p_actor, kinerja_actor()),
               coalesce(p_note, nullif(current_setting('kinerja.note', true), '')),
               nullif(current_setting('kinerja.event_id', true), '')::uuid
        FROM moved m
        ORDER BY m.employee
    ), renewed AS (
        UPDATE results r
        SET signoff_version = r.version
        FROM (SELECT o.employee, o.signoff_version
              FROM results o
              WHERE o.period = p_period AND (p_employee IS NULL OR o.employee = p_employee)
                AND (p_parts = 1 OR kinerja_part_of(o.employee, p_parts) = p_part)
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
                   'highlights', kinerja_signoff_from_facts(f.facts, t.calibration, t.late_events, t.replaces),
                   'training', f.facts -> 'training',
                   'pending_since', t.pending_since)
        FROM todo t
        JOIN employees e ON e.nip = t.employee
        -- the version's facts are taken in the subquery (OFFSET 0 keeps it from being
        -- flattened), so the sort below carries them and not the ~3 kB result: at
        -- 99 000 requests that sort wrote 216 MB to disk
        LEFT JOIN LATERAL (
            SELECT sv.predikat, sv.score, coalesce(sv.signoff, kinerja_signoff_facts(sv.result)) AS facts
            FROM score_versions sv
            WHERE sv.employee = t.employee AND sv.period = p_period AND sv.version = t.version
            OFFSET 0) v ON true
        CROSS JOIN LATERAL (SELECT coalesce(v.facts, kinerja_signoff_facts(NULL::text)) AS facts) f
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
    PERFORM set_config('kinerja.transition_audit', coalesce(audit_was, ''), true);
    RETURN queued;
END
$$;
