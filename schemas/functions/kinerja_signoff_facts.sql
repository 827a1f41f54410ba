-- kinerja_signoff_facts: its one definition (schemas/functions/, re-applied by every `kinerja migrate`
-- after the migrations; see schemas/functions/README). New in 0020_recalc_scale.sql.
-- The facts of a result a sign-off request shows (0003's kinerja_signoff_highlights
-- read them from the result): the values flagged by calibration and the rater groups
-- hidden by anonymity (each sorted), the two ratings, the training. The score worker
-- writes the same object with each version (score_versions.signoff, common/score_json.c
-- score_signoff_json); this derives it for versions without one. NULL result: no facts.
-- Takes the result as score_versions holds it: json since 0021_versions_json.sql, text
-- since 0030_versions_text.sql.
CREATE OR REPLACE FUNCTION kinerja_signoff_facts(p_result text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'calibration_values', coalesce((SELECT jsonb_agg(k ORDER BY k)
                                        FROM jsonb_each(x.r #> '{breakdown,values}') AS v(k, d)
                                        WHERE jsonb_typeof(v.d) = 'object' AND v.d ->> 'calibration' = 'true'),
                                       '[]'::jsonb),
        'groups_hidden', coalesce((SELECT jsonb_agg(k ORDER BY k)
                                   FROM jsonb_each(x.r #> '{perilaku,groups}') AS g(k, d)
                                   WHERE jsonb_typeof(g.d) = 'object' AND g.d ->> 'shown' = 'false'),
                                  '[]'::jsonb),
        'hasil_kerja', x.r #>> '{hasil_kerja,rating}',
        'perilaku', x.r #>> '{perilaku,rating}',
        'training', coalesce(x.r -> 'training', '[]'::jsonb))
    FROM (SELECT p_result::jsonb AS r) x
$$;
