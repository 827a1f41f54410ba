-- score_versions is append-only (0002): an UPDATE is refused, and so is a DELETE of any
-- row but one the current transaction itself inserted, not yet seen by anyone (the score
-- worker's take-back of a version whose result was signed meanwhile, 0023).
CREATE OR REPLACE FUNCTION score_versions_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM score_versions s
        WHERE s.employee = OLD.employee AND s.period = OLD.period AND s.version = OLD.version
          AND s.xmin = pg_current_xact_id()::xid) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'score_versions is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
