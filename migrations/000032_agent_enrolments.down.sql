DROP TABLE IF EXISTS agent_certificates;
DROP TABLE IF EXISTS agent_enrolments;
