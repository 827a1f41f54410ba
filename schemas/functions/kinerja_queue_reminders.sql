-- kinerja_queue_reminders: its one definition (schemas/functions/, re-applied by every
-- `kinerja migrate` after the migrations; see schemas/functions/README). From
-- 0006_workflow_v2.sql; since 0021 (score_versions.result is json) the highlights and
-- training come from the version's sign-off facts (score_versions.signoff), as in
-- kinerja_request_signoff, and from its result only for versions without them.
--
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
                   'highlights', kinerja_signoff_from_facts(f.facts, d.calibration, d.late_events, NULL),
                   'training', f.facts -> 'training',
                   'pending_since', d.pending_since,
                   'request', (SELECT q.id FROM notifications q
                               WHERE q.employee = d.employee AND q.period = d.period
                                 AND q.kind = 'signoff_requested' AND q.superseded_at IS NULL
                               ORDER BY q.created_at DESC, q.id DESC LIMIT 1))
        FROM due d
        JOIN employees e ON e.nip = d.employee
        LEFT JOIN score_versions v ON v.employee = d.employee AND v.period = d.period AND v.version = d.version
        CROSS JOIN LATERAL (SELECT coalesce(v.signoff, kinerja_signoff_facts(v.result)) AS facts) f
        ORDER BY d.period, d.employee
        RETURNING 1
    )
    SELECT count(*) INTO n FROM ins;
    RETURN n;
END
$$;
