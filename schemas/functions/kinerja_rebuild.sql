-- kinerja_rebuild: its one definition (schemas/functions/, re-applied by every `kinerja migrate`
-- after the migrations; see schemas/functions/README). From 0017_recalc_fast.sql.
-- Since 0020: ratings and work results are first compared with the log in one pass (a
-- hash join on the key, no sort): when every derived row is the latest event of its key
-- and every event's key has its row, the scope's rows already are what the rebuild
-- would make and are left alone; otherwise they are rebuilt as before. The comparison
-- is kinerja_rebuild_check's (a RETURN QUERY, with parallel workers).
CREATE OR REPLACE FUNCTION kinerja_rebuild(p_period text, p_unit text, p_employee text)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    v_missing bigint;
    v_rows bigint;
    v_newer bigint;
    v_without bigint;
    v_own bigint;
BEGIN
    SET LOCAL work_mem = '512MB';
    IF to_regclass('pg_temp._rebuild_ids') IS NULL THEN
        CREATE TEMP TABLE _rebuild_ids (id uuid NOT NULL) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE _rebuild_missing (id uuid NOT NULL) ON COMMIT DELETE ROWS;
    ELSE
        TRUNCATE _rebuild_ids, _rebuild_missing;
    END IF;

    -- ratings: already the log's? Each event of the scope joined to the row of its key:
    -- none newer than its row, none without a row, and every row met by its own event
    -- (kinerja_rebuild_check: a RETURN QUERY, so it runs with parallel workers)
    SELECT c.newer, c.without_row, c.own, c.rows_total INTO v_newer, v_without, v_own, v_rows
    FROM kinerja_rebuild_check('ratings', p_period, p_unit, p_employee) c;
    IF v_newer > 0 OR v_without > 0 OR v_own <> v_rows THEN
    -- the latest evaluation per key
    INSERT INTO _rebuild_ids
    SELECT DISTINCT ON (period COLLATE "C", employee COLLATE "C", rater COLLATE "C", relation COLLATE "C") id
    FROM event_log
    WHERE type = 'evaluation'
      AND (p_period IS NULL OR period = p_period) AND (p_unit IS NULL OR unit = p_unit)
      AND (p_employee IS NULL OR employee = p_employee)
      AND period IS NOT NULL AND employee IS NOT NULL AND rater IS NOT NULL
      AND relation IN ('supervisor', 'peer', 'subordinate', 'self')
    ORDER BY period COLLATE "C", employee COLLATE "C", rater COLLATE "C", relation COLLATE "C", ts DESC, id DESC;
    ANALYZE _rebuild_ids;
    DELETE FROM ratings r
    WHERE (p_period IS NULL OR r.period = p_period) AND (p_unit IS NULL OR r.unit = p_unit)
      AND (p_employee IS NULL OR r.employee = p_employee)
      AND NOT EXISTS (SELECT 1 FROM _rebuild_ids l WHERE l.id = r.event_id);
    INSERT INTO _rebuild_missing
    SELECT l.id FROM _rebuild_ids l WHERE NOT EXISTS (SELECT 1 FROM ratings r WHERE r.event_id = l.id);
    GET DIAGNOSTICS v_missing = ROW_COUNT;
    IF v_missing > 0 THEN
        ANALYZE _rebuild_missing;
        INSERT INTO ratings (period, employee, rater, relation, vals, hasil_kerja, comment, unit, ts, event_id)
        SELECT v.period, v.employee, v.rater, v.relation, v.vals, v.hasil_kerja, v.comment, v.unit, v.ts,
               v.event_id
        FROM event_ratings v
        WHERE v.event_id IN (SELECT m.id FROM _rebuild_missing m);
    END IF;
    END IF;

    -- work results: validity needs the payload; there are few of them. Already the
    -- log's? (as for ratings, over the valid events)
    SELECT c.newer, c.without_row, c.own, c.rows_total INTO v_newer, v_without, v_own, v_rows
    FROM kinerja_rebuild_check('work_results', p_period, p_unit, p_employee) c;
    TRUNCATE _rebuild_ids, _rebuild_missing;
    IF v_newer > 0 OR v_without > 0 OR v_own <> v_rows THEN
    INSERT INTO _rebuild_ids
    SELECT DISTINCT ON (period COLLATE "C", employee COLLATE "C", indicator COLLATE "C") event_id
    FROM event_work_results
    WHERE (p_period IS NULL OR period = p_period) AND (p_unit IS NULL OR unit = p_unit)
      AND (p_employee IS NULL OR employee = p_employee)
      AND period IS NOT NULL AND employee IS NOT NULL AND indicator IS NOT NULL
      AND target > 0 AND realization >= 0 AND weight > 0
      AND direction IN ('higher_better', 'lower_better')
    ORDER BY period COLLATE "C", employee COLLATE "C", indicator COLLATE "C", ts DESC, event_id DESC;
    ANALYZE _rebuild_ids;
    DELETE FROM work_results w
    WHERE (p_period IS NULL OR w.period = p_period) AND (p_unit IS NULL OR w.unit = p_unit)
      AND (p_employee IS NULL OR w.employee = p_employee)
      AND NOT EXISTS (SELECT 1 FROM _rebuild_ids l WHERE l.id = w.event_id);
    INSERT INTO _rebuild_missing
    SELECT l.id FROM _rebuild_ids l WHERE NOT EXISTS (SELECT 1 FROM work_results w WHERE w.event_id = l.id);
    GET DIAGNOSTICS v_missing = ROW_COUNT;
    IF v_missing > 0 THEN
        ANALYZE _rebuild_missing;
        INSERT INTO work_results (period, employee, indicator, target, realization, direction, weight,
                                  evidence, unit, ts, event_id)
        SELECT v.period, v.employee, v.indicator, v.target, v.realization, v.direction, v.weight, v.evidence,
               v.unit, v.ts, v.event_id
        FROM event_work_results v
        WHERE v.event_id IN (SELECT m.id FROM _rebuild_missing m);
    END IF;
    END IF;

    -- citizen feedback: every valid event, one row each (as 0002)
    DELETE FROM feedback f
    WHERE (p_period IS NULL OR f.period = p_period) AND (p_unit IS NULL OR f.unit = p_unit)
      AND (p_employee IS NULL OR f.employee = p_employee)
      AND NOT EXISTS (SELECT 1 FROM event_log e WHERE e.period = f.period AND e.id = f.event_id);
    INSERT INTO feedback (event_id, period, unit, employee, source, ts_ms, respondent, rating, skm, comment)
    SELECT v.event_id, v.period, v.unit, v.employee, v.source, v.ts_ms, v.respondent, v.rating, v.skm, v.comment
    FROM event_feedback v
    WHERE (p_period IS NULL OR v.period = p_period) AND (p_unit IS NULL OR v.unit = p_unit)
      AND (p_employee IS NULL OR v.employee = p_employee)
      AND v.period IS NOT NULL AND v.unit IS NOT NULL
      AND ((v.rating IS NOT NULL AND v.skm IS NULL)
           OR (v.rating IS NULL AND v.skm IS NOT NULL AND array_position(v.skm, NULL) IS NULL))
      AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.period = v.period AND f.event_id = v.event_id);

    IF p_period IS NOT NULL THEN
        RETURN QUERY
        INSERT INTO score_periods AS p (period)
        SELECT p_period
        WHERE EXISTS (SELECT 1 FROM event_log
                      WHERE type IN ('evaluation', 'work_result', 'citizen_feedback') AND period = p_period
                        AND (p_unit IS NULL OR unit = p_unit) AND (p_employee IS NULL OR employee = p_employee))
        ON CONFLICT (period) DO UPDATE SET generation = p.generation + 1, changed_at = now()
        RETURNING p.period;
        RETURN;
    END IF;
    RETURN QUERY
    INSERT INTO score_periods AS p (period)
    SELECT DISTINCT period FROM event_log
    WHERE type IN ('evaluation', 'work_result', 'citizen_feedback') AND period IS NOT NULL
      AND (p_unit IS NULL OR unit = p_unit) AND (p_employee IS NULL OR employee = p_employee)
    ORDER BY 1
    ON CONFLICT (period) DO UPDATE SET generation = p.generation + 1, changed_at = now()
    RETURNING p.period;
END
$$;
