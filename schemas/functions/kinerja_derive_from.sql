-- kinerja_derive_from: its one definition (schemas/functions/, re-applied by every `kinerja migrate`
-- after the migrations; see schemas/functions/README). From 0019_ingest_lean.sql.
-- The derivation of a set of stored events (0016's trigger body, the same effects), read
-- from the session temp table _derive_new (event_log's columns): the derive trigger puts a
-- small batch's new rows there, kinerja_derive_queued() the rows it takes from
-- derive_queue. Each upsert is the one of kinerja_derive_listed(); the views stay the one
-- definition of what an event derives (kinerja_view_over_new, 0016). Returns the number
-- of events read.
CREATE OR REPLACE FUNCTION kinerja_derive_from() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n_eval bigint;
    n_work bigint;
    n_fb bigint;
    n_recalc bigint;
BEGIN
    SELECT count(*) FILTER (WHERE type = 'evaluation'), count(*) FILTER (WHERE type = 'work_result'),
           count(*) FILTER (WHERE type = 'citizen_feedback'), count(*) FILTER (WHERE type = 'recalc')
    INTO n_eval, n_work, n_fb, n_recalc
    FROM _derive_new;
    IF n_eval + n_work + n_fb + n_recalc = 0 THEN
        RETURN 0;
    END IF;

    IF n_eval > 0 THEN
        EXECUTE 'INSERT INTO ratings AS r (period, employee, rater, relation, vals, hasil_kerja, comment, unit,'
                '                          ts, event_id)'
                ' SELECT DISTINCT ON (period, employee, rater, relation)'
                '        period, employee, rater, relation, vals, hasil_kerja, comment, unit, ts, event_id'
                ' FROM ' || kinerja_derive_source_over('event_ratings') || ' v'
                ' WHERE period IS NOT NULL AND employee IS NOT NULL AND rater IS NOT NULL'
                '   AND relation IN (''supervisor'', ''peer'', ''subordinate'', ''self'')'
                ' ORDER BY period, employee, rater, relation, ts DESC, event_id DESC'
                ' ON CONFLICT (period, employee, rater, relation) DO UPDATE'
                '     SET vals = excluded.vals, hasil_kerja = excluded.hasil_kerja, comment = excluded.comment,'
                '         unit = excluded.unit, ts = excluded.ts, event_id = excluded.event_id'
                '     WHERE (excluded.ts, excluded.event_id) > (r.ts, r.event_id)';
    END IF;
    IF n_work > 0 THEN
        EXECUTE 'INSERT INTO work_results AS w (period, employee, indicator, target, realization, direction,'
                '                               weight, evidence, unit, ts, event_id)'
                ' SELECT DISTINCT ON (period, employee, indicator)'
                '        period, employee, indicator, target, realization, direction, weight, evidence, unit,'
                '        ts, event_id'
                ' FROM ' || kinerja_derive_source_over('event_work_results') || ' v'
                ' WHERE period IS NOT NULL AND employee IS NOT NULL AND indicator IS NOT NULL'
                '   AND target > 0 AND realization >= 0 AND weight > 0'
                '   AND direction IN (''higher_better'', ''lower_better'')'
                ' ORDER BY period, employee, indicator, ts DESC, event_id DESC'
                ' ON CONFLICT (period, employee, indicator) DO UPDATE'
                '     SET target = excluded.target, realization = excluded.realization,'
                '         direction = excluded.direction, weight = excluded.weight,'
                '         evidence = excluded.evidence, unit = excluded.unit, ts = excluded.ts,'
                '         event_id = excluded.event_id'
                '     WHERE (excluded.ts, excluded.event_id) > (w.ts, w.event_id)';
    END IF;
    IF n_fb > 0 THEN
        EXECUTE 'INSERT INTO feedback (event_id, period, unit, employee, source, ts_ms, respondent, rating, skm,'
                '                      comment)'
                ' SELECT event_id, period, unit, employee, source, ts_ms, respondent, rating, skm, comment'
                ' FROM ' || kinerja_derive_source_over('event_feedback') || ' v'
                ' WHERE period IS NOT NULL AND unit IS NOT NULL'
                '   AND ((rating IS NOT NULL AND skm IS NULL)'
                '        OR (rating IS NULL AND skm IS NOT NULL AND array_position(skm, NULL) IS NULL))'
                ' ON CONFLICT (period, event_id) DO NOTHING';
    END IF;

    IF n_eval + n_work + n_fb > 0 THEN
        -- events for frozen results are kept, counted as late, and change nothing visible
        INSERT INTO late_events (event_id, employee, period, state)
        SELECT n.id, n.employee, n.period, r.state
        FROM _derive_new n
        JOIN results r ON r.employee = n.employee AND r.period = n.period
        WHERE n.type IN ('evaluation', 'work_result', 'citizen_feedback')
          AND kinerja_frozen(r.state)
        ON CONFLICT (event_id) DO NOTHING;
        UPDATE results r SET late_events = r.late_events + l.n
        FROM (SELECT n.employee, n.period, count(*) AS n
              FROM _derive_new n
              WHERE n.type IN ('evaluation', 'work_result', 'citizen_feedback')
              GROUP BY 1, 2) l
        WHERE r.employee = l.employee AND r.period = l.period
          AND kinerja_frozen(r.state);

        -- periods whose inputs changed
        INSERT INTO score_periods AS p (period)
        SELECT DISTINCT period FROM _derive_new
        WHERE type IN ('evaluation', 'work_result', 'citizen_feedback') AND period IS NOT NULL
        ORDER BY 1
        ON CONFLICT (period) DO UPDATE SET generation = p.generation + 1, changed_at = now();
    END IF;

    IF n_recalc > 0 THEN
        INSERT INTO recalc_requests (event_id, period, unit, employee)
        SELECT id, period, unit, employee FROM _derive_new WHERE type = 'recalc'
        ON CONFLICT (event_id) DO NOTHING;
    END IF;

    -- wake the score workers (delivered at commit, once per transaction)
    PERFORM pg_notify('kinerja_score', '');
    RETURN n_eval + n_work + n_fb + n_recalc;
END
$$;
