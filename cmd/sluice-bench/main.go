// Command sluice-bench measures a Sluice gateway against a real Kafka broker
// and against baselines that do the same work without Sluice: the raw
// franz-go producer for publishing and a bare gorilla/websocket broadcast
// server for fan-out. See BENCHMARKS.md for the commands and results.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
