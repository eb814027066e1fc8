package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/sluicehq/sluice/bridge"
)

const usage = `sluice-bench measures Sluice against a real Kafka broker.

Usage:
  sluice-bench --scenario S [flags]

Scenarios:
  publish      N sockets publish records of --size bytes as fast as acks allow;
               then the raw franz-go producer writes the same records (ratio).
  fanout       M sockets subscribe to one topic fed by a producer at --rate;
               then a bare gorilla/websocket broadcast server does the same (ratio).
  connections  K idle sockets with one subscription each; Sluice's memory and
               goroutines per connection and the time to accept them. More
               sockets than one process may open (RLIMIT_NOFILE) are held by
               several Sluices sharing one address (listen_reuse_port) and
               opened from several client processes; figures are summed.
  schema       publish to a plain topic and to an Avro-governed one (ratio is the
               cost of governance), then the raw franz-go producer.

Without --brokers a Kafka broker is started (test/kafkatest; needs java and
Maven). Without --sluice-url ./cmd/sluice is built (or --sluice-bin used) and
started as a separate process. All traffic stays on loopback.

Flags:
`

// Defaults of the flags whose default depends on the scenario.
const (
	defaultPublishSockets     = 8
	defaultFanoutSockets      = 1000
	defaultConnectionsSockets = 10000
)

// options is the parsed command line.
type options struct {
	scenario        string
	duration        time.Duration
	warmup          time.Duration
	sockets         int
	size            int
	rate            int
	inflight        int
	batch           int
	coalesce        int
	rounds          int
	partitions      int
	brokers         string
	sluiceURL       string
	sluicePID       int
	kafkaPID        int
	sluicePprof     string
	sluiceBin       string
	sourceAddrs     int
	dialConcurrency int
	linger          time.Duration
	sendQueue       int
	baseline        bool
	jsonOut         bool
	progress        bool
	cpuProfile      string
	sluiceProcs     int
	dialProcs       int
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.scenario, "scenario", "", "publish, fanout, connections or schema (required)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each phase (bounded: at most 10m)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured traffic before each phase's measurement")
	fs.IntVar(&o.sockets, "sockets", 0, fmt.Sprintf("WebSocket connections; 0 is the scenario's default (publish and schema %d, fanout %d, connections %d)", defaultPublishSockets, defaultFanoutSockets, defaultConnectionsSockets))
	fs.IntVar(&o.size, "size", 1024, "record value size in bytes (JSON)")
	fs.IntVar(&o.rate, "rate", 1000, "fanout: records/s the producer writes; 0 is flat out")
	fs.IntVar(&o.inflight, "inflight", 64, "publish: publishes per socket (and per raw producer goroutine) awaiting their ack")
	fs.IntVar(&o.batch, "batch", 1, "publish: records per publish frame (a batch publish when above 1; --inflight then counts frames)")
	fs.IntVar(&o.coalesce, "coalesce", 64, "publish: most publish frames a socket writes in one write when several in-flight slots are free (1: a write per frame)")
	fs.IntVar(&o.rounds, "rounds", 1, "publish, schema: run the phases this many times, alternating which goes first; the ratio is the median of the rounds' ratios")
	fs.IntVar(&o.partitions, "partitions", 3, "partitions of the topics the bench creates (fanout uses 1)")
	fs.StringVar(&o.brokers, "brokers", "", "Kafka bootstrap address on loopback; empty starts a broker (test/kafkatest)")
	fs.StringVar(&o.sluiceURL, "sluice-url", "", "base URL of a running Sluice (http://127.0.0.1:8080); empty starts one")
	fs.IntVar(&o.sluicePID, "sluice-pid", 0, "with --sluice-url: its process id, for RSS and CPU figures")
	fs.IntVar(&o.kafkaPID, "kafka-pid", 0, "with --brokers: the broker's process id, for its CPU figure")
	fs.StringVar(&o.sluicePprof, "sluice-pprof", "", "loopback address on which a Sluice the bench starts serves /debug/pprof (pprof_listen), to profile it during a run")
	fs.StringVar(&o.sluiceBin, "sluice-bin", "", "sluice binary to start; empty builds ./cmd/sluice")
	fs.IntVar(&o.sourceAddrs, "source-addrs", 8, fmt.Sprintf("at least this many client source addresses 127.0.0.2… used round-robin, so sockets can exceed one address's ephemeral ports; raised to keep each under %d sockets (Sluice's default max_connections_per_ip is 1000)", socketsPerSource))
	fs.IntVar(&o.dialConcurrency, "dial-concurrency", 64, "WebSocket handshakes in flight at once")
	fs.DurationVar(&o.linger, "linger", bridge.DefaultLinger, "producer linger of Sluice (kafka.linger) and of the raw franz-go producer; 0 for none")
	fs.IntVar(&o.sendQueue, "send-queue", 1024, "frames queued per socket before it is a slow consumer (Sluice send_queue_length and the bare server)")
	fs.BoolVar(&o.baseline, "baseline", true, "run the comparison baseline (raw franz-go, bare broadcast server)")
	fs.BoolVar(&o.jsonOut, "json", false, "print the result as JSON on stdout (the table goes to stderr)")
	fs.BoolVar(&o.progress, "progress", true, "show a progress bar when stderr is a terminal")
	fs.IntVar(&o.sluiceProcs, "sluice-procs", 0, "connections: Sluice processes sharing one address (listen_reuse_port); 0 is as many as RLIMIT_NOFILE needs for --sockets")
	fs.IntVar(&o.dialProcs, "dial-procs", 0, "connections: client processes the sockets are opened from; 0 is as many as RLIMIT_NOFILE needs for --sockets")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the bench's own CPU profile (its clients, not Sluice: see --sluice-pprof) to this file")
}

