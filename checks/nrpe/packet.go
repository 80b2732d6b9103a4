package nrpe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Packet versions and types of the NRPE protocol.
const (
	Version2 = 2
	Version3 = 3
	Version4 = 4

	TypeQuery            = 1
	TypeResponse         = 2
	TypeResponseWithMore = 3
)

const (
	v2BufferLen = 1024
	// v2PacketLen is the on-wire size of a v2 packet: 10-byte header, the
	// 1024-byte buffer and 2 bytes of C struct padding.
	v2PacketLen = 10 + v2BufferLen + 2
	// v4HeaderLen is the size of the v3/v4 header before the buffer.
	v4HeaderLen = 16
	// v3Trailer is the C struct padding v3 senders put after the buffer.
	v3Trailer = 3
	// MaxBufferLen bounds a v3/v4 buffer_length we accept (the daemon caps
	// plugin output at 64 KiB; we allow some slack).
	MaxBufferLen = 1 << 20
)

// Packet is one decoded NRPE packet.
type Packet struct {
	Version    int
	Type       int
	ResultCode int
	// Buffer is the text up to the first NUL (the command line of a query,
	// the plugin output of a response).
	Buffer string
}

// ErrBadPacket is wrapped by every decoding error caused by the peer's bytes.
var ErrBadPacket = errors.New("malformed NRPE packet")

// EncodeQuery builds a query packet the way check_nrpe does: v2 is exactly
// 1036 bytes with the command in a 1024-byte buffer; v4 is padded to at
// least 1036 bytes (buffer_length 1020) and grows for longer queries.
// Padding is zero (check_nrpe randomises it; the daemon does not care).
func EncodeQuery(version int, query string) ([]byte, error) {
	return encode(version, TypeQuery, 0, query)
}

// EncodeResponse builds a response packet the way the 4.1.0 daemon does:
// v2 fixed-size (output cut at 1023 bytes), v4 compact (output plus NUL).
func EncodeResponse(version, resultCode int, output string) ([]byte, error) {
	return encode(version, TypeResponse, resultCode, output)
}

func encode(version, typ, resultCode int, text string) ([]byte, error) {
	var b []byte
	switch version {
	case Version2:
		if len(text) > v2BufferLen-1 {
			if typ == TypeQuery {
				return nil, fmt.Errorf("NRPE v2 query is %d bytes, the limit is %d", len(text), v2BufferLen-1)
			}
			text = text[:v2BufferLen-1]
		}
		b = make([]byte, v2PacketLen)
		copy(b[10:], text)
	case Version4:
		bufLen := len(text) + 1
		if typ == TypeQuery && bufLen < v2PacketLen-v4HeaderLen {
			bufLen = v2PacketLen - v4HeaderLen
		}
		if bufLen > MaxBufferLen {
			return nil, fmt.Errorf("NRPE v4 packet of %d bytes exceeds the limit of %d", bufLen, MaxBufferLen)
		}
		b = make([]byte, v4HeaderLen+bufLen)
		binary.BigEndian.PutUint32(b[12:], uint32(bufLen))
		copy(b[v4HeaderLen:], text)
	default:
		return nil, fmt.Errorf("cannot encode NRPE packet version %d (want 2 or 4)", version)
	}
	binary.BigEndian.PutUint16(b[0:], uint16(version))
	binary.BigEndian.PutUint16(b[2:], uint16(typ))
	binary.BigEndian.PutUint16(b[8:], uint16(int16(resultCode)))
	binary.BigEndian.PutUint32(b[4:], crc32.ChecksumIEEE(b))
	return b, nil
}

