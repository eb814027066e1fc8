package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// producerCommand runs the fan-out scenario's producer in a child process:
// in the bench process it would be one goroutine among thousands of busy
// socket readers and get a matching sliver of the CPU, so the offered rate
// would depend on how fast the gateway delivers.
const producerCommand = "internal-producer"

// producerReport is what the producer child prints when it is done.
type producerReport struct {
	Records    int64  `json:"records"`
	Bytes      int64  `json:"bytes"`
	Errors     int64  `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
}

func producerCommandMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(producerCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	brokers := fs.String("brokers", "", "Kafka bootstrap address")
	topic := fs.String("topic", "", "topic to produce to")
	fs.IntVar(&o.rate, "rate", 0, "records/s; 0 is flat out")
	fs.IntVar(&o.size, "size", 256, "value size")
	from := fs.Int64("from", 0, "start of the measured window, Unix ns")
	to := fs.Int64("to", 0, "end of the window and of producing, Unix ns")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *brokers == "" || *topic == "" || *to <= *from || o.size < minValueSize || o.rate < 0 {
		fmt.Fprintln(stderr, "internal-producer: --brokers, --topic, --size, --rate and --from < --to are required")
		return 2
	}
	if time.Until(time.Unix(0, *to)) > maxDuration*2 {
		fmt.Fprintln(stderr, "internal-producer: --to is too far away")
		return 2
	}
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); os.Exit(1) }() // the parent went away
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(*brokers, ",")...),
		kgo.ClientID("sluice-bench-producer"),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.MaxBufferedRecords(fanoutMaxBuffered),
	)
	if err != nil {
		fmt.Fprintf(stderr, "internal-producer: %v\n", err)
		return 1
	}
	defer cl.Close()
	clk := phaseClock{start: time.Now(), from: time.Unix(0, *from), to: time.Unix(0, *to)}
	var c counters
	produce(ctx, cl, o, *topic, clk, &c)
	rep := producerReport{Records: c.records.Load(), Bytes: c.bytes.Load(), Errors: c.errors.Load()}
	if p := c.firstErr.Load(); p != nil {
		rep.FirstError = *p
	}
	if err := json.NewEncoder(stdout).Encode(rep); err != nil {
		return 1
	}
	return 0
}

// runProducer runs the producer child for clk and adds its report to c.
func runProducer(ctx context.Context, o options, brokers, topic string, clk phaseClock, c *counters) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, producerCommand, "--brokers", brokers, "--topic", topic,
		"--rate", strconv.Itoa(o.rate), "--size", strconv.Itoa(o.size),
		"--from", strconv.FormatInt(clk.from.UnixNano(), 10), "--to", strconv.FormatInt(clk.to.UnixNano(), 10))
	cmd.SysProcAttr = childAttrs()
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	defer stdin.Close()
	cmd.WaitDelay = stopTimeout
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	var rep producerReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return fmt.Errorf("producer report %q: %w", out, err)
	}
	c.records.Add(rep.Records)
	c.bytes.Add(rep.Bytes)
	c.errors.Add(rep.Errors)
	if rep.FirstError != "" {
		c.firstErr.CompareAndSwap(nil, &rep.FirstError)
	}
	return nil
}
