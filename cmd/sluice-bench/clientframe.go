package main

import (
	"encoding/binary"
	"io"
	"math/rand/v2"

	"github.com/gorilla/websocket"
)

// frameWriter builds client-to-server WebSocket text frames (masked, as RFC
// 6455 §5.3 requires of a client) into one buffer, so a publisher can write
// every frame it has ready in one write: what a client with a send buffer
// does when several messages are waiting. gorilla writes each message with
// a write of its own.
type frameWriter struct {
	buf []byte
	rng *rand.PCG
}

func newFrameWriter(seed uint64) *frameWriter {
	return &frameWriter{rng: rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)}
}

// reset empties the buffer for the next write.
func (w *frameWriter) reset() { w.buf = w.buf[:0] }

// frameHeaderRoom is the most a masked frame's header takes.
const frameHeaderRoom = 14

// begin starts a final text frame whose payload the caller appends to the
// returned buffer; end masks it and finishes the frame.
func (w *frameWriter) begin() (start int) {
	w.buf = append(w.buf, make([]byte, frameHeaderRoom)...)
	return len(w.buf)
}

// end finishes the frame begin started at start: it writes the header
// right before the payload, masks the payload and closes the gap.
func (w *frameWriter) end(start int) {
	payload := w.buf[start:]
	n := len(payload)
	var hdr [frameHeaderRoom]byte
	hdr[0] = 0x80 | websocket.TextMessage // FIN, text
	h := 2
	switch {
	case n <= 125:
		hdr[1] = 0x80 | byte(n)
	case n <= 0xffff:
		hdr[1] = 0x80 | 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
		h = 4
	default:
		hdr[1] = 0x80 | 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
		h = 10
	}
	key := uint32(w.rng.Uint64())
	binary.LittleEndian.PutUint32(hdr[h:], key)
	h += 4
	maskPayload(payload, key)
	// The header goes right before the payload; the unused room before it
	// is closed up by moving the payload back.
	frameStart := start - frameHeaderRoom
	copy(w.buf[frameStart:], hdr[:h])
	copy(w.buf[frameStart+h:], payload)
	w.buf = w.buf[:frameStart+h+n]
}

// maskPayload XORs b with the 4-byte key (little-endian, as it sits in the
// frame), eight bytes at a time.
func maskPayload(b []byte, key uint32) {
	k64 := uint64(key) | uint64(key)<<32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	var kb [4]byte
	binary.LittleEndian.PutUint32(kb[:], key)
	for ; i < len(b); i++ {
		b[i] ^= kb[i&3]
	}
}

// flush writes every frame built since reset in one write. Writes to a
// net.Conn are atomic with respect to each other, so gorilla's own control
// frames (a pong, the close) never land inside these frames.
func (w *frameWriter) flush(conn io.Writer) error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := conn.Write(w.buf)
	return err
}
