package bridge

// frameTracker follows the client's frame stream as it is handed to
// gorilla, reading only frame headers, to tell when everything handed over
// ends exactly at a frame boundary outside a fragmented message. At such a
// boundary gorilla can only be asking for the next message's first frame
// header, so a reader that has nothing more to give may end gorilla's read
// there (see pollConn) without cutting a frame or a message in two.
//
// It never unmasks or checks frames: gorilla does that. A malformed stream
// only makes the tracker's answer wrong in the safe direction (not at a
// boundary), and gorilla fails the read anyway.
type frameTracker struct {
	hdr       [maxHeaderBytes]byte
	hdrLen    int    // header bytes of the current frame seen so far
	hdrNeed   int    // header bytes the current frame has (2 until known)
	payload   uint64 // payload bytes of the current frame still to come
	inMessage bool   // a data frame without FIN was seen: continuations follow
}

// maxHeaderBytes is the longest frame header: 2 bytes, an 8-byte extended
// length and a 4-byte masking key.
const maxHeaderBytes = 14

// atBoundary reports whether the bytes fed so far end with a complete frame
// and no fragmented message is open.
func (t *frameTracker) atBoundary() bool {
	return t.hdrLen == 0 && t.payload == 0 && !t.inMessage
}

// feed accounts for bytes handed to gorilla, in stream order.
func (t *frameTracker) feed(p []byte) {
	for len(p) > 0 {
		if t.payload > 0 {
			n := uint64(len(p))
			if n > t.payload {
				n = t.payload
			}
			t.payload -= n
			p = p[n:]
			continue
		}
		t.hdr[t.hdrLen] = p[0]
		t.hdrLen++
		p = p[1:]
		if t.hdrLen == 2 {
			t.hdrNeed = 2 + extendedLengthBytes(t.hdr[1])
			if t.hdr[1]&0x80 != 0 {
				t.hdrNeed += 4
			}
		}
		if t.hdrLen >= 2 && t.hdrLen == t.hdrNeed {
			t.endHeader()
		}
	}
}

// endHeader takes the payload length and message state from a complete
// header and readies the tracker for the payload.
func (t *frameTracker) endHeader() {
	h := t.hdr[:t.hdrLen]
	var length uint64
	switch n := h[1] & 0x7f; n {
	case 126:
		length = uint64(h[2])<<8 | uint64(h[3])
	case 127:
		for _, b := range h[2:10] {
			length = length<<8 | uint64(b)
		}
	default:
		length = uint64(n)
	}
	fin := h[0]&0x80 != 0
	switch h[0] & 0x0f {
	case 0x0, 0x1, 0x2: // continuation, text, binary: data frames
		t.inMessage = !fin
	}
	t.payload = length
	t.hdrLen, t.hdrNeed = 0, 0
}

// extendedLengthBytes is how many bytes of extended payload length follow
// the second header byte.
func extendedLengthBytes(b1 byte) int {
	switch b1 & 0x7f {
	case 126:
		return 2
	case 127:
		return 8
	}
	return 0
}
