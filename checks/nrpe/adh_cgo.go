//go:build cgo

package nrpe

/*
#cgo LDFLAGS: -lssl -lcrypto
#include <stdio.h>
#include <stdlib.h>
#include <openssl/ssl.h>
#include <openssl/err.h>

#define NRPE_WANT_READ -1
#define NRPE_CLOSED    -2
#define NRPE_ERROR     -3

typedef struct {
	SSL *ssl;
	BIO *rbio;
	BIO *wbio;
} nrpe_tls;

// nrpe_err copies the oldest queued OpenSSL error into err and empties the
// queue. The queue is per OS thread, so it is read in the same C call that
// produced it.
static void nrpe_err(char *err, int n) {
	unsigned long e = ERR_get_error();
	err[0] = 0;
	if (e != 0) {
		ERR_error_string_n(e, err, n);
	}
	ERR_clear_error();
}

static SSL_CTX *nrpe_ctx_new(char *err, int n) {
	ERR_clear_error();
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	if (c == NULL) {
		nrpe_err(err, n);
		return NULL;
	}
	// Anonymous DH exists only up to TLS 1.2, and OpenSSL 3 drops the
	// anonymous suites unless the security level is 0.
	if (SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(c, "ADH-AES256-GCM-SHA384:ADH-AES128-GCM-SHA256:ADH-AES256-SHA256:ADH-AES256-SHA:ADH-AES128-SHA:@SECLEVEL=0") != 1) {
		nrpe_err(err, n);
		SSL_CTX_free(c);
		return NULL;
	}
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	return c;
}

static void nrpe_ctx_free(SSL_CTX *c) { SSL_CTX_free(c); }

static nrpe_tls *nrpe_tls_new(SSL_CTX *c, char *err, int n) {
	ERR_clear_error();
	nrpe_tls *t = calloc(1, sizeof *t);
	if (t == NULL) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	t->ssl = SSL_new(c);
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
		nrpe_err(err, n);
		if (t->ssl) SSL_free(t->ssl);
		if (t->rbio) BIO_free(t->rbio);
		if (t->wbio) BIO_free(t->wbio);
		free(t);
		return NULL;
	}
	// An empty memory BIO means "try again later", not end of file.
	BIO_set_mem_eof_return(t->rbio, -1);
	BIO_set_mem_eof_return(t->wbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_connect_state(t->ssl);
	return t;
}

static void nrpe_tls_free(nrpe_tls *t) {
	SSL_free(t->ssl); // frees both BIOs
	free(t);
}

static int nrpe_status(nrpe_tls *t, int r, char *err, int n) {
	int e = SSL_get_error(t->ssl, r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		return NRPE_WANT_READ;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return NRPE_CLOSED;
	}
	nrpe_err(err, n);
	if (err[0] == 0) {
		snprintf(err, n, "OpenSSL error %d", e);
	}
	return NRPE_ERROR;
}

static int nrpe_tls_handshake(nrpe_tls *t, char *err, int n) {
	ERR_clear_error();
	int r = SSL_do_handshake(t->ssl);
	if (r == 1) return 1;
	return nrpe_status(t, r, err, n);
}

static int nrpe_tls_read(nrpe_tls *t, void *buf, int len, char *err, int n) {
	ERR_clear_error();
	int r = SSL_read(t->ssl, buf, len);
	if (r > 0) return r;
	return nrpe_status(t, r, err, n);
}

static int nrpe_tls_write(nrpe_tls *t, const void *buf, int len, char *err, int n) {
	ERR_clear_error();
	int r = SSL_write(t->ssl, buf, len);
	if (r > 0) return r;
	return nrpe_status(t, r, err, n);
}

static void nrpe_tls_shutdown(nrpe_tls *t) {
	ERR_clear_error();
	SSL_shutdown(t->ssl);
	ERR_clear_error();
}

static int nrpe_tls_feed(nrpe_tls *t, const void *buf, int len) { return BIO_write(t->rbio, buf, len); }
static int nrpe_tls_pending(nrpe_tls *t) { return (int)BIO_ctrl_pending(t->wbio); }
static int nrpe_tls_drain(nrpe_tls *t, void *buf, int len) { return BIO_read(t->wbio, buf, len); }

static void nrpe_tls_info(nrpe_tls *t, char *buf, int n) {
	const char *c = SSL_get_cipher_name(t->ssl);
	snprintf(buf, n, "%s %s", SSL_get_version(t->ssl), c ? c : "");
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
	"unsafe"
)

// adhAvailable reports whether this build can speak anonymous-DH TLS.
const adhAvailable = true

const errBufLen = 256

// adhDialer holds the OpenSSL context shared by every anonymous-DH
// connection of one Engine. It is created on first use and freed by close.
type adhDialer struct {
	mu     sync.Mutex
	ctx    *C.SSL_CTX
	closed bool
}

func (d *adhDialer) sslCtx() (*C.SSL_CTX, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("anonymous-DH TLS: engine closed")
	}
	if d.ctx == nil {
		errb := make([]byte, errBufLen)
		c := C.nrpe_ctx_new((*C.char)(unsafe.Pointer(&errb[0])), errBufLen)
		if c == nil {
			return nil, fmt.Errorf("anonymous-DH TLS: OpenSSL context: %s", cString(errb))
		}
		d.ctx = c
	}
	return d.ctx, nil
}

func (d *adhDialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx != nil {
		C.nrpe_ctx_free(d.ctx)
		d.ctx = nil
	}
	d.closed = true
}

// handshake runs an anonymous-DH TLS handshake over conn and returns the
// encrypted connection and a description of what was negotiated
// ("TLSv1.2 ADH-AES256-GCM-SHA384"). All waiting happens in conn's Read and
// Write, so conn's deadlines bound it. On error the caller still owns conn.
func (d *adhDialer) handshake(_ context.Context, conn net.Conn) (net.Conn, string, error) {
	sctx, err := d.sslCtx()
	if err != nil {
		return nil, "", err
	}
	// The context shared by connections is freed only on engine close; a
	// connection keeps its own reference (SSL_new up-refs the SSL_CTX).
	c := &adhConn{Conn: conn, in: make([]byte, 16<<10), out: make([]byte, 16<<10), errb: make([]byte, errBufLen)}
	c.t = C.nrpe_tls_new(sctx, c.cerr(), errBufLen)
	if c.t == nil {
		return nil, "", fmt.Errorf("anonymous-DH TLS: %s", cString(c.errb))
	}
	for {
		r := C.nrpe_tls_handshake(c.t, c.cerr(), errBufLen)
		ferr := c.flush()
		switch {
		case r == 1 && ferr == nil:
			c.done = true
			info := make([]byte, 128)
			C.nrpe_tls_info(c.t, (*C.char)(unsafe.Pointer(&info[0])), C.int(len(info)))
			return c, cString(info), nil
		case r == C.NRPE_ERROR:
			c.free()
			return nil, "", fmt.Errorf("anonymous-DH TLS handshake: %s", cString(c.errb))
		case ferr != nil:
			c.free()
			return nil, "", fmt.Errorf("anonymous-DH TLS handshake: %w", ferr)
		case r == C.NRPE_CLOSED:
			c.free()
			return nil, "", fmt.Errorf("anonymous-DH TLS handshake: %w", io.ErrUnexpectedEOF)
		}
		if err := c.fill(); err != nil {
			c.free()
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("server closed the connection: %w", io.ErrUnexpectedEOF)
			}
			return nil, "", fmt.Errorf("anonymous-DH TLS handshake: %w", err)
		}
	}
}

// adhConn is a net.Conn speaking TLS through OpenSSL memory BIOs: OpenSSL
// only computes, the embedded net.Conn does all I/O. Not safe for
// concurrent Read/Write (the NRPE client does one at a time); deadlines may
// be set from any goroutine.
type adhConn struct {
	net.Conn
	t         *C.nrpe_tls
	in, out   []byte
	errb      []byte
	done      bool
	closeOnce sync.Once
}

func (c *adhConn) cerr() *C.char { return (*C.char)(unsafe.Pointer(&c.errb[0])) }

// flush sends whatever OpenSSL queued for the peer.
func (c *adhConn) flush() error {
	for C.nrpe_tls_pending(c.t) > 0 {
		n := C.nrpe_tls_drain(c.t, unsafe.Pointer(&c.out[0]), C.int(len(c.out)))
		if n <= 0 {
			return nil
		}
		if _, err := c.Conn.Write(c.out[:n]); err != nil {
			return err
		}
	}
	return nil
}

// fill reads what the peer sent and hands it to OpenSSL.
func (c *adhConn) fill() error {
	n, err := c.Conn.Read(c.in)
	if n > 0 {
		C.nrpe_tls_feed(c.t, unsafe.Pointer(&c.in[0]), C.int(n))
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// Read implements net.Conn.
func (c *adhConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		r := C.nrpe_tls_read(c.t, unsafe.Pointer(&p[0]), C.int(min(len(p), 1<<30)), c.cerr(), errBufLen)
		switch {
		case r > 0:
			return int(r), nil
		case r == C.NRPE_CLOSED:
			return 0, io.EOF
		case r == C.NRPE_ERROR:
			return 0, fmt.Errorf("anonymous-DH TLS read: %s", cString(c.errb))
		}
		if err := c.flush(); err != nil {
			return 0, err
		}
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
}

// Write implements net.Conn.
func (c *adhConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r := C.nrpe_tls_write(c.t, unsafe.Pointer(&p[0]), C.int(len(p)), c.cerr(), errBufLen)
	if r < 0 {
		return 0, fmt.Errorf("anonymous-DH TLS write: %s", cString(c.errb))
	}
	if err := c.flush(); err != nil {
		return 0, err
	}
	return int(r), nil
}

// Close sends a close_notify (best effort, bounded by a short deadline),
// frees the OpenSSL state and closes the connection.
func (c *adhConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		if c.done {
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			C.nrpe_tls_shutdown(c.t)
			_ = c.flush()
		}
		c.free()
		err = c.Conn.Close()
	})
	return err
}

func (c *adhConn) free() {
	if c.t != nil {
		C.nrpe_tls_free(c.t)
		c.t = nil
	}
}

func cString(b []byte) string {
	for i, x := range b {
		if x == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
