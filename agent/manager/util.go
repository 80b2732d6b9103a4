package manager

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"os"
)

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func trimSpace(b []byte) string { return string(bytes.TrimSpace(b)) }

// NewCSR makes a PEM certificate request for key, with cn as its subject.
func NewCSR(key crypto.Signer, cn string) (string, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}

// WriteAgentFiles writes an agent's credentials into dir: agent.crt (the
// certificate followed by its site CA), agent.key (0600) and ca.crt (the
// root, to verify hubs).
func WriteAgentFiles(dir string, s *Signed, key crypto.Signer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if key != nil {
		kp, err := KeyPEM(key)
		if err != nil {
			return err
		}
		if err := writeFile(dir+"/agent.key", kp, 0o600); err != nil {
			return err
		}
	}
	if err := writeFile(dir+"/agent.crt", append(append([]byte{}, s.Cert...), s.Chain...), 0o644); err != nil {
		return err
	}
	return writeFile(dir+"/ca.crt", s.Root, 0o644)
}
