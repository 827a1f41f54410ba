-- kinerja_signoff_from_facts: its one definition (schemas/functions/, re-applied by every `kinerja migrate`
-- after the migrations; see schemas/functions/README). New in 0020_recalc_scale.sql.
-- The highlights a supervisor sees with a sign-off request (0003's object, same keys and
-- values), from the version's facts (kinerja_signoff_facts / score_versions.signoff) and
-- the result's calibration flag, late events and the version the request replaces.
-- STABLE, not IMMUTABLE: jsonb_build_object is STABLE, and PostgreSQL inlines an
-- IMMUTABLE SQL function only if its body is immutable too. Declared IMMUTABLE it ran
-- as a function call per request (a period's sign-off part at 100 000: ~1.4 s of its
-- ~4 s under EXPLAIN ANALYZE, against 0.09 s inlined; test_pgstore checks the plan).
CREATE OR REPLACE FUNCTION kinerja_signoff_from_facts(p_facts jsonb, p_calibration boolean, p_late int,
                                                      p_replaces int) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'calibration', p_calibration,
        'calibration_values', p_facts -> 'calibration_values',
        'late_events', p_late,
        'groups_hidden', p_facts -> 'groups_hidden',
        'hasil_kerja', p_facts ->> 'hasil_kerja',
        'perilaku', p_facts ->> 'perilaku',
        'replaces_version', p_replaces)
$$;
