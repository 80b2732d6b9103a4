package nagios

import (
	"errors"
	"io"
)

// capture collects a plugin's stdout and stderr in two bounded buffers. They
// are kept apart because two pipes give no reliable order between them:
// stdout is what Nagios parses, stderr is added after it (or stands in for
// it when stdout is empty). Each buffer is filled by the one os/exec
// goroutine copying its pipe and read only after Cmd.Wait returns.
type capture struct {
	out, err boundedBuffer
}

func newCapture(limit int) *capture {
	return &capture{out: boundedBuffer{limit: limit}, err: boundedBuffer{limit: max(limit/4, 1024)}}
}

// dropped is how many bytes did not fit.
func (c *capture) dropped() int64 { return c.out.dropped + c.err.dropped }

// kept is how many bytes were kept.
func (c *capture) kept() int { return len(c.out.buf) + len(c.err.buf) }

// boundedBuffer keeps the first limit bytes written to it and counts the
// rest, which it discards while still draining the writer.
type boundedBuffer struct {
	buf     []byte
	limit   int
	dropped int64
}

// Write implements io.Writer; it never fails.
func (b *boundedBuffer) Write(p []byte) (int, error) {
	room := max(b.limit-len(b.buf), 0)
	if room < len(p) {
		b.dropped += int64(len(p) - room)
		b.buf = append(b.buf, p[:room]...)
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// ReadFrom implements io.ReaderFrom so that os/exec reads the pipe straight
// into the buffer instead of allocating a 32 KiB copy buffer per stream.
func (b *boundedBuffer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	var scratch []byte
	for {
		var dst []byte
		if len(b.buf) < b.limit {
			if len(b.buf) == cap(b.buf) {
				b.buf = growTo(b.buf, min(max(2*cap(b.buf), 512), b.limit))
			}
			dst = b.buf[len(b.buf):cap(b.buf)]
		} else {
			if scratch == nil {
				scratch = make([]byte, 4096)
			}
			dst = scratch
		}
		n, err := r.Read(dst)
		total += int64(n)
		if len(b.buf) < b.limit {
			b.buf = b.buf[:len(b.buf)+n]
		} else {
			b.dropped += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func growTo(b []byte, n int) []byte {
	nb := make([]byte, len(b), n)
	copy(nb, b)
	return nb
}
