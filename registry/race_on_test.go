//go:build race

package registry

// raceEnabled is true under the race detector, where sync.Pool drops some
// of what it is given, so allocation counts are not the program's; make
// test also runs the allocation budget tests without -race.
const raceEnabled = true
