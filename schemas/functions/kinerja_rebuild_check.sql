-- kinerja_rebuild_check: its one definition (schemas/functions/, re-applied by every `kinerja migrate`
-- after the migrations; see schemas/functions/README). New with issue 15 (recalculation
-- at scale).
--
-- kinerja_rebuild's comparison of a scope's ratings (p_table 'ratings') or work results
-- ('work_results') with the event log: each valid event of the scope joined to the row
-- of its key. Returns one row: events newer than their key's row, events whose key has
-- no row, rows met by their own event, and the scope's rows. The rows already are what
-- a rebuild would make when newer = 0, without_row = 0 and own = rows_total.
--
-- Why a function of its own: PostgreSQL runs a PL/pgSQL `SELECT ... INTO` with a row
-- count and so without parallel workers ("Workers Planned: 2, Workers Launched: 0"); the
-- same statement as a RETURN QUERY gets its workers. At 100 000 x 30 the ratings check
-- was a 5.1 s hash join on one core, 2.8 s with its two workers.
--
-- A whole period's ratings check is its own statement, planned with nested loops and
-- merge joins off: since ratings is partitioned by period (0027) the planner, seeing one
-- partition with one period, priced the hash join on the whole key far above a nested
-- loop of 3 M index probes behind a Memoize that never hits (9.3 s) or a merge join of
-- two external sorts (7-8 s); the parallel hash join takes 2.8 s. A scope of a unit or an
-- employee keeps the planner's choice (index probes: 1 ms for an employee). Separate
-- statements, so neither's cached plan is used for the other.
CREATE OR REPLACE FUNCTION kinerja_rebuild_check(p_table text, p_period text, p_unit text, p_employee text)
RETURNS TABLE (newer bigint, without_row bigint, own bigint, rows_total bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    nestloop text := current_setting('enable_nestloop');
    mergejoin text := current_setting('enable_mergejoin');
BEGIN
    IF p_table = 'ratings' AND p_unit IS NULL AND p_employee IS NULL THEN
        PERFORM set_config('enable_nestloop', 'off', true);
        PERFORM set_config('enable_mergejoin', 'off', true);
        RETURN QUERY
        SELECT c.newer, c.without_row, c.own, n.rows_total
        FROM (SELECT count(*) FILTER (WHERE (e.ts, e.id) > (r.ts, r.event_id)) AS newer,
                     count(*) FILTER (WHERE r.event_id IS NULL) AS without_row,
                     count(*) FILTER (WHERE r.event_id = e.id AND r.ts = e.ts) AS own
              FROM event_log e
              LEFT JOIN ratings r ON r.period = e.period AND r.employee = e.employee AND r.rater = e.rater
                                 AND r.relation = e.relation
              WHERE e.type = 'evaluation' AND (p_period IS NULL OR e.period = p_period)
                AND e.period IS NOT NULL AND e.employee IS NOT NULL AND e.rater IS NOT NULL
                AND e.relation IN ('supervisor', 'peer', 'subordinate', 'self')) c
        CROSS JOIN (SELECT count(*) AS rows_total FROM ratings r WHERE p_period IS NULL OR r.period = p_period) n;
        PERFORM set_config('enable_nestloop', nestloop, true);
        PERFORM set_config('enable_mergejoin', mergejoin, true);
    ELSIF p_table = 'ratings' THEN
        RETURN QUERY
        SELECT c.newer, c.without_row, c.own, n.rows_total
        FROM (SELECT count(*) FILTER (WHERE (e.ts, e.id) > (r.ts, r.event_id)) AS newer,
                     count(*) FILTER (WHERE r.event_id IS NULL) AS without_row,
                     count(*) FILTER (WHERE r.event_id = e.id AND r.ts = e.ts) AS own
              FROM event_log e
              LEFT JOIN ratings r ON r.period = e.period AND r.employee = e.employee AND r.rater = e.rater
                                 AND r.relation = e.relation
              WHERE e.type = 'evaluation'
                AND (p_period IS NULL OR e.period = p_period) AND (p_unit IS NULL OR e.unit = p_unit)
                AND (p_employee IS NULL OR e.employee = p_employee)
                AND e.period IS NOT NULL AND e.employee IS NOT NULL AND e.rater IS NOT NULL
                AND e.relation IN ('supervisor', 'peer', 'subordinate', 'self')) c
        CROSS JOIN (SELECT count(*) AS rows_total FROM ratings r
                    WHERE (p_period IS NULL OR r.period = p_period) AND (p_unit IS NULL OR r.unit = p_unit)
                      AND (p_employee IS NULL OR r.employee = p_employee)) n;
    ELSIF p_table = 'work_results' THEN
        -- validity needs the payload (event_work_results); over the valid events
        RETURN QUERY
        SELECT c.newer, c.without_row, c.own, n.rows_total
        FROM (SELECT count(*) FILTER (WHERE (v.ts, v.event_id) > (w.ts, w.event_id)) AS newer,
                     count(*) FILTER (WHERE w.event_id IS NULL) AS without_row,
                     count(*) FILTER (WHERE w.event_id = v.event_id AND w.ts = v.ts) AS own
              FROM event_work_results v
              LEFT JOIN work_results w ON w.period = v.period AND w.employee = v.employee
                                      AND w.indicator = v.indicator
              WHERE (p_period IS NULL OR v.period = p_period) AND (p_unit IS NULL OR v.unit = p_unit)
                AND (p_employee IS NULL OR v.employee = p_employee)
                AND v.period IS NOT NULL AND v.employee IS NOT NULL AND v.indicator IS NOT NULL
                AND v.target > 0 AND v.realization >= 0 AND v.weight > 0
                AND v.direction IN ('higher_better', 'lower_better')) c
        CROSS JOIN (SELECT count(*) AS rows_total FROM work_results w
                    WHERE (p_period IS NULL OR w.period = p_period) AND (p_unit IS NULL OR w.unit = p_unit)
                      AND (p_employee IS NULL OR w.employee = p_employee)) n;
    ELSE
        RAISE EXCEPTION 'kinerja_rebuild_check: unknown table %', p_table USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
