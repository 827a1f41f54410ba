-- 0023_versions_direct: the score worker COPYs new versions straight into score_versions
-- (issue 15, recalculation at scale).
--
-- A computation wrote every new version twice: COPY into a temporary table (each ~5.5 kB
-- result parsed, compressed and written there), then INSERT ... SELECT into
-- score_versions for the results the upsert took (parsed, compressed and written again).
-- Now the versions are COPY'd into score_versions as they are computed, the result rows
-- (small) into the temporary table after them, and results are upserted from it. A
-- result frozen (signed) between the load and the upsert keeps its version; the version
-- written for it in this transaction is taken back before the commit, so no one ever
-- sees it: score_versions stays append-only for everything committed.
--
-- kinerja_versions_take_back(period) does that, with the owner's rights (the daemons'
-- role has no DELETE on score_versions), and deletes only the rows the calling
-- transaction itself inserted: the trigger score_versions_immutable now lets a DELETE
-- through for such a row and refuses every other (its body: schemas/functions/
-- score_versions_refuse_change.sql).
CREATE FUNCTION kinerja_versions_take_back(p_period text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    gone bigint;
BEGIN
    -- _score_new: the calling computation's result rows (workers/score_store.c)
    DELETE FROM score_versions v
    USING pg_temp._score_new n
    WHERE v.employee = n.employee AND v.period = p_period AND v.version = n.version
      AND v.xmin = pg_current_xact_id()::xid
      AND NOT EXISTS (SELECT 1 FROM results r
                      WHERE r.employee = n.employee AND r.period = p_period AND r.version = n.version);
    GET DIAGNOSTICS gone = ROW_COUNT;
    RETURN gone;
END
$$;
REVOKE ALL ON FUNCTION kinerja_versions_take_back(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kinerja_versions_take_back(text) TO kinerja_app;
