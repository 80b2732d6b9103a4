ALTER TABLE check_schedule DROP COLUMN IF EXISTS agent;
DROP TABLE IF EXISTS agent_connections;
