package rest

const scratchSQL = `UPDATE check_state SET updated_at = now()`
