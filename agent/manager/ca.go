package manager

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Key types for new keys.
const (
	KeyECDSA   = "ecdsa"   // ECDSA P-256 (the default)
	KeyEd25519 = "ed25519" // Ed25519
)

// DefaultLifetime is an agent certificate's lifetime unless configured.
const DefaultLifetime = 90 * 24 * time.Hour

// CA is the agent manager's certificate authority, kept in one directory:
//
//	root.crt, root.key           the root CA (signs site CAs and hub, node and manager certificates)
//	sites/<hash>/ca.crt, ca.key  one CA per site, made on first use
//	manager.crt, manager.key     the manager's own TLS server certificate
//	node/                        node.crt, node.key, ca.crt: the client identity serve nodes present
//	issued.json, revoked.json    certificates issued and revoked
//
// Keys are written 0600 and directories 0700. A CA is safe for concurrent
// use in one process; the revocation list is re-read when another process
// (bergamot agent revoke) changed it.
type CA struct {
	Dir string
	// KeyType is used for new keys (KeyECDSA when empty).
	KeyType string
	// Lifetime of agent certificates (DefaultLifetime when zero).
	Lifetime time.Duration

	mu      sync.Mutex
	root    *x509.Certificate
	rootKey crypto.Signer
	sites   map[string]*siteCA
}

type siteCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

// Issued is one certificate the CA signed for an agent.
type Issued struct {
	Serial   string    `json:"serial"`
	Site     string    `json:"site"`
	Kind     string    `json:"kind"`
	Name     string    `json:"name"`
	NotAfter time.Time `json:"not_after"`
	IssuedAt time.Time `json:"issued_at"`
}

// Revoked is one entry of the revocation list.
type Revoked struct {
	Serial    string    `json:"serial"`
	Site      string    `json:"site"`
	Name      string    `json:"name,omitempty"`
	RevokedAt time.Time `json:"revoked_at"`
}

// ErrNotInitialised is returned by Open for a directory without a root CA.
var ErrNotInitialised = errors.New("no agent manager here: run bergamot agent-manager init --dir DIR first")

// Init creates the directory, the root CA, the manager's server
// certificate (for names) and the node credentials. It refuses a directory
// that already holds a root CA.
func Init(dir, keyType string, names []string) (*CA, error) {
	if _, err := os.Stat(filepath.Join(dir, "root.key")); err == nil {
		return nil, fmt.Errorf("%s already holds an agent manager (root.key exists); refusing to overwrite it", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	ca := &CA{Dir: dir, KeyType: keyType}
	key, err := newKey(keyType)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "Bergamot agent root CA", Organization: []string{"Bergamot"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	cert, err := sign(tmpl, key.Public(), nil, key)
	if err != nil {
		return nil, err
	}
	if err := writeKeyPair(dir, "root", cert, key); err != nil {
		return nil, err
	}
	ca.root, ca.rootKey = cert, key
	if err := ca.issueLocal("manager", names, x509.ExtKeyUsageServerAuth); err != nil {
		return nil, err
	}
	if err := ca.issueLocal("node", nil, x509.ExtKeyUsageClientAuth); err != nil {
		return nil, err
	}
	return ca, nil
}

// issueLocal makes a root-signed certificate and key kept in the directory:
// the manager's server certificate, or the node credentials (node/).
func (ca *CA) issueLocal(name string, names []string, usage x509.ExtKeyUsage) error {
	key, err := newKey(ca.KeyType)
	if err != nil {
		return err
	}
	tmpl := leafTemplate("Bergamot "+name, 5*365*24*time.Hour, usage)
	addNames(tmpl, names)
	cert, err := sign(tmpl, key.Public(), ca.root, ca.rootKey)
	if err != nil {
		return err
	}
	dir := ca.Dir
	if name == "node" {
		dir = filepath.Join(ca.Dir, "node")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, "ca.crt"), certPEM(ca.root), 0o644); err != nil {
			return err
		}
	}
	return writeKeyPair(dir, name, cert, key)
}

// Open loads an initialised directory.
func Open(dir string) (*CA, error) {
	cert, key, err := readKeyPair(dir, "root")
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotInitialised)
	}
	if err != nil {
		return nil, err
	}
	return &CA{Dir: dir, root: cert, rootKey: key}, nil
}

// Root is the root CA certificate.
func (ca *CA) Root() *x509.Certificate { return ca.root }

// RootPEM is the root CA certificate in PEM: the ca.crt agents trust.
func (ca *CA) RootPEM() []byte { return certPEM(ca.root) }

func siteDir(dir, site string) string {
	sum := sha256.Sum256([]byte(site))
	return filepath.Join(dir, "sites", hex.EncodeToString(sum[:12]))
}

