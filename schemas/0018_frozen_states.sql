-- 0018_frozen_states: one home for "frozen" (issue 16 seam 4). A result the pejabat
-- penilai has signed is frozen: approved, appealed or final (SPEC 6). Inputs for it are
-- late events, the score engine writes it no new version, the reports count it as
-- signed. kinerja_frozen(state) is the rule; SQL uses it (schemas/functions/), and C
-- asks it: the score store loads `kinerja_frozen(state)` with each result, the views
-- and reports filter by it (common/resultstore.h RS_SIGNED). Inlined by the planner
-- (a SQL IMMUTABLE function of one expression), so plans are those of the IN list.
CREATE FUNCTION kinerja_frozen(s result_state) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT s IN ('approved', 'appealed', 'final')
$$;
COMMENT ON FUNCTION kinerja_frozen(result_state) IS
    'true for the signed states (approved, appealed, final): no new version, inputs are late';
