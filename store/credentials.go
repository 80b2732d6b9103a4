package store

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// A credential is stored twice: its object, secrets redacted, in
// config_objects, and its full XML source sealed (encrypted with the
// Sealer's key, bound to the site) in credentials. This file is the one
// place that opens the sealed copy: for the stored configuration
// (LoadDocument), for a check about to run (OpenCredential) and for the
// notification channels (OpenCredentials).

// openSealed decrypts a sealed credential of site.
func (s *Sealer) openSealed(site uuid.UUID, name string, sealed []byte) ([]byte, error) {
	plain, err := s.Open(sealed, site[:])
	if err != nil {
		return nil, fmt.Errorf("credential %q: %w", name, err)
	}
	return plain, nil
}

// OpenCredential reads and decrypts the credential name of the site in
// ctx and returns its fields (username, password, key-id, key-secret). A
// credential that does not exist is an error wrapping pgx.ErrNoRows.
func OpenCredential(ctx context.Context, tx pgx.Tx, sealer *Sealer, name string) (map[string]string, error) {
	site, err := tenants.SiteFrom(ctx)
	if err != nil {
		return nil, err
	}
	var sealed []byte
	if err := tx.QueryRow(ctx, `SELECT sealed FROM credentials WHERE name = $1`, name).Scan(&sealed); err != nil {
		return nil, fmt.Errorf("credential %q: %w", name, err)
	}
	plain, err := sealer.openSealed(site, name, sealed)
	if err != nil {
		return nil, err
	}
	return credentialFields(string(plain)), nil
}

// OpenCredentials reads and decrypts the named credentials of the site in
// ctx: name -> field -> value. Names the site has no credential for are
// left out.
func OpenCredentials(ctx context.Context, tx pgx.Tx, sealer *Sealer, names []string) (map[string]map[string]string, error) {
	site, err := tenants.SiteFrom(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT name, sealed FROM credentials WHERE name = ANY ($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("loading credentials: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		var name string
		var sealed []byte
		if err := rows.Scan(&name, &sealed); err != nil {
			return nil, fmt.Errorf("loading credentials: %w", err)
		}
		plain, err := sealer.openSealed(site, name, sealed)
		if err != nil {
			return nil, err
		}
		out[name] = credentialFields(string(plain))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading credentials: %w", err)
	}
	return out, nil
}

var credFieldRE = regexp.MustCompile(`<(username|password|key-id|key-secret)>([^<]*)</`)

// credentialFields reads the secret fields of a credential's XML source.
func credentialFields(xmlText string) map[string]string {
	out := map[string]string{}
	r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&#39;", "'", "&amp;", "&")
	for _, m := range credFieldRE.FindAllStringSubmatch(xmlText, -1) {
		out[m[1]] = r.Replace(m[2])
	}
	return out
}