// Bounds that keep every run finite.
const (
	maxDuration = 10 * time.Minute
	maxSockets  = 500_000
	maxSize     = 1 << 20
	// socketsPerSource bounds the sockets opened from one source address,
	// below Sluice's default max_connections_per_ip (1000).
	socketsPerSource = 900
	// maxProcs bounds --sluice-procs and --dial-procs.
	maxProcs = 64
)

// validate reports every problem with o and fills scenario defaults.
func (o *options) validate() error {
	var errs []error
	switch o.scenario {
	case "publish", "schema":
		if o.sockets == 0 {
			o.sockets = defaultPublishSockets
		}
	case "fanout":
		if o.sockets == 0 {
			o.sockets = defaultFanoutSockets
		}
	case "connections":
		if o.sockets == 0 {
			o.sockets = defaultConnectionsSockets
		}
	case "":
		errs = append(errs, errors.New("--scenario is required"))
	default:
		errs = append(errs, fmt.Errorf("--scenario %q: want publish, fanout, connections or schema", o.scenario))
	}
	if o.duration <= 0 || o.duration > maxDuration {
		errs = append(errs, fmt.Errorf("--duration %v: want more than 0 and at most %v", o.duration, maxDuration))
	}
	if o.warmup < 0 || o.warmup > maxDuration {
		errs = append(errs, fmt.Errorf("--warmup %v: want 0 to %v", o.warmup, maxDuration))
	}
	if o.sockets < 0 || o.sockets > maxSockets {
		errs = append(errs, fmt.Errorf("--sockets %d: want 1 to %d", o.sockets, maxSockets))
	}
	if o.size < minValueSize || o.size > maxSize {
		errs = append(errs, fmt.Errorf("--size %d: want %d to %d", o.size, minValueSize, maxSize))
	}
	if o.rate < 0 {
		errs = append(errs, fmt.Errorf("--rate %d is negative", o.rate))
	}
	if o.rounds < 1 || o.rounds > 20 {
		errs = append(errs, fmt.Errorf("--rounds %d: want 1 to 20", o.rounds))
	}
	if o.coalesce < 1 {
		errs = append(errs, fmt.Errorf("--coalesce %d: want at least 1", o.coalesce))
	}
	if o.batch < 1 || o.batch > 256 {
		errs = append(errs, fmt.Errorf("--batch %d: want 1 to 256 (Sluice's max_inflight_publishes)", o.batch))
	}
	if o.inflight < 1 || o.inflight > 10_000 {
		errs = append(errs, fmt.Errorf("--inflight %d: want 1 to 10000", o.inflight))
	}
	if o.partitions < 1 || o.partitions > 1000 {
		errs = append(errs, fmt.Errorf("--partitions %d: want 1 to 1000", o.partitions))
	}
	o.sourceAddrs = max(o.sourceAddrs, (o.sockets+socketsPerSource-1)/socketsPerSource)
	if o.sourceAddrs < 1 || o.sourceAddrs > 250 {
		errs = append(errs, fmt.Errorf("--source-addrs %d: want 1 to 250", o.sourceAddrs))
	}
	if o.sluiceProcs < 0 || o.sluiceProcs > maxProcs || o.dialProcs < 0 || o.dialProcs > maxProcs {
		errs = append(errs, fmt.Errorf("--sluice-procs %d, --dial-procs %d: want 0 to %d", o.sluiceProcs, o.dialProcs, maxProcs))
	}
	if (o.sluiceProcs > 1 || o.dialProcs > 1) && o.scenario != "connections" {
		errs = append(errs, errors.New("--sluice-procs and --dial-procs above 1 are for the connections scenario"))
	}
	if o.sluiceProcs > 1 && o.sluiceURL != "" {
		errs = append(errs, errors.New("--sluice-procs above 1 starts the Sluices itself: not with --sluice-url"))
	}
	if o.dialConcurrency < 1 || o.dialConcurrency > 4096 {
		errs = append(errs, fmt.Errorf("--dial-concurrency %d: want 1 to 4096", o.dialConcurrency))
	}
	if o.sendQueue < 1 {
		errs = append(errs, fmt.Errorf("--send-queue %d: want at least 1", o.sendQueue))
	}
	if o.brokers != "" {
		for _, b := range strings.Split(o.brokers, ",") {
			if err := requireLoopback(b); err != nil {
				errs = append(errs, fmt.Errorf("--brokers: %w", err))
			}
		}
	}
	if o.sluiceURL != "" {
		u, err := url.Parse(o.sluiceURL)
		if err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("--sluice-url %q: want http://host:port", o.sluiceURL))
		} else if err := requireLoopback(u.Host); err != nil {
			errs = append(errs, fmt.Errorf("--sluice-url: %w", err))
		}
		if o.brokers == "" {
			errs = append(errs, errors.New("--sluice-url needs --brokers: the broker Sluice uses, for topics and baselines"))
		}
		if o.scenario == "schema" {
			errs = append(errs, errors.New("--scenario schema starts its own Sluice with a governed topic; drop --sluice-url"))
		}
	}
	if o.sluicePID != 0 && o.sluiceURL == "" {
		errs = append(errs, errors.New("--sluice-pid only goes with --sluice-url"))
	}
	if o.kafkaPID != 0 && o.brokers == "" {
		errs = append(errs, errors.New("--kafka-pid only goes with --brokers (a broker the bench starts is measured anyway)"))
	}
	return errors.Join(errs...)
}

// requireLoopback refuses addresses that would send traffic off the machine.
func requireLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("%q is not host:port", hostport)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address: the bench only talks to loopback", host)
	}
	return nil
}

// run is the whole program; main only wires signals and the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == broadcastCommand {
		return broadcastServerCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == dialerCommand {
		return dialerCommandMain(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == producerCommand {
		return producerCommandMain(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("sluice-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var o options
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice-bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if err := o.validate(); err != nil {
		fmt.Fprintf(stderr, "sluice-bench: %v\n", err)
		return 2
	}
	if o.cpuProfile != "" {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "sluice-bench: %v\n", err)
			return 1
		}
		defer stop()
	}
	res, err := runScenario(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sluice-bench: %v\n", err)
		return 1
	}
	if o.jsonOut {
		res.writeTable(stderr)
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "sluice-bench: %v\n", err)
			return 1
		}
		return 0
	}
	res.writeTable(stdout)
	return 0
}

// startCPUProfile profiles the bench process into path until the returned
// func is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
