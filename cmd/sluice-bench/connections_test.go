package main

import "testing"

// TestNumberAfter reads the figures sluiceFigures takes from pprof's text
// profiles.
func TestNumberAfter(t *testing.T) {
	heap := "heap profile: 3: 4096 [9: 8192] @ heap/1048576\n...\n# runtime.MemStats\n# Alloc = 123\n# HeapInuse = 25165824\n# Stack = 65536 / 65536\n"
	if v, ok := numberAfter(heap, "# HeapInuse = "); !ok || v != 25165824 {
		t.Errorf("HeapInuse = %d, %v", v, ok)
	}
	if v, ok := numberAfter("goroutine profile: total 51\n12 @ 0x1 0x2\n", "goroutine profile: total "); !ok || v != 51 {
		t.Errorf("goroutines = %d, %v", v, ok)
	}
	if _, ok := numberAfter("no such line", "# HeapInuse = "); ok {
		t.Error("a missing line parsed")
	}
	if _, ok := numberAfter("# HeapInuse = \n", "# HeapInuse = "); ok {
		t.Error("an empty number parsed")
	}
}
