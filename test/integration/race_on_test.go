//go:build race

package integration

// raceEnabled builds the sluice binary with the race detector when the
// tests themselves run with -race, so a data race in the server fails the
// run through its exit code.
const raceEnabled = true
