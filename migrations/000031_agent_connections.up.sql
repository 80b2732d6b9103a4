-- Host agents (bergamot agent) connected to a serve node's hub.
--
-- agent_connections: one row per agent connection (tenant data), kept fresh
-- while it lives, so a check for an agent is routed to the node holding
-- its connection (agent/hub, store/agents.go).
-- check_schedule.agent marks checks of the agent engine: the scheduler
-- queues them for the hubs (River queue "agent") instead of a zone.
CREATE TABLE agent_connections (
    id           uuid PRIMARY KEY,
    site_id      uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    agent_id     text NOT NULL CHECK (agent_id <> '' AND length(agent_id) <= 200),
    host_name    text NOT NULL DEFAULT '',
    version      text NOT NULL DEFAULT '',
    node         text NOT NULL,
    serial       text NOT NULL DEFAULT '',
    cert_expires timestamptz,
    remote       text NOT NULL DEFAULT '',
    connected_at timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    closed_at    timestamptz
);
CREATE INDEX agent_connections_agent_idx ON agent_connections (site_id, agent_id, connected_at DESC);

ALTER TABLE agent_connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_connections FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON agent_connections TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON agent_connections FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
GRANT SELECT, INSERT, UPDATE, DELETE ON agent_connections TO bergamot_app;
GRANT SELECT ON agent_connections TO bergamot_reporting;

ALTER TABLE check_schedule ADD COLUMN agent boolean NOT NULL DEFAULT false;
