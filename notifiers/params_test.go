package notifiers

import (
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks/netcheck/certtest"
)

// privateCA makes a CA and a server certificate it signed for localhost;
// it returns the CA certificate, the server certificate and its key as PEM.
func privateCA(t testing.TB) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	ca := certtest.NewCA(t)
	leaf := certtest.Leaf(t, ca, "localhost", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	certPEM, keyPEM = certtest.PEM(t, leaf)
	return ca.PEM(), certPEM, keyPEM
}

// indent puts a PEM text inside an indented XML element, as people paste it.
func indent(pemText []byte) string {
	return "\n\t\t" + strings.ReplaceAll(strings.TrimSpace(string(pemText)), "\n", "\n\t\t") + "\n\t"
}

// FuzzParseCAs: any text either parses to a pool or is an error; never a
// panic, never an empty pool without an error.
func FuzzParseCAs(f *testing.F) {
	caPEM, certPEM, keyPEM := privateCA(f)
	for _, s := range []string{string(caPEM), indent(caPEM), string(caPEM) + string(certPEM), string(keyPEM), "", "junk",
		"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "-----BEGIN CERTIFICATE-----\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pool, err := parseCAs(s)
		if (err == nil) == (pool == nil) {
			t.Fatalf("parseCAs(%q) = %v, %v", s, pool, err)
		}
	})
}
