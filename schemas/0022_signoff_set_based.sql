-- 0022_signoff_set_based: the curve highlight of sign-off requests, once per statement
-- (issue 15, recalculation at scale).
--
-- 0013's notifications_curve_highlight ran for each inserted row (BEFORE INSERT FOR EACH
-- ROW): a PL/pgSQL call, a lookup of the employee's unit and kinerja_curve_warning (a
-- unit_predikat lookup) for every signoff_requested. At 99 000 requests after a first
-- computation that was about 2 s, for a warning most units never have. Now one statement
-- trigger looks at the requests it inserted (a transition table), computes the warning
-- once per (unit, period) that has an organisation predikat, and sets highlights.curve
-- on the requests of units that break their pattern; a statement with none updates
-- nothing. Same rule, same payload: the requests of one statement see the results as
-- that statement left them (0013's row trigger saw them as the statement went).
DROP TRIGGER notifications_curve_highlight ON notifications;
DROP FUNCTION notifications_curve_highlight();

CREATE FUNCTION notifications_curve_highlights() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM unit_predikat) THEN
        RETURN NULL; -- no unit has an organisation predikat: no warning anywhere
    END IF;
    WITH todo AS (
        SELECT i.id, coalesce(i.payload ->> 'unit', e.unit) AS unit, i.period
        FROM new_notifications i
        LEFT JOIN employees e ON e.nip = i.employee
        WHERE i.kind = 'signoff_requested' AND jsonb_typeof(i.payload -> 'highlights') = 'object'
    ), warn AS (
        SELECT u.unit, u.period, kinerja_curve_warning(u.unit, u.period) AS w
        FROM (SELECT DISTINCT t.unit, t.period FROM todo t
              JOIN unit_predikat p ON p.unit = t.unit AND p.period = t.period) u
    )
    UPDATE notifications n SET payload = jsonb_set(n.payload, '{highlights,curve}', to_jsonb(warn.w))
    FROM todo JOIN warn ON warn.unit = todo.unit AND warn.period = todo.period
    WHERE n.id = todo.id AND warn.w IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER notifications_curve_highlights AFTER INSERT ON notifications
    REFERENCING NEW TABLE AS new_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_curve_highlights();

GRANT EXECUTE ON FUNCTION notifications_curve_highlights() TO kinerja_app;
