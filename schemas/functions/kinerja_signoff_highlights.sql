-- kinerja_signoff_highlights: its one definition (schemas/functions/, re-applied by every `kinerja migrate`
-- after the migrations; see schemas/functions/README). From 0003_workflow.sql; since
-- 0020 the rule lives in kinerja_signoff_facts and kinerja_signoff_from_facts; since 0021
-- it takes the result as score_versions holds it, json (text since 0030).
-- The highlights a supervisor sees with a sign-off request: the calibration flag and
-- which values it concerns, events that arrived while frozen, rater groups hidden by
-- anonymity, the two ratings, and the version this request replaces (if any).
CREATE OR REPLACE FUNCTION kinerja_signoff_highlights(p_result text, p_calibration boolean, p_late int,
                                                      p_replaces int) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT kinerja_signoff_from_facts(kinerja_signoff_facts(p_result), p_calibration, p_late, p_replaces)
$$;
