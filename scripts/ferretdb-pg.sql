SET client_min_messages = warning;
-- Storage settings for the tables FerretDB 1.24 creates on PostgreSQL (one per
-- collection, every document in one jsonb column), applied by scripts/bench.sh.
--
-- FerretDB looks a document up by _id with a containment test,
-- `_jsonb->'_id' @> $1`, which its own btree index on _id cannot serve, so an
-- update by _id scans the table and extracts _id from every row. A jsonb value
-- of more than about 2 KB is compressed in place by default, and the scan then
-- decompresses every such row for each lookup: updating one 2.5 KB
-- conversation among 500 cost about 3.4 ms instead of 1.3 ms. Rows up to
-- 8 KB are kept uncompressed in the table instead (toast_tuple_target).
-- Raw inserts are measured on the same cluster with the same setting.
CREATE OR REPLACE FUNCTION ferretdb_table_storage() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' LOOP
    EXECUTE format('ALTER TABLE %s SET (toast_tuple_target = 8160)', r.object_identity);
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS ferretdb_table_storage;
CREATE EVENT TRIGGER ferretdb_table_storage ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
  EXECUTE FUNCTION ferretdb_table_storage();
