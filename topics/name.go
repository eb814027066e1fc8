package topics

import (
	"errors"
	"fmt"
)

// MaxNameLength is the longest topic name Kafka accepts.
const MaxNameLength = 249

// ErrInvalidName is returned (wrapped) for a string that Kafka would refuse
// as a topic name.
var ErrInvalidName = errors.New("invalid topic name")

// ValidateName reports whether name is a legal Kafka topic name: 1 to 249
// characters from [a-zA-Z0-9._-], and neither "." nor "..".
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(name) > MaxNameLength:
		return fmt.Errorf("%w: %d characters, at most %d", ErrInvalidName, len(name), MaxNameLength)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q is reserved", ErrInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		if !legalByte(name[i]) {
			return fmt.Errorf("%w: %q has character %q (allowed: letters, digits, '.', '_', '-')", ErrInvalidName, name, name[i])
		}
	}
	return nil
}

func legalByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}
