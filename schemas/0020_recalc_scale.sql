-- 0020_recalc_scale: recalculation at scale (issue 15, score side).
--
-- A sign-off request shows a few facts of the version it offers (the values flagged by
-- calibration, the rater groups hidden by anonymity, the two ratings, the training).
-- They were read out of each version's whole result (~6 kB of jsonb, detoasted and
-- walked once per request: 60 us each, 6 s of the 17 s of sign-off requests at 100 000
-- new results). The score worker now writes them with the version, as one small object
-- (common/score_json.c score_signoff_json), and the requests read that.
--
-- signoff: {"calibration_values":[..],"groups_hidden":[..],"hasil_kerja":..,
-- "perilaku":..,"training":[..]}, exactly kinerja_signoff_facts(result); NULL for
-- versions written before this migration or by hand, which are read from result.
ALTER TABLE score_versions ADD COLUMN signoff jsonb;
COMMENT ON COLUMN score_versions.signoff IS
    'the sign-off facts of result (kinerja_signoff_facts(result)), written by the score worker; NULL: read result';

-- Bodies in schemas/functions/ (applied after the migrations):
--   kinerja_signoff_facts(jsonb)                      new: the facts of a result;
--   kinerja_signoff_from_facts(jsonb, bool, int, int) new: the highlights from the facts;
--   kinerja_signoff_highlights(...)                   0003's, now from the two above;
--   kinerja_request_signoff(...)                      0006's, reading score_versions.signoff.
