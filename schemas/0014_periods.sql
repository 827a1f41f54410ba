-- 0014_periods: quarters beside months and years, the organisation's cadence, and the
-- annual result built from the year's inputs (SPEC 3, 5.9; docs/DOMAIN.md "Periods and
-- the annual result").
--
-- A period is 'YYYY-MM' (monthly), 'YYYY-Qn' (quarterly, triwulan I..IV) or 'YYYY'
-- (annual). A period contains itself and the shorter periods inside it: a quarter its
-- three months, a year its four quarters and twelve months (kinerja_period_parts).
-- The inputs of a period are those of its parts:
--   - citizen feedback: that of its months (0007's kinerja_period_months, unchanged);
--   - work results: per (employee, indicator), a part's figure counts unless a longer
--     part containing it has a figure of its own (a figure for the whole quarter stands
--     for its months); each remaining figure is one item of the weighted mean, named
--     indicator@part, its weight times the months of its part (a month 1, a quarter 3);
--   - evaluations: per (employee, rater, relation) the same cover rule; the remaining
--     ratings (one a month, say) are one rating whose value per BerAKHLAK key is their
--     mean weighted by months, rounded half up to the 1..5 scale (a rater who rated
--     three months is one rater, not three: the anonymity and credibility counts stay
--     counts of people); the supervisor's hasil_kerja judgement counts only when given
--     for the period itself (a judgement of one month is not one of the year).
-- workflow.cadence (monthly|quarterly, published by the schedule role) says which
-- periodic period the organisation appraises: under quarterly cadence a month's inputs
-- make its quarter appraised (a score_periods row), month results are inputs only (never
-- offered for sign-off by the score worker, never closed); period close also closes the
-- quarters and, under either cadence, the years whose periods were appraised.

-- 'YYYY-MM' -> 2, 'YYYY-Qn' -> 1, 'YYYY' -> 0, anything else NULL.
CREATE FUNCTION kinerja_period_level(p text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p ~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN 2
        WHEN p ~ '^[0-9]{4}-Q[1-4]$' THEN 1
        WHEN p ~ '^[0-9]{4}$' THEN 0
    END
$$;

-- The period itself and the shorter periods inside it, longest first.
CREATE FUNCTION kinerja_period_parts(p text) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kinerja_period_level(p)
        WHEN 2 THEN ARRAY[p]
        WHEN 1 THEN ARRAY[p] || kinerja_period_months(p)
        WHEN 0 THEN ARRAY[p] || ARRAY(SELECT p || '-Q' || q FROM generate_series(1, 4) AS q ORDER BY q)
                    || kinerja_period_months(p)
        ELSE ARRAY[]::text[]
    END
$$;

-- The quarter of a month ('2026-05' -> '2026-Q2'); NULL for anything else.
CREATE FUNCTION kinerja_period_quarter(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN kinerja_period_level(p) = 2
                THEN substr(p, 1, 4) || '-Q' || ((substr(p, 6, 2)::int + 2) / 3)::text END
$$;

-- Whether results of period p are offered for sign-off and closed under the cadence:
-- years and quarters always, months only under monthly cadence.
CREATE FUNCTION kinerja_period_appraised(p text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT kinerja_period_level(p) IN (0, 1)
           OR (kinerja_period_level(p) = 2 AND kinerja_setting('workflow.cadence', 'monthly') <> 'quarterly')
$$;

-- The evaluations period p is computed from (rules above), one row per
-- (employee, rater, relation), in the columns the score worker loads. A rating of a part
-- is left out when the same rater rated a longer part containing it; the rest are
-- averaged per BerAKHLAK key weighted by their months (a month 1, a quarter 3), rounded
-- half up; the hasil_kerja judgement is the one given for p itself.
CREATE FUNCTION kinerja_period_ratings(p text)
RETURNS TABLE (employee text, rater text, relation text, vals smallint[], hasil_kerja text, ts timestamptz)
LANGUAGE sql STABLE AS $$
    WITH t AS (
        SELECT g.*, cardinality(kinerja_period_months(g.period)) AS months
        FROM ratings g
        WHERE g.period = ANY (kinerja_period_parts(p))
          AND NOT EXISTS (SELECT 1 FROM ratings h
                          WHERE h.employee = g.employee AND h.rater = g.rater AND h.relation = g.relation
                            AND h.period <> g.period AND h.period = ANY (kinerja_period_parts(p))
                            AND g.period = ANY (kinerja_period_parts(h.period)))
    ), v AS (
        SELECT t.employee, t.rater, t.relation, x.i,
               coalesce(round(sum(x.v * t.months) FILTER (WHERE x.v > 0)::numeric
                              / nullif(sum(t.months) FILTER (WHERE x.v > 0), 0)), 0)::smallint AS m
        FROM t, unnest(t.vals) WITH ORDINALITY AS x(v, i)
        GROUP BY t.employee, t.rater, t.relation, x.i
    )
    SELECT t.employee, t.rater, t.relation,
           (SELECT array_agg(v.m ORDER BY v.i) FROM v
            WHERE v.employee = t.employee AND v.rater = t.rater AND v.relation = t.relation),
           (array_agg(t.hasil_kerja) FILTER (WHERE t.period = p))[1],
           max(t.ts)
    FROM t
    GROUP BY t.employee, t.rater, t.relation
$$;

-- The work results period p is computed from (rules above): a part's figure is left out
-- when the same indicator has a figure for a longer part containing it; the others are
-- items of the weighted mean with their weight times their months.
CREATE FUNCTION kinerja_period_work_results(p text)
RETURNS TABLE (employee text, target double precision, realization double precision, direction text,
               weight double precision, indicator text)
LANGUAGE sql STABLE AS $$
    SELECT w.employee, w.target, w.realization, w.direction,
           CASE WHEN w.period = p THEN w.weight ELSE w.weight * cardinality(kinerja_period_months(w.period)) END,
           CASE WHEN w.period = p THEN w.indicator ELSE w.indicator || '@' || w.period END
    FROM work_results w
    WHERE w.period = ANY (kinerja_period_parts(p))
      AND NOT EXISTS (SELECT 1 FROM work_results h
                      WHERE h.employee = w.employee AND h.indicator = w.indicator
                        AND h.period <> w.period AND h.period = ANY (kinerja_period_parts(p))
                        AND w.period = ANY (kinerja_period_parts(h.period)))
$$;

-- 0004's, with quarters: the first instant after a period, as wall-clock time.
CREATE OR REPLACE FUNCTION kinerja_period_end(p_period text) RETURNS timestamp
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'
            THEN make_timestamp(left(p_period, 4)::int, substr(p_period, 6, 2)::int, 1, 0, 0, 0) + interval '1 month'
        WHEN p_period ~ '^[0-9]{4}-Q[1-4]$'
            THEN make_timestamp(left(p_period, 4)::int, (substr(p_period, 7, 1)::int - 1) * 3 + 1, 1, 0, 0, 0)
                 + interval '3 months'
        WHEN p_period ~ '^[0-9]{4}$'
            THEN make_timestamp(p_period::int, 1, 1, 0, 0, 0) + interval '1 year'
    END
$$;

-- 0007's propagation, extended: a month whose inputs changed makes its quarter dirty
-- (and appraised, under quarterly cadence) and its year dirty when appraised; a quarter
-- makes its year dirty when appraised.
CREATE OR REPLACE FUNCTION score_periods_propagate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    q text := kinerja_period_quarter(NEW.period);
BEGIN
    IF q IS NOT NULL AND kinerja_setting('workflow.cadence', 'monthly') = 'quarterly' THEN
        INSERT INTO score_periods AS s (period) VALUES (q)
        ON CONFLICT (period) DO UPDATE SET generation = s.generation + 1, changed_at = now();
    ELSIF q IS NOT NULL THEN
        UPDATE score_periods SET generation = generation + 1, changed_at = now() WHERE period = q;
    END IF;
    UPDATE score_periods SET generation = generation + 1, changed_at = now()
    WHERE period = substr(NEW.period, 1, 4);
    RETURN NULL;
END
$$;

DROP TRIGGER score_periods_propagate ON score_periods;
CREATE TRIGGER score_periods_propagate
    AFTER INSERT OR UPDATE OF generation ON score_periods
    FOR EACH ROW WHEN (NEW.period ~ '^[0-9]{4}-((0[1-9]|1[0-2])|Q[1-4])$')
    EXECUTE FUNCTION score_periods_propagate();

-- 0006's, narrowed to the cadence: a month's results are not offered under quarterly
-- cadence (they are inputs of the quarter).
CREATE OR REPLACE FUNCTION kinerja_after_score(p_period text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF kinerja_period_appraised(p_period) THEN
        PERFORM kinerja_request_signoff(p_period, true, 'score-worker',
                                        'the supervisor evaluation and work results are in');
    END IF;
END
$$;

-- Period close makes the longer periods appraised once they end: the quarters (quarterly
-- cadence) and the years of the months and quarters appraised, so every year has its
-- annual result. Called by kinerja_schedule_close_periods before it closes.
CREATE FUNCTION kinerja_schedule_open_longer(p_tz text, p_grace_days int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    local_now timestamp := now() AT TIME ZONE p_tz;
    n bigint;
BEGIN
    WITH longer AS (
        SELECT kinerja_period_quarter(sp.period) AS period FROM score_periods sp
        WHERE kinerja_period_level(sp.period) = 2 AND kinerja_setting('workflow.cadence', 'monthly') = 'quarterly'
        UNION
        SELECT substr(sp.period, 1, 4) FROM score_periods sp WHERE kinerja_period_level(sp.period) IN (1, 2)
    ), ins AS (
        INSERT INTO score_periods (period)
        SELECT l.period FROM longer l
        WHERE kinerja_period_end(l.period) + make_interval(days => p_grace_days) <= local_now
        ORDER BY 1
        ON CONFLICT (period) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO n FROM ins;
    RETURN n;
END
$$;

-- 0006's job, with the cadence: the longer periods are made appraised first, and only
-- appraised periods are closed (a month under quarterly cadence is not).
CREATE OR REPLACE FUNCTION kinerja_schedule_close_periods(p_tz text, p_grace_days int, p_ran_by text,
                                                          p_lock_pid int)
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
    PERFORM kinerja_schedule_open_longer(p_tz, p_grace_days);
    WITH ended AS (
        INSERT INTO closed_periods AS c (period, period_end, closed_by)
        SELECT sp.period, kinerja_period_end(sp.period) AT TIME ZONE p_tz, p_ran_by
        FROM score_periods sp
        WHERE kinerja_period_end(sp.period) + make_interval(days => p_grace_days) <= local_now
          AND kinerja_period_appraised(sp.period)
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

-- An input of a month or a quarter is an input of its quarter and year too: when one of
-- those results is frozen (approved, appealed, final) the input is late for it, counted
-- on the result as 0002 counts the inputs of its own period (the late_events table keeps
-- one row per event, for the period the event names).
CREATE FUNCTION event_log_late_longer() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE results r SET late_events = r.late_events + l.n
    FROM (SELECT n.employee, x.longer, count(*) AS n
          FROM new_events n,
               unnest(ARRAY[kinerja_period_quarter(n.period),
                            CASE WHEN kinerja_period_level(n.period) IN (1, 2) THEN substr(n.period, 1, 4) END])
                   AS x(longer)
          WHERE n.type IN ('evaluation', 'work_result', 'citizen_feedback') AND n.employee IS NOT NULL
            AND x.longer IS NOT NULL
          GROUP BY 1, 2) l
    WHERE r.employee = l.employee AND r.period = l.longer
      AND r.state IN ('approved', 'appealed', 'final');
    RETURN NULL;
END
$$;

CREATE TRIGGER event_log_late_longer
    AFTER INSERT ON event_log
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION event_log_late_longer();

-- The periodic results beside an annual one (SPEC 5.9): for employee p_nip and year
-- p_year, each periodic period of the year under the cadence (four quarters, or twelve
-- months) in order, with its result's predikat, state and current version (null where
-- the period has no result yet), as a JSON array.
CREATE FUNCTION kinerja_periodic_results(p_nip text, p_year text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('period', x.period, 'predikat', r.predikat,
                                                 'state', r.state, 'version', r.version) ORDER BY x.ord),
                    '[]'::jsonb)
    FROM unnest(CASE WHEN kinerja_setting('workflow.cadence', 'monthly') = 'quarterly'
                     THEN ARRAY(SELECT p_year || '-Q' || q FROM generate_series(1, 4) AS q ORDER BY q)
                     ELSE kinerja_period_months(p_year) END) WITH ORDINALITY AS x(period, ord)
    LEFT JOIN results r ON r.employee = p_nip AND r.period = x.period
    WHERE kinerja_period_level(p_year) = 0
$$;

GRANT EXECUTE ON FUNCTION kinerja_period_level(text), kinerja_period_parts(text), kinerja_period_quarter(text),
    kinerja_period_appraised(text), kinerja_period_ratings(text), kinerja_period_work_results(text),
    kinerja_schedule_open_longer(text, int), kinerja_periodic_results(text, text) TO kinerja_app;