// site returns the site's CA, creating it on first use. Callers hold mu.
func (ca *CA) site(site string) (*siteCA, error) {
	if s := ca.sites[site]; s != nil {
		return s, nil
	}
	dir := siteDir(ca.Dir, site)
	cert, key, err := readKeyPair(dir, "ca")
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if key, err = newKey(ca.KeyType); err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			Subject:               pkix.Name{CommonName: "Bergamot site " + site + " agent CA", Organization: []string{"Bergamot"}},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              ca.root.NotAfter,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
			IsCA:                  true,
			MaxPathLenZero:        true,
		}
		tmpl.URIs = append(tmpl.URIs, Identity{Kind: KindSite, Site: site}.URI())
		if cert, err = sign(tmpl, key.Public(), ca.root, ca.rootKey); err != nil {
			return nil, err
		}
		if err := writeKeyPair(dir, "ca", cert, key); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if ca.sites == nil {
		ca.sites = map[string]*siteCA{}
	}
	s := &siteCA{cert: cert, key: key, pem: certPEM(cert)}
	ca.sites[site] = s
	return s, nil
}

// Signed is a new certificate: the leaf, the chain up to (not including)
// the root, and the root, all PEM.
type Signed struct {
	Cert   []byte `json:"cert"`
	Chain  []byte `json:"chain"`
	Root   []byte `json:"root"`
	Serial string `json:"serial"`
	// NotAfter is when the certificate expires.
	NotAfter time.Time `json:"not_after"`
}

// SignAgent signs an agent (or template) certificate for pub, whose
// identity id names its site. lifetime 0 means the CA's.
func (ca *CA) SignAgent(id Identity, pub crypto.PublicKey, lifetime time.Duration) (*Signed, error) {
	if id.Kind != KindAgent && id.Kind != KindTemplate {
		return nil, fmt.Errorf("cannot sign a %q certificate for an agent", id.Kind)
	}
	if err := ValidName("site", id.Site); err != nil {
		return nil, err
	}
	if err := ValidName(id.Kind, id.Name); err != nil {
		return nil, err
	}
	if lifetime <= 0 {
		lifetime = ca.Lifetime
	}
	if lifetime <= 0 {
		lifetime = DefaultLifetime
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	s, err := ca.site(id.Site)
	if err != nil {
		return nil, fmt.Errorf("site %s CA: %w", id.Site, err)
	}
	tmpl := leafTemplate(id.Name, lifetime, x509.ExtKeyUsageClientAuth)
	tmpl.Subject.Organization = []string{id.Site}
	tmpl.URIs = []*url.URL{id.URI()}
	cert, err := sign(tmpl, pub, s.cert, s.key)
	if err != nil {
		return nil, err
	}
	serial := SerialString(cert)
	if err := ca.appendIssued(Issued{Serial: serial, Site: id.Site, Kind: id.Kind, Name: id.Name, NotAfter: cert.NotAfter, IssuedAt: time.Now().UTC()}); err != nil {
		return nil, err
	}
	return &Signed{Cert: certPEM(cert), Chain: s.pem, Root: certPEM(ca.root), Serial: serial, NotAfter: cert.NotAfter}, nil
}

// SignHub signs a hub's TLS server certificate for names (DNS names or IP
// addresses).
func (ca *CA) SignHub(pub crypto.PublicKey, names []string) (*Signed, error) {
	if len(names) == 0 {
		return nil, errors.New("a hub certificate needs at least one DNS name or IP address")
	}
	tmpl := leafTemplate("Bergamot agent hub", 90*24*time.Hour, x509.ExtKeyUsageServerAuth)
	addNames(tmpl, names)
	ca.mu.Lock()
	defer ca.mu.Unlock()
	cert, err := sign(tmpl, pub, ca.root, ca.rootKey)
	if err != nil {
		return nil, err
	}
	return &Signed{Cert: certPEM(cert), Root: certPEM(ca.root), Serial: SerialString(cert), NotAfter: cert.NotAfter}, nil
}

// SerialString is how serials are written: lower-case hex.
func SerialString(c *x509.Certificate) string { return strings.ToLower(c.SerialNumber.Text(16)) }

func leafTemplate(cn string, lifetime time.Duration, usage x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		NotBefore:   time.Now().Add(-5 * time.Minute),
		NotAfter:    time.Now().Add(lifetime),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
}

func addNames(tmpl *x509.Certificate, names []string) {
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if n != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
}

func sign(tmpl *x509.Certificate, pub crypto.PublicKey, parent *x509.Certificate, key crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// NewKey makes a private key of keyType (KeyECDSA when empty).
func NewKey(keyType string) (crypto.Signer, error) { return newKey(keyType) }

func newKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case "", KeyECDSA:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("key type %q: want %s or %s", keyType, KeyECDSA, KeyEd25519)
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// KeyPEM encodes a private key as PKCS #8 PEM.
func KeyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func writeKeyPair(dir, name string, cert *x509.Certificate, key crypto.Signer) error {
	kp, err := KeyPEM(key)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, name+".key"), kp, 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, name+".crt"), certPEM(cert), 0o644)
}

