DROP TABLE IF EXISTS result_quarantine;
