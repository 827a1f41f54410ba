-- event_log_late_longer: its one definition (schemas/functions/, re-applied by every `kinerja migrate`
-- after the migrations; see schemas/functions/README). From 0016_ingest_fast.sql.
-- 0014's, grouped first: the longer periods are computed per (employee, period) of the
-- batch, not per event.
CREATE OR REPLACE FUNCTION event_log_late_longer() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE results r SET late_events = r.late_events + l.n
    FROM (SELECT g.employee, x.longer, sum(g.n) AS n
          FROM (SELECT n.employee, n.period, count(*) AS n
                FROM new_events n
                WHERE n.type IN ('evaluation', 'work_result', 'citizen_feedback') AND n.employee IS NOT NULL
                GROUP BY 1, 2) g,
               unnest(ARRAY[kinerja_period_quarter(g.period),
                            CASE WHEN kinerja_period_level(g.period) IN (1, 2) THEN substr(g.period, 1, 4) END])
                   AS x(longer)
          WHERE x.longer IS NOT NULL
          GROUP BY 1, 2) l
    WHERE r.employee = l.employee AND r.period = l.longer
      AND kinerja_frozen(r.state);
    RETURN NULL;
END
$$;
