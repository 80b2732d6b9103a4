package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// HostKeys is the ssh_host_keys table: the SSH host keys each site trusted
// on first use (checks/ssh.KnownHosts).
type HostKeys struct {
	Pool *pgxpool.Pool
}

// TrustHostKey returns the key recorded for host in site, recording key
// (SSH wire format) first when there is none. Two checks meeting a new
// server at once agree on the key that was recorded first.
func (h *HostKeys) TrustHostKey(ctx context.Context, site, host string, key []byte) (recorded []byte, firstSeen time.Time, err error) {
	id, err := uuid.Parse(site)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ssh host keys: bad site id %q: %w", site, err)
	}
	ctx = tenants.WithSite(ctx, id)
	err = tenants.InSite(ctx, h.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO ssh_host_keys (site_id, host, key_type, key, fingerprint)
			VALUES (bergamot_site(), $1, $2, $3, $4) ON CONFLICT (site_id, host) DO NOTHING`,
			host, keyType(key), key, Fingerprint(key))
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT key, first_seen FROM ssh_host_keys WHERE site_id = bergamot_site() AND host = $1`, host).
			Scan(&recorded, &firstSeen)
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ssh host keys: %w", err)
	}
	return recorded, firstSeen, nil
}

// ForgetHostKey drops the key recorded for host in ctx's site, so the next
// check trusts whatever key the server presents; it reports whether there
// was one.
func (h *HostKeys) ForgetHostKey(ctx context.Context, host string) (bool, error) {
	var n int64
	err := tenants.InSite(ctx, h.Pool, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM ssh_host_keys WHERE site_id = bergamot_site() AND host = $1`, host)
		n = tag.RowsAffected()
		return err
	})
	return n > 0, err
}

// Fingerprint is OpenSSH's SHA256 fingerprint of a key in wire format.
func Fingerprint(key []byte) string {
	sum := sha256.Sum256(key)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// keyType reads the algorithm name that starts a wire-format key.
func keyType(key []byte) string {
	if len(key) < 4 {
		return ""
	}
	n := binary.BigEndian.Uint32(key)
	if uint64(n) > uint64(len(key)-4) {
		return ""
	}
	return string(key[4 : 4+n])
}
