-- 0007_material_versions: a new score version only on a material change (SPEC 5.7).
--
-- The score worker (workers/scorer.c, rule in common/scoreversion.c) compares a fresh
-- computation with what the current version recorded and writes a new version only
-- when the result changed materially:
--   - its predikat, or the hasil kerja or perilaku rating, changed;
--   - the employee's own inputs changed (the evaluations about them, with the
--     supervisor's hasil_kerja judgement, and their work results): inputs_digest;
--   - or its numeric score moved by at least score.version_min_delta from the current
--     version's.
-- Drift below that (the joint rater-effects estimate moves every result a little when
-- anyone is rated; single citizen presses) is not a version: it neither fills a
-- supervisor's inbox nor makes a pending sign-off stale. Rows from before this
-- migration have no inputs_digest: for them the old rule (any change of the result
-- JSON) decides once, and the new version records the columns.
ALTER TABLE results
    ADD COLUMN hasil_rating text,     -- the current version's hasil kerja rating (above/meets/below/none)
    ADD COLUMN perilaku_rating text,  -- the current version's perilaku rating
    ADD COLUMN inputs_digest text;    -- hash of the employee's own inputs the current version used

-- Why each version was written ("first version", "predikat baik -> sangat_baik",
-- "inputs changed", "score moved 0.62", ...), for the result's history.
ALTER TABLE score_versions ADD COLUMN reason text;

-- The months whose citizen feedback belongs to a period (SPEC 3: feedback belongs to
-- the month of its ts, and through that month to its quarter and its year):
-- 'YYYY-MM' itself, the three months of 'YYYY-Qn', the twelve of 'YYYY'.
CREATE FUNCTION kinerja_period_months(p text) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p ~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN ARRAY[p]
        WHEN p ~ '^[0-9]{4}-Q[1-4]$' THEN
            ARRAY(SELECT substr(p, 1, 4) || '-' || lpad(((substr(p, 7, 1)::int - 1) * 3 + m)::text, 2, '0')
                  FROM generate_series(1, 3) AS m ORDER BY m)
        WHEN p ~ '^[0-9]{4}$' THEN
            ARRAY(SELECT p || '-' || lpad(m::text, 2, '0') FROM generate_series(1, 12) AS m ORDER BY m)
        ELSE ARRAY[]::text[]
    END
$$;

-- A month whose inputs changed makes its quarter and its year dirty too, when those are
-- appraised (have a row in score_periods): their results read the month's feedback.
CREATE FUNCTION score_periods_propagate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE score_periods
    SET generation = generation + 1, changed_at = now()
    WHERE period IN (substr(NEW.period, 1, 4),
                     substr(NEW.period, 1, 4) || '-Q' || ((substr(NEW.period, 6, 2)::int + 2) / 3)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER score_periods_propagate
    AFTER INSERT OR UPDATE OF generation ON score_periods
    FOR EACH ROW WHEN (NEW.period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$')
    EXECUTE FUNCTION score_periods_propagate();

-- When a period became dirty (its generation went ahead of computed_generation): the
-- score worker computes a period once its inputs have been quiet for score.settle_ms,
-- or at the latest score.settle_max_ms after dirty_since, so a burst of events is one
-- computation (one version, one sign-off request), not one per ingest batch.
ALTER TABLE score_periods ADD COLUMN dirty_since timestamptz;

CREATE FUNCTION score_periods_dirty_since() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.generation > NEW.computed_generation
       AND (TG_OP = 'INSERT' OR OLD.generation <= OLD.computed_generation OR OLD.dirty_since IS NULL) THEN
        NEW.dirty_since := clock_timestamp();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER score_periods_dirty_since
    BEFORE INSERT OR UPDATE ON score_periods
    FOR EACH ROW EXECUTE FUNCTION score_periods_dirty_since();

GRANT EXECUTE ON FUNCTION kinerja_period_months(text) TO kinerja_app;
