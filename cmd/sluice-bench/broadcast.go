package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/twmb/franz-go/pkg/kgo"
)

// broadcastCommand runs the bare broadcast server, the fan-out baseline.
// It is a subcommand of the bench binary so that it runs in a process of
// its own, with its own CPU, as Sluice does.
const broadcastCommand = "internal-broadcast-server"

// Limits of the bare broadcast server, as gorilla's chat example names them.
const (
	bcWriteWait      = 10 * time.Second
	bcMaxMessageSize = 64 << 10
	bcShutdown       = 5 * time.Second
)

// broadcastServer is the simplest gateway that does Sluice's fan-out job:
// one franz-go consumer tails the topic from its end, each record is
// rendered once into the same message frame Sluice sends and prepared once
// (websocket.PreparedMessage), and every socket has a writer goroutine fed
// by a bounded channel; a full channel drops the socket (gorilla's chat
// hub). No auth, routing, history, filters or metrics.
type broadcastServer struct {
	queue int
	mu    sync.RWMutex
	conns map[*bcConn]struct{}
}

type bcConn struct {
	ws   *websocket.Conn
	send chan *websocket.PreparedMessage
	once sync.Once
}

func (c *bcConn) drop() { c.once.Do(func() { close(c.send) }) }

func broadcastServerCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(broadcastCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "", "Kafka bootstrap address")
	topic := fs.String("topic", "", "topic to broadcast")
	listen := fs.String("listen", "127.0.0.1:0", "listen address (loopback)")
	queue := fs.Int("send-queue", 1024, "frames queued per socket before it is dropped")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *brokers == "" || *topic == "" || *queue < 1 {
		fmt.Fprintln(stderr, "internal-broadcast-server: --brokers, --topic and a positive --send-queue are required")
		return 2
	}
	if err := requireLoopback(*listen); err != nil {
		fmt.Fprintf(stderr, "internal-broadcast-server: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The parent holds our stdin; when it goes away, so do we.
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()

	s := &broadcastServer{queue: *queue, conns: map[*bcConn]struct{}{}}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(*brokers, ",")...),
		kgo.ConsumeTopics(*topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.FetchMaxWait(250*time.Millisecond),
		kgo.MetadataMinAge(250*time.Millisecond),
		kgo.FetchMaxPartitionBytes(1<<20),
		kgo.FetchMaxBytes(16<<20),
	)
	if err != nil {
		fmt.Fprintf(stderr, "internal-broadcast-server: %v\n", err)
		return 1
	}
	defer cl.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "internal-broadcast-server: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.serveWS), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.consume(ctx, cl) }()
	<-ctx.Done()
	sctx, scancel := context.WithTimeout(context.Background(), bcShutdown)
	defer scancel()
	_ = srv.Shutdown(sctx)
	s.mu.Lock()
	for c := range s.conns {
		c.drop()
		_ = c.ws.Close()
	}
	s.mu.Unlock()
	cl.Close()
	wg.Wait()
	return 0
}

var bcUpgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}

// serveWS answers a subscribe with "subscribed" and then broadcasts every
// record to the socket; other frames are read and ignored.
func (s *broadcastServer) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := bcUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &bcConn{ws: ws, send: make(chan *websocket.PreparedMessage, s.queue)}
	go s.writePump(c)
	ws.SetReadLimit(bcMaxMessageSize)
	defer func() {
		s.mu.Lock()
		if _, ok := s.conns[c]; ok {
			delete(s.conns, c)
			c.drop()
		}
		s.mu.Unlock()
		_ = ws.Close()
	}()
	subscribed := false
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if subscribed || !strings.Contains(string(msg), `"op":"subscribe"`) {
			continue
		}
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, []byte(`{"op":"subscribed","id":"s"}`))
		if err != nil {
			return
		}
		s.mu.Lock()
		c.send <- pm // the queue is empty: nothing was broadcast to c yet
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		subscribed = true
	}
}

func (s *broadcastServer) writePump(c *bcConn) {
	defer c.ws.Close()
	for pm := range c.send {
		_ = c.ws.SetWriteDeadline(time.Now().Add(bcWriteWait))
		if err := c.ws.WritePreparedMessage(pm); err != nil {
			return
		}
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "slow_consumer"), time.Now().Add(time.Second))
}

// consume renders each record once and queues it to every socket; a socket
// whose queue is full is dropped, never waited for.
func (s *broadcastServer) consume(ctx context.Context, cl *kgo.Client) {
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return
		}
		fetches.EachRecord(func(rec *kgo.Record) {
			pm, err := websocket.NewPreparedMessage(websocket.TextMessage, messageFrame(rec))
			if err != nil {
				return
			}
			var full []*bcConn
			s.mu.RLock()
			for c := range s.conns {
				select {
				case c.send <- pm:
				default:
					full = append(full, c)
				}
			}
			s.mu.RUnlock()
			if len(full) > 0 {
				s.mu.Lock()
				for _, c := range full {
					if _, ok := s.conns[c]; ok {
						delete(s.conns, c)
						c.drop()
					}
				}
				s.mu.Unlock()
			}
		})
	}
}

// messageFrame is Sluice's message frame for a record with a JSON value and
// no key or headers (all the bench produces).
func messageFrame(rec *kgo.Record) []byte {
	b := make([]byte, 0, 96+len(rec.Topic)+len(rec.Value))
	b = append(b, `{"op":"message","topic":"`...)
	b = append(b, rec.Topic...)
	b = append(b, `","partition":`...)
	b = strconv.AppendInt(b, int64(rec.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, rec.Offset, 10)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, rec.Timestamp.UnixMilli(), 10)
	b = append(b, `,"value":`...)
	if rec.Value == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, rec.Value...)
	}
	return append(b, '}')
}
