-- 0012_angka_kredit: the org CSV's optional columns (SPEC 4). units.name exists since
-- 0001 (the import now fills it from `unit_name`); employees gain ak_coefficient, the
-- functional position's annual angka kredit coefficient (PerBKN 3/2023; SPEC 5.11),
-- NULL for a position without one. At most three decimals: the report computes the
-- angka kredit in exact integer thousandths (common/angkakredit.c).
ALTER TABLE employees ADD COLUMN ak_coefficient numeric(8, 3) CHECK (ak_coefficient >= 0);
