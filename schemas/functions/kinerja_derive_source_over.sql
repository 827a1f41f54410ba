-- kinerja_derive_source_over: its one definition (schemas/functions/, re-applied by every
-- `kinerja migrate` after the migrations; see schemas/functions/README). From 0019_ingest_lean.sql.
-- A derivation view's rows for the events in the session temp table _derive_new: the
-- view's own text over _derive_new when it allows it (kinerja_view_over_new, 0016), else
-- each event looked up in the view by its id (slower, the same rows: the events are in
-- event_log, stored by this transaction or an earlier one).
CREATE OR REPLACE FUNCTION kinerja_derive_source_over(v regclass) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    def text := kinerja_view_over_new(v);
BEGIN
    IF def IS NOT NULL AND regexp_count(def, '\mnew_events e\M') = 1 THEN
        RETURN '(' || regexp_replace(def, '\mnew_events e\M', '_derive_new e') || ')';
    END IF;
    RETURN format('(SELECT x.* FROM _derive_new n CROSS JOIN LATERAL'
                  ' (SELECT * FROM %s y WHERE y.event_id = n.id OFFSET 0) x)', v);
END
$$;
