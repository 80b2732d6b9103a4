DROP SCHEMA IF EXISTS reporting CASCADE;
DROP TABLE IF EXISTS notification_log, metrics, downtimes, comments, alerts, state_history, check_state, checks,
    credentials, locations, groups, contacts, teams, time_periods, commands, config_revisions, config_objects,
    sessions, api_tokens, memberships, workers, result_inbox, check_schedule, users, sql_roles, sites CASCADE;
DROP FUNCTION IF EXISTS bergamot_site(), reporting_site();
