-- kinerja_notify_inputs_missing: its one definition (schemas/functions/, re-applied by every
-- `kinerja migrate` after the migrations; see schemas/functions/README). From
-- 0006_workflow_v2.sql; since 0030 (score_versions.result is text) the two ratings are read
-- through result::json.
--
-- inputs_missing for the period's collecting results that cannot be offered for want of
-- inputs (no predikat) or of a pejabat penilai, once per result: to the employee and
-- to the supervisor (when there is one). Payload: employee, name, unit, period,
-- version, predikat, missing (codes, see the header), note (the same in words).
-- Returns how many notifications were queued.
CREATE OR REPLACE FUNCTION kinerja_notify_inputs_missing(p_period text) RETURNS bigint
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
                   CASE WHEN coalesce(v.result::json #>> '{hasil_kerja,rating}', 'none') = 'none' THEN 'work_results' END,
                   CASE WHEN coalesce(v.result::json #>> '{perilaku,rating}', 'none') = 'none'
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
