DROP TABLE IF EXISTS passive_freshness;
