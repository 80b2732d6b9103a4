ALTER TABLE metrics_5m DROP CONSTRAINT metrics_5m_pkey;
ALTER TABLE metrics_5m ADD CONSTRAINT metrics_5m_pkey PRIMARY KEY (site_id, check_id, label, at);
ALTER TABLE metrics_1h DROP CONSTRAINT metrics_1h_pkey;
ALTER TABLE metrics_1h ADD CONSTRAINT metrics_1h_pkey PRIMARY KEY (site_id, check_id, label, at);
