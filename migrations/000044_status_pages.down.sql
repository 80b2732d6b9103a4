DROP FUNCTION IF EXISTS status_page_by_domain(text);
DROP TABLE IF EXISTS status_incident_updates;
DROP TABLE IF EXISTS status_incidents;
DROP TABLE IF EXISTS status_components;
DROP TABLE IF EXISTS status_pages;
