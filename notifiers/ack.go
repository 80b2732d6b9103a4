package notifiers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors from VerifyAck.
var (
	ErrAckMalformed = errors.New("ack link: malformed token")
	ErrAckSignature = errors.New("ack link: bad signature")
	ErrAckExpired   = errors.New("ack link: expired")
)

const ackVersion = "a1"

// SignAck makes the token of an acknowledgement link for alertID, valid
// until expires: "a1.<alert id, base64url>.<unix seconds>.<HMAC-SHA256,
// base64url>". The token is URL-safe. It is deterministic, so the caller
// makes it single-use by recording tokens (or alerts) already used.
func SignAck(key []byte, alertID string, expires time.Time) string {
	id := base64.RawURLEncoding.EncodeToString([]byte(alertID))
	exp := strconv.FormatInt(expires.Unix(), 10)
	payload := ackVersion + "." + id + "." + exp
	return payload + "." + base64.RawURLEncoding.EncodeToString(ackMAC(key, payload))
}

func ackMAC(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// VerifyAck checks a token made by SignAck with the same key and returns the
// alert id and expiry. It fails with ErrAckMalformed, ErrAckSignature or
// ErrAckExpired (at or after expires, compared with now).
func VerifyAck(key []byte, token string, now time.Time) (alertID string, expires time.Time, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] != ackVersion {
		return "", time.Time{}, ErrAckMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: signature: %w", ErrAckMalformed, err)
	}
	if !hmac.Equal(sig, ackMAC(key, strings.Join(parts[:3], "."))) {
		return "", time.Time{}, ErrAckSignature
	}
	id, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: alert id: %w", ErrAckMalformed, err)
	}
	sec, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: expiry: %w", ErrAckMalformed, err)
	}
	expires = time.Unix(sec, 0)
	if !now.Before(expires) {
		return string(id), expires, fmt.Errorf("%w at %s", ErrAckExpired, expires.UTC().Format(time.RFC3339))
	}
	return string(id), expires, nil
}
