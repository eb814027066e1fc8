// Package topics owns Sluice's routes and topic names: it checks that a name
// is a legal Kafka topic, and maps configured URL path templates such as
// "/chat/{room}" to topic templates such as "chat.{room}".
//
// The package does no I/O. A Router is immutable after New and safe for
// concurrent use by any number of goroutines.
package topics
