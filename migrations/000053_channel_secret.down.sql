DROP FUNCTION IF EXISTS bergamot_channel(text);
DROP TABLE IF EXISTS channel_secret;
