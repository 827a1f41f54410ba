-- 0025_signoff_parts: a large period's sign-off requests in parts, each its own
-- transaction on its own connection (issue 15, recalculation at scale).
--
-- The requests of a period (kinerja_request_signoff: the UPDATE of its results, their
-- audit, the payloads, the notifications) are PostgreSQL's work alone, on one backend:
-- at 100 000 results ~7 s while the score worker waits and the other cores idle. The
-- score worker now commits the results and versions of a large period first
-- (score.signoff_split_min results or more), then makes the requests in score.threads
-- parts at once, one connection each (kinerja_after_score(period, part, parts)), and
-- only then marks the period computed (score_periods.computed_generation). A worker that
-- dies in between leaves the period behind: the next computation finds every version
-- unchanged and makes the requests that are missing (kinerja_request_signoff is
-- idempotent: it moves only collecting results and requests only what it moved or what
-- changed version).
--
-- The parts split the employees by kinerja_part_of(nip, parts): disjoint and covering,
-- so every request, audit row and superseded request concerns one part only.

CREATE FUNCTION kinerja_part_of(p_key text, p_parts int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (hashtext(p_key) & 2147483647) % p_parts
$$;

-- p_part, p_parts added (body in schemas/functions/kinerja_request_signoff.sql, made
-- again after the migrations; EXECUTE is PUBLIC's, as for every function here).
DROP FUNCTION kinerja_request_signoff(text, boolean, text, text, text);

-- kinerja_after_score for one part of a period (0014's rule: only an appraised period's
-- results are offered)
CREATE FUNCTION kinerja_after_score(p_period text, p_part int, p_parts int) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT kinerja_period_appraised(p_period) THEN
        RETURN 0;
    END IF;
    RETURN kinerja_request_signoff(p_period, true, 'score-worker',
                                   'the supervisor evaluation and work results are in', NULL, p_part, p_parts);
END
$$;

GRANT EXECUTE ON FUNCTION kinerja_part_of(text, int), kinerja_after_score(text, int, int) TO kinerja_app;
