// The race detector makes sync.Pool drop some of what it is given, so
// allocation counts under -race are not the program's: this test builds
// only without it, and make test runs it without -race after the suite.

//go:build !race

package registry

import (
	"context"
	"testing"
)

// TestEncodeAllocationBudget holds validate+encode to its budget: one
// allocation, the framed record it returns.
func TestEncodeAllocationBudget(t *testing.T) {
	g := benchGovernor(t)
	ctx := context.Background()
	in := []byte(orderJSON)
	if _, err := g.EncodeValue(ctx, "orders", in, true); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() { _, _ = g.EncodeValue(ctx, "orders", in, true) }); n > 1 {
		t.Fatalf("Avro validate+encode allocates %.1f times, budget 1", n)
	}
}
