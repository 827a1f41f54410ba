-- 0013_unit_predikat: the organisation predikat of a unit per period and the
-- distribution curve it sets for its staff's predikat (SPEC 5.10; SE MenPANRB 3/2023).
--
-- unit_predikat holds the current predikat of each (unit, period), set by an operator
-- with `kinerja unit-predikat` (a direct operator write like `org import`, not an event:
-- see docs/DOMAIN.md); every change is also a row of unit_predikat_history, with who
-- (kinerja_actor()) and when, so a later call replaces the current one and keeps the past.
--
-- curve_rules is a COPY of the pattern table in common/curve.c (the one place the rules
-- are written down), refreshed by `kinerja unit-predikat` on every call, so the rules the
-- sign-off warning reads are always the ones of the binary that set the predikat. Each
-- rule counts the current results of the unit's employees whose predikat is in
-- `predikat` and compares: at_most_pct (n x 100 <= value x total), at_least_pct
-- (n x 100 >= value x total), at_least_n (n >= value). A unit with no results breaks
-- nothing.
--
-- The `curve` warning: a trigger on notifications adds highlights.curve (text naming
-- each broken rule with its figures) to every signoff_requested whose unit, for its
-- period, breaks its pattern at the moment the request is queued. `kinerja queue`
-- reads kinerja_curve_warning live. The curve informs; it never changes a result:
-- nothing here writes results, score_versions or any input table.

CREATE TABLE unit_predikat (
    unit     text NOT NULL REFERENCES units (code),
    period   text NOT NULL CHECK (period ~ '^[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$'),
    predikat text NOT NULL CHECK (predikat IN ('istimewa', 'baik', 'butuh_perbaikan', 'kurang', 'sangat_kurang')),
    actor    text NOT NULL,
    note     text CHECK (length(note) <= 2000),
    set_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit, period)
);

CREATE TABLE unit_predikat_history (
    id       bigserial PRIMARY KEY,
    unit     text NOT NULL,
    period   text NOT NULL,
    predikat text NOT NULL,
    previous text,                 -- the predikat it replaced, NULL for the first
    actor    text NOT NULL,
    note     text,
    set_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX unit_predikat_history_idx ON unit_predikat_history (unit, period, id);

CREATE TABLE curve_rules (
    id       text PRIMARY KEY,
    ord      int NOT NULL,
    pattern  text NOT NULL,
    predikat text[] NOT NULL,
    op       text NOT NULL CHECK (op IN ('at_most_pct', 'at_least_pct', 'at_least_n')),
    value    int NOT NULL CHECK (value >= 0),
    text     text NOT NULL
);

-- Sets (unit, period)'s predikat: a no-op when it already is p_predikat (returns
-- 'unchanged'), else upserts it and appends the change to the history ('set' or
-- 'replaced'). Raises when the unit is unknown.
CREATE FUNCTION kinerja_set_unit_predikat(p_unit text, p_period text, p_predikat text, p_note text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    old text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM units WHERE code = p_unit) THEN
        RAISE EXCEPTION 'unit: unknown unit %', p_unit USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT predikat INTO old FROM unit_predikat WHERE unit = p_unit AND period = p_period FOR UPDATE;
    IF old IS NOT DISTINCT FROM p_predikat THEN
        RETURN 'unchanged';
    END IF;
    INSERT INTO unit_predikat (unit, period, predikat, actor, note)
    VALUES (p_unit, p_period, p_predikat, kinerja_actor(), p_note)
    ON CONFLICT (unit, period) DO UPDATE
        SET predikat = EXCLUDED.predikat, actor = EXCLUDED.actor, note = EXCLUDED.note, set_at = now();
    INSERT INTO unit_predikat_history (unit, period, predikat, previous, actor, note)
    VALUES (p_unit, p_period, p_predikat, old, kinerja_actor(), p_note);
    RETURN CASE WHEN old IS NULL THEN 'set' ELSE 'replaced' END;
END
$$;

-- The curve warning of (unit, period): NULL when the unit has no predikat for the
-- period, no current result with a predikat, or breaks no rule; else
-- "unit U (baik) breaks baik.max_baik (at most 70% Baik): 8 of 10 = 80%" with every
-- broken rule, in table order, joined by "; " (the words of curve_rule_describe).
-- Current results: each result of the period of an employee now in the unit, its
-- predikat the revised one where an appeal revised it, signed or not.
CREATE FUNCTION kinerja_curve_warning(p_unit text, p_period text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_pattern text;
    w text;
BEGIN
    -- most units have no organisation predikat: no count of their results at all
    SELECT predikat INTO v_pattern FROM unit_predikat WHERE unit = p_unit AND period = p_period;
    IF v_pattern IS NULL THEN
        RETURN NULL;
    END IF;
    WITH d AS (
        SELECT coalesce(r.revised_predikat, r.predikat) AS p
        FROM results r JOIN employees e ON e.nip = r.employee
        WHERE e.unit = p_unit AND r.period = p_period AND coalesce(r.revised_predikat, r.predikat) IS NOT NULL
    ), t AS (
        SELECT count(*)::bigint AS total FROM d
    ), c AS (
        SELECT k.id, k.ord, k.op, k.value, k.text,
               (SELECT count(*) FROM d WHERE d.p = ANY (k.predikat))::bigint AS n
        FROM curve_rules k WHERE k.pattern = v_pattern
    )
    SELECT 'unit ' || p_unit || ' (' || v_pattern || ') breaks '
           || string_agg(format('%s (%s): %s of %s = %s%%', c.id, c.text, c.n, t.total,
                                (c.n * 200 + t.total) / (2 * t.total)), '; ' ORDER BY c.ord)
    INTO w
    FROM c, t
    WHERE t.total > 0
      AND NOT CASE c.op WHEN 'at_most_pct' THEN c.n * 100 <= c.value::bigint * t.total
                        WHEN 'at_least_pct' THEN c.n * 100 >= c.value::bigint * t.total
                        ELSE c.n >= c.value END;
    RETURN w;
END
$$;

-- How many (unit, period) with an organisation predikat break their pattern now
-- (`kinerja status`, "curve_units").
CREATE FUNCTION kinerja_curve_units() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM unit_predikat u WHERE kinerja_curve_warning(u.unit, u.period) IS NOT NULL
$$;

-- highlights.curve on every signoff_requested in a unit that breaks its pattern, as
-- the request is queued (whichever function queues it: schemas/0006's request,
-- renewal and reassignment paths all insert here).
CREATE FUNCTION notifications_curve_highlight() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    w text;
BEGIN
    IF NEW.kind = 'signoff_requested' AND jsonb_typeof(NEW.payload -> 'highlights') = 'object' THEN
        w := kinerja_curve_warning(coalesce(NEW.payload ->> 'unit',
                                            (SELECT unit FROM employees WHERE nip = NEW.employee)),
                                   NEW.period);
        IF w IS NOT NULL THEN
            NEW.payload := jsonb_set(NEW.payload, '{highlights,curve}', to_jsonb(w));
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER notifications_curve_highlight BEFORE INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION notifications_curve_highlight();

GRANT SELECT ON unit_predikat, unit_predikat_history, curve_rules TO kinerja_app;
GRANT EXECUTE ON FUNCTION kinerja_curve_warning(text, text), kinerja_curve_units(),
    notifications_curve_highlight() TO kinerja_app;
