package monitor

import _ "github.com/jackc/pgx/v5"
