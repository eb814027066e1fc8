package registry

import (
	"encoding/binary"
	"encoding/json"
	"unicode/utf8"
)

// The Confluent wire format: magic byte 0, the schema ID as a 4-byte
// big-endian integer, then the payload (Avro binary or JSON text).
const (
	magicByte = 0
	headerLen = 5
)

func appendHeader(b []byte, id int) []byte {
	b = append(b, magicByte)
	return binary.BigEndian.AppendUint32(b, uint32(id))
}

// parseHeader splits a framed record into its schema ID and payload; ok is
// false when value is not framed.
func parseHeader(value []byte) (id int, payload []byte, ok bool) {
	if len(value) < headerLen || value[0] != magicByte {
		return 0, nil, false
	}
	return int(binary.BigEndian.Uint32(value[1:headerLen])), value[headerLen:], true
}

func utfValid(b []byte) bool  { return utf8.Valid(b) }
func jsonValid(b []byte) bool { return json.Valid(b) }