func readKeyPair(dir, name string) (*x509.Certificate, crypto.Signer, error) {
	cb, err := os.ReadFile(filepath.Join(dir, name+".crt"))
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(filepath.Join(dir, name+".key"))
	if err != nil {
		return nil, nil, err
	}
	cert, err := ParseCertPEM(cb)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, name+".crt"), err)
	}
	kblock, _ := pem.Decode(kb)
	if kblock == nil {
		return nil, nil, fmt.Errorf("%s: no PEM key", filepath.Join(dir, name+".key"))
	}
	k, err := x509.ParsePKCS8PrivateKey(kblock.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, name+".key"), err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not a signing key", filepath.Join(dir, name+".key"))
	}
	return cert, signer, nil
}

// ParseCertPEM parses the first certificate of a PEM text.
func ParseCertPEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// writeFile writes atomically (temporary file, rename) with mode.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// The ledgers: issued.json and revoked.json, JSON arrays rewritten whole
// under an exclusive lock file, so the manager and the CLI can share them.

func (ca *CA) appendIssued(e Issued) error {
	return ca.update("issued.json", func(raw []byte) ([]byte, error) {
		var list []Issued
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &list); err != nil {
				return nil, fmt.Errorf("issued.json: %w", err)
			}
		}
		return json.MarshalIndent(append(list, e), "", " ")
	})
}

// IssuedList returns every certificate issued.
func (ca *CA) IssuedList() ([]Issued, error) {
	raw, err := os.ReadFile(filepath.Join(ca.Dir, "issued.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []Issued
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("issued.json: %w", err)
	}
	return list, nil
}

// Revoke adds to the revocation list the certificates of site with serial
// (when set) or issued for host name (when set; every one of them). It
// returns the serials newly revoked; none found is an error.
func (ca *CA) Revoke(site, serial, host string) ([]string, error) {
	if (serial == "") == (host == "") {
		return nil, errors.New("revoke takes a serial or a host, not both")
	}
	serial = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(serial), "0x"))
	issued, err := ca.IssuedList()
	if err != nil {
		return nil, err
	}
	var match []Issued
	for _, is := range issued {
		if is.Site == site && ((serial != "" && is.Serial == serial) || (host != "" && is.Name == host)) {
			match = append(match, is)
		}
	}
	if len(match) == 0 {
		if serial != "" {
			return nil, fmt.Errorf("no certificate with serial %s was issued for site %s", serial, site)
		}
		return nil, fmt.Errorf("no certificate was issued for host %s of site %s", host, site)
	}
	var added []string
	err = ca.update("revoked.json", func(raw []byte) ([]byte, error) {
		var list []Revoked
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &list); err != nil {
				return nil, fmt.Errorf("revoked.json: %w", err)
			}
		}
		for _, m := range match {
			if slices.ContainsFunc(list, func(r Revoked) bool { return r.Serial == m.Serial }) {
				continue
			}
			list = append(list, Revoked{Serial: m.Serial, Site: m.Site, Name: m.Name, RevokedAt: time.Now().UTC()})
			added = append(added, m.Serial)
		}
		return json.MarshalIndent(list, "", " ")
	})
	return added, err
}

// RevokedList returns the revocation list.
func (ca *CA) RevokedList() ([]Revoked, error) {
	raw, err := os.ReadFile(filepath.Join(ca.Dir, "revoked.json"))
	if errors.Is(err, os.ErrNotExist) {
		return []Revoked{}, nil
	}
	if err != nil {
		return nil, err
	}
	var list []Revoked
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("revoked.json: %w", err)
	}
	return list, nil
}

func (ca *CA) update(name string, f func([]byte) ([]byte, error)) error {
	unlock, err := lockDir(ca.Dir)
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(ca.Dir, name)
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	out, err := f(raw)
	if err != nil {
		return err
	}
	return writeFile(path, out, 0o600)
}

// Stats is what the manager's /metrics reports: its ledgers' sizes and
// when the certificates it cannot work without expire.
type Stats struct {
	Issued, Revoked int
	// Expires is the not-after time of "root" (every site CA ends with
	// it), "manager" (its TLS certificate) and "node" (the serve nodes'
	// credentials).
	Expires map[string]time.Time
}

// Stats reads the ledgers and the manager's certificates.
func (ca *CA) Stats() (*Stats, error) {
	issued, err := ca.IssuedList()
	if err != nil {
		return nil, err
	}
	revoked, err := ca.RevokedList()
	if err != nil {
		return nil, err
	}
	st := &Stats{Issued: len(issued), Revoked: len(revoked), Expires: map[string]time.Time{"root": ca.root.NotAfter}}
	for name, path := range map[string]string{"manager": filepath.Join(ca.Dir, "manager.crt"), "node": filepath.Join(ca.Dir, "node", "node.crt")} {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the %s certificate: %w", name, err)
		}
		c, err := ParseCertPEM(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		st.Expires[name] = c.NotAfter
	}
	return st, nil
}
