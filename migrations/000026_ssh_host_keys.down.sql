DROP TABLE IF EXISTS ssh_host_keys;
