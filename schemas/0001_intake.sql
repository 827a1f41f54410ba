-- placeholder; replaced by the intake schema
SELECT 1;
