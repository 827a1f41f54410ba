-- 0008_quarantine: a result that cannot be computed or stored is set aside on its own
-- (issue 12), never the whole period.
--
-- The score worker (workers/scorer.c) checks the stored inputs of a period against the
-- event bounds (a work_results row with weight 1e308, e.g. stored before the broker
-- bounded weight; an evaluation value above 5; a feedback answer outside 1..4) and
-- every number of a result before writing it (non-finite, or a score outside 0..100).
-- Such a result is not written; it is recorded here with its employee, period, the
-- error (naming the field) and the event ids of its inputs (the work results and
-- evaluations about the employee in that period), and the rest of the period is stored
-- as usual. Feedback about no one that fails the check is left out of its unit's IKM and
-- recorded with employee 'unit:CODE' (the error names the feedback event). The row goes away when a
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