// ReadPacket reads one packet of any version (2, 3 or 4) from r, checking
// its length, version and CRC. A peer that closes before sending anything
// gives an error wrapping io.EOF.
func ReadPacket(r io.Reader) (*Packet, error) {
	head := make([]byte, v4HeaderLen)
	if n, err := io.ReadFull(r, head); err != nil {
		if n == 0 {
			return nil, fmt.Errorf("reading NRPE packet header: %w", io.EOF)
		}
		return nil, fmt.Errorf("%w: header cut short after %d of %d bytes: %w", ErrBadPacket, n, v4HeaderLen, err)
	}
	version := int(binary.BigEndian.Uint16(head))
	var rest int
	switch version {
	case Version2:
		rest = v2PacketLen - v4HeaderLen
	case Version3, Version4:
		bufLen := binary.BigEndian.Uint32(head[12:])
		if bufLen > MaxBufferLen {
			return nil, fmt.Errorf("%w: buffer_length %d exceeds the limit of %d", ErrBadPacket, bufLen, MaxBufferLen)
		}
		rest = int(bufLen)
		if version == Version3 {
			rest += v3Trailer
		}
	default:
		return nil, fmt.Errorf("%w: unknown version %d (first bytes % x)", ErrBadPacket, version, head[:4])
	}
	b := make([]byte, v4HeaderLen+rest)
	copy(b, head)
	if n, err := io.ReadFull(r, b[v4HeaderLen:]); err != nil {
		return nil, fmt.Errorf("%w: v%d packet cut short after %d of %d bytes: %w", ErrBadPacket, version, v4HeaderLen+n, len(b), err)
	}
	return DecodePacket(b)
}

// DecodePacket decodes exactly one complete packet held in b.
func DecodePacket(b []byte) (*Packet, error) {
	if len(b) < 10 {
		return nil, fmt.Errorf("%w: %d bytes is shorter than any header", ErrBadPacket, len(b))
	}
	p := &Packet{
		Version:    int(binary.BigEndian.Uint16(b)),
		Type:       int(binary.BigEndian.Uint16(b[2:])),
		ResultCode: int(int16(binary.BigEndian.Uint16(b[8:]))),
	}
	var buf []byte
	switch p.Version {
	case Version2:
		if len(b) != v2PacketLen {
			return nil, fmt.Errorf("%w: v2 packet is %d bytes, want %d", ErrBadPacket, len(b), v2PacketLen)
		}
		buf = b[10 : 10+v2BufferLen]
	case Version3, Version4:
		if len(b) < v4HeaderLen {
			return nil, fmt.Errorf("%w: v%d packet is %d bytes, shorter than its %d-byte header", ErrBadPacket, p.Version, len(b), v4HeaderLen)
		}
		want := uint64(binary.BigEndian.Uint32(b[12:])) + v4HeaderLen
		if p.Version == Version3 {
			want += v3Trailer
		}
		if uint64(len(b)) != want {
			return nil, fmt.Errorf("%w: v%d packet is %d bytes but its buffer_length says %d", ErrBadPacket, p.Version, len(b), want)
		}
		buf = b[v4HeaderLen:]
		if p.Version == Version3 {
			buf = buf[:len(buf)-v3Trailer]
		}
	default:
		return nil, fmt.Errorf("%w: unknown version %d", ErrBadPacket, p.Version)
	}
	if got, want := binary.BigEndian.Uint32(b[4:]), packetCRC(b, p.Version); got != want {
		return nil, fmt.Errorf("%w: v%d CRC is %08x, computed %08x", ErrBadPacket, p.Version, got, want)
	}
	if p.Type != TypeQuery && p.Type != TypeResponse && p.Type != TypeResponseWithMore {
		return nil, fmt.Errorf("%w: unknown packet type %d", ErrBadPacket, p.Type)
	}
	if i := indexNUL(buf); i >= 0 {
		buf = buf[:i]
	}
	p.Buffer = string(buf)
	return p, nil
}

// packetCRC is the IEEE CRC-32 of the packet with the CRC field (and, for
// v3/v4, the alignment field) taken as zero.
func packetCRC(b []byte, version int) uint32 {
	var zero [4]byte
	c := crc32.Update(0, crc32.IEEETable, b[:4])
	c = crc32.Update(c, crc32.IEEETable, zero[:])
	if version == Version2 {
		return crc32.Update(c, crc32.IEEETable, b[8:])
	}
	c = crc32.Update(c, crc32.IEEETable, b[8:10])
	c = crc32.Update(c, crc32.IEEETable, zero[:2])
	return crc32.Update(c, crc32.IEEETable, b[12:])
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}
