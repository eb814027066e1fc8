package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/gorilla/websocket"
)

// dialerCommand is the child that holds a share of the connections
// scenario's sockets when they are more than one process may open
// (RLIMIT_NOFILE): it opens and subscribes its sockets, reports on one
// line of stdout, keeps them read (pings) and closes them when its stdin
// closes.
const dialerCommand = "internal-dialer"

// dialReport is what a dialer child prints once its sockets are open.
type dialReport struct {
	Accepted   int    `json:"accepted"`
	Failed     int    `json:"failed"`
	FirstError string `json:"first_error,omitempty"`
	RSS        int64  `json:"rss_bytes"`
}

func dialerCommandMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(dialerCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "Sluice protocol URL")
	topic := fs.String("topic", "", "topic each socket subscribes to")
	sockets := fs.Int("sockets", 0, "sockets to open")
	first := fs.Int("source-first", 0, "first source address: 127.0.0.(2+N)")
	sources := fs.Int("source-addrs", 1, "source addresses to use")
	concurrency := fs.Int("dial-concurrency", 64, "handshakes in flight")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *url == "" || *topic == "" || *sockets < 1 || *sources < 1 || *first < 0 || *first+*sources > 250 {
		fmt.Fprintln(stderr, "internal-dialer: --url, --topic, a positive --sockets and source addresses within 127.0.0.2-251 are required")
		return 2
	}
	raiseNoFile()
	d := newDialerFrom(*first, *sources)
	conns, failed, err := d.dialAll(ctx, *url, *sockets, *concurrency,
		func(_ int, c *websocket.Conn) error { return subscribeAndWait(c, *topic) }, nil)
	defer closeAll(conns)
	keepReading(conns)
	rep := dialReport{Accepted: len(conns), Failed: failed}
	if err != nil {
		rep.FirstError = err.Error()
	}
	rep.RSS, _ = procRSS(os.Getpid())
	if err := json.NewEncoder(stdout).Encode(rep); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // hold the sockets until the parent is done
	return 0
}

// keepReading reads every idle socket in the background, so Sluice's
// pings are answered.
func keepReading(conns []*websocket.Conn) {
	for _, c := range conns {
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
}

// dialerProc is a started dialer child.
type dialerProc struct {
	*childProc
	rep chan dialReport
}

// startDialer starts a dialer child for sockets sockets from source
// addresses [first, first+sources).
func startDialer(o options, url, topic string, sockets, first, sources int) (*dialerProc, error) {
	c, err := startChild(dialerCommand, "--url", url, "--topic", topic,
		"--sockets", strconv.Itoa(sockets), "--source-first", strconv.Itoa(first), "--source-addrs", strconv.Itoa(sources),
		"--dial-concurrency", strconv.Itoa(o.dialConcurrency))
	if err != nil {
		return nil, err
	}
	p := &dialerProc{childProc: c, rep: make(chan dialReport, 1)}
	go func() {
		var rep dialReport
		if err := json.NewDecoder(bufio.NewReader(c.stdout)).Decode(&rep); err != nil {
			rep = dialReport{Failed: sockets, FirstError: "dialer child ended without a report: " + err.Error()}
		}
		p.rep <- rep
		_, _ = io.Copy(io.Discard, c.stdout)
	}()
	return p, nil
}

// report waits for the child's report.
func (p *dialerProc) report(ctx context.Context) (dialReport, error) {
	select {
	case r := <-p.rep:
		return r, nil
	case <-ctx.Done():
		return dialReport{}, ctx.Err()
	}
}

// dialSpread opens n sockets from procs dialer children, each with its
// own share of the sockets and of the source addresses, and returns them
// once every child reported; stop them to close the sockets.
func dialSpread(ctx context.Context, o options, url, topic string, n, procs int) ([]*dialerProc, dialReport, error) {
	var (
		kids  []*dialerProc
		total dialReport
	)
	first := 0
	for i := range procs {
		share := n / procs
		if i < n%procs {
			share++
		}
		sources := max(1, (share+socketsPerSource-1)/socketsPerSource)
		k, err := startDialer(o, url, topic, share, first, sources)
		if err != nil {
			for _, k := range kids {
				k.stop()
			}
			return nil, total, err
		}
		first += sources
		kids = append(kids, k)
	}
	// The children dial at once; their reports are read in turn.
	for _, k := range kids {
		r, err := k.report(ctx)
		if err != nil {
			return kids, total, err
		}
		total.Accepted += r.Accepted
		total.Failed += r.Failed
		total.RSS += r.RSS
		if total.FirstError == "" {
			total.FirstError = r.FirstError
		}
	}
	return kids, total, nil
}
