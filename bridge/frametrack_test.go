package bridge

import (
	"math/rand/v2"
	"testing"
)

// clientFrame builds a masked client frame.
func clientFrame(fin bool, opcode byte, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, mask[:]...)
	for i, c := range payload {
		f = append(f, c^mask[i%4])
	}
	return f
}

// TestFrameTrackerBoundaries feeds random streams of messages (fragmented
// ones with control frames between their fragments, payloads of every
// length class) in random pieces, and checks that the tracker reports a
// boundary exactly where a message, or a control frame between messages,
// ends.
func TestFrameTrackerBoundaries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		var stream []byte
		boundary := map[int]bool{0: true} // stream offsets that are boundaries
		for range 1 + rng.IntN(6) {
			switch rng.IntN(4) {
			case 0: // a control frame between messages
				stream = append(stream, clientFrame(true, 0x9, make([]byte, rng.IntN(126)))...)
			default:
				fragments := 1 + rng.IntN(3)
				for i := range fragments {
					op := byte(0x1)
					if i > 0 {
						op = 0x0
					}
					size := []int{0, 1, 125, 126, 300, 65535, 65536, 70000}[rng.IntN(8)]
					stream = append(stream, clientFrame(i == fragments-1, op, make([]byte, size))...)
					if i < fragments-1 && rng.IntN(2) == 0 { // a pong inside the message
						stream = append(stream, clientFrame(true, 0xA, []byte("p"))...)
					}
				}
			}
			boundary[len(stream)] = true
		}
		var tr frameTracker
		for off := 0; off < len(stream); {
			n := 1 + rng.IntN(min(len(stream)-off, []int{1, 3, 20, 5000}[rng.IntN(4)]))
			tr.feed(stream[off : off+n])
			off += n
			if got := tr.atBoundary(); got != boundary[off] {
				t.Fatalf("round %d: at offset %d of %d atBoundary = %v, want %v", round, off, len(stream), got, boundary[off])
			}
		}
	}
}

func BenchmarkFrameTracker(b *testing.B) {
	f := clientFrame(true, 0x1, make([]byte, 1024))
	b.SetBytes(int64(len(f)))
	var tr frameTracker
	for b.Loop() {
		tr.feed(f)
	}
}
