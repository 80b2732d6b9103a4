package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sealer encrypts secrets (credentials) before they reach the database,
// with AES-256-GCM under a key that lives outside it.
type Sealer struct{ aead cipher.AEAD }

// NewSealer makes a sealer from a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// LoadOrCreateKey returns the key from BERGAMOT_SECRET_KEY (base64) if set,
// else from file, creating the file with a random key on first use.
func LoadOrCreateKey(envValue, file string) ([]byte, error) {
	if envValue != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(envValue))
		if err != nil || len(k) != 32 {
			return nil, errors.New("BERGAMOT_SECRET_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32)")
		}
		return k, nil
	}
	if b, err := os.ReadFile(file); err == nil {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("%s does not hold a base64 32-byte key", file)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading secret key: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("creating secret key: %w", err)
	}
	if err := os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("creating secret key: %w", err)
	}
	return k, nil
}

// Seal encrypts plain, binding it to context (e.g. the site id) so a sealed
// value cannot be moved to another site.
func (s *Sealer) Seal(plain, context []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return s.aead.Seal(nonce, nonce, plain, context)
}

// Open decrypts a value made by Seal with the same context.
func (s *Sealer) Open(sealed, context []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed secret is truncated")
	}
	p, err := s.aead.Open(nil, sealed[:n], sealed[n:], context)
	if err != nil {
		return nil, errors.New("cannot decrypt secret: wrong BERGAMOT_SECRET_KEY?")
	}
	return p, nil
}
