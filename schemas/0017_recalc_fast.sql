-- 0017_recalc_fast: a cheaper full recalculation and a cheaper store of many versions
-- (issue 15, bench/recalc_bench.py). Results are unchanged: the same rows are derived,
-- the same versions stored.
--
-- kinerja_rebuild: 0002's, with three costs taken out.
--   * The "latest per key" sort compares the keys byte by byte (COLLATE "C"): strcoll
--     under the database's C.UTF-8 locale was most of the sort's time. Which event is the
--     latest per key does not depend on the order of the keys, only on their equality,
--     and equality is byte equality under either collation; ts DESC, id DESC decide
--     within a key as before.
--   * The latest ids go to a temp table without an index (0002 kept a primary key on
--     it: three million random uuids inserted into a btree); it is only ever hash-joined
--     after ANALYZE.
--   * The ids still missing from the derived table are listed first, and the view that
--     parses payloads is read only when there are any (on a consistent period, the usual
--     recalculation, there are none; 0002's plan could parse every payload to find that
--     out). The periods touched are found with EXISTS per period when the period is
--     given, not by reading every event of it once more.
--
-- score_versions.result is compressed with lz4 (a first computation stores one result
-- JSON of about 6 kB per employee; pglz was several times slower to write and to read
-- back for the sign-off requests). Values already stored keep their compression; what
-- they decompress to is the same.

ALTER TABLE score_versions ALTER COLUMN result SET COMPRESSION lz4;

-- kinerja_rebuild(): its body is schemas/functions/kinerja_rebuild.sql (applied after the migrations).
