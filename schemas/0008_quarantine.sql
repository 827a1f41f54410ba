-- 0008_quarantine: a result that cannot be computed or stored is set aside on its own
-- (issue 12), never the whole period.
--
-- The score worker (workers/scorer.c) checks every number of a result before writing
-- it: a result with a non-finite number (NaN, infinity: e.g. from work_results rows
-- stored before the broker bounded weight) or a score outside 0..100 is not written;
-- it is recorded here with its employee, period, the error (naming the field) and the
-- event ids of its inputs (the work results and evaluations about the employee in that
-- period), and the rest of the period is stored as usual. The row goes away when a
-- later computation of the period stores a result for the employee (its inputs were
-- corrected, e.g. by a new work_result replacing the bad one). `kinerja status` lists
-- the rows ("quarantined"); the score worker's /metrics has kinerja_score_quarantined.
CREATE TABLE score_quarantine (
    employee   text NOT NULL,
    period     text NOT NULL,
    error      text NOT NULL,
    event_ids  uuid[] NOT NULL DEFAULT '{}',
    first_at   timestamptz NOT NULL DEFAULT now(),
    last_at    timestamptz NOT NULL DEFAULT now(),
    tries      int NOT NULL DEFAULT 1,   -- computations that set it aside
    PRIMARY KEY (employee, period)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON score_quarantine TO kinerja_app;
