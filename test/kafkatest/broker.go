package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ErrClosed is returned by Restart after Close.
var ErrClosed = errors.New("kafkatest: broker closed")

// Broker is a real single-node KRaft Kafka broker run as a child java process.
//
// Its address and log directory stay the same across Stop and Restart.
// All methods are safe for concurrent use; Start, Stop, Restart and Close
// are serialised.
type Broker struct {
	opts       Options // with defaults applied and Classpath resolved
	addr       string  // "127.0.0.1:port" of the PLAINTEXT listener
	workDir    string  // temporary; removed by Close
	logDir     string
	propsFile  string
	log4jFile  string
	outputFile string
	output     *lineRing

	mu     sync.Mutex // serialises lifecycle operations; guards proc and closed
	proc   *process   // nil when not running
	closed bool
}

// process is one run of the broker JVM.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	err  error         // cmd.Wait's result; read only after done is closed
}

// Start formats a fresh log directory (unless Options.LogDir is already
// formatted), starts the broker on two free loopback ports and waits until it
// answers metadata requests. On failure nothing is left running and the error
// carries the tail of the broker's output.
func Start(ctx context.Context, opts Options) (*Broker, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("kafkatest: invalid Options: %w", err)
	}
	opts = opts.withDefaults()
	if _, err := exec.LookPath(opts.Java); err != nil {
		return nil, fmt.Errorf("kafkatest: java not found (%w); run scripts/install-test-deps.sh", err)
	}
	if opts.Classpath == "" {
		cp, err := resolveClasspath(ctx)
		if err != nil {
			return nil, fmt.Errorf("kafkatest: resolving the Kafka classpath: %w", err)
		}
		opts.Classpath = cp
	}

	workDir, err := os.MkdirTemp("", "kafkatest-")
	if err != nil {
		return nil, fmt.Errorf("kafkatest: creating work directory: %w", err)
	}
	b := &Broker{
		opts:       opts,
		workDir:    workDir,
		logDir:     opts.LogDir,
		propsFile:  filepath.Join(workDir, "server.properties"),
		log4jFile:  filepath.Join(workDir, "log4j2.properties"),
		outputFile: filepath.Join(workDir, "broker.log"),
		output:     newLineRing(outputTailLines),
	}
	if b.logDir == "" {
		b.logDir = filepath.Join(workDir, "data")
	}
	if err := b.prepare(ctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("kafkatest: %w", err)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.launchAndWait(ctx, false); err != nil {
		b.closeLocked()
		return nil, err
	}
	return b, nil
}

// prepare picks ports, writes the configuration and formats the log
// directory.
func (b *Broker) prepare(ctx context.Context) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	b.addr = "127.0.0.1:" + strconv.Itoa(ports[0])
	if err := os.MkdirAll(b.logDir, 0o755); err != nil {
		return fmt.Errorf("creating log directory: %w", err)
	}
	props := serverProperties(ports[0], ports[1], b.logDir, b.opts.ExtraProperties)
	if err := os.WriteFile(b.propsFile, props, 0o644); err != nil {
		return fmt.Errorf("writing server.properties: %w", err)
	}
	if err := os.WriteFile(b.log4jFile, []byte(log4jConfig), 0o644); err != nil {
		return fmt.Errorf("writing log4j2.properties: %w", err)
	}
	return formatStorage(ctx, b.opts.Java, b.opts.Classpath, b.log4jFile, b.propsFile)
}

// Addr returns the broker's bootstrap address, "127.0.0.1:port".
func (b *Broker) Addr() string { return b.addr }

// Stop stops the broker: SIGTERM to its process group, then SIGKILL if it
// has not exited after 20s. Stopping a stopped broker does nothing. The
// error reports a broker that had to be killed or had already died.
func (b *Broker) Stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopLocked()
}

func (b *Broker) stopLocked() error {
	p := b.proc
	if p == nil {
		return nil
	}
	b.proc = nil
	return p.stop()
}

// Restart starts the broker again on the same ports and log directory,
// stopping it first if it is running (a broker that died is simply started
// again), and waits until it answers metadata requests.
func (b *Broker) Restart(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.proc != nil && b.proc.exited() {
		b.proc = nil // crashed or killed from outside: nothing to stop
	}
	if err := b.stopLocked(); err != nil {
		return fmt.Errorf("kafkatest: restarting: %w", err)
	}
	return b.launchAndWait(ctx, true)
}

// Close stops the broker and removes its temporary work directory (and the
// log directory, unless Options.LogDir named one). Errors are ignored: use
// Stop first to see them.
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closeLocked()
}

func (b *Broker) closeLocked() {
	_ = b.stopLocked()
	b.closed = true
	_ = os.RemoveAll(b.workDir)
}

// launchAndWait starts the JVM and waits for readiness; on failure it stops
// the JVM and returns an error with the tail of its output, naming the full
// output file when keepsOutput says it outlives the error. b.mu is held.
func (b *Broker) launchAndWait(ctx context.Context, keepsOutput bool) error {
	if b.closed {
		return ErrClosed
	}
	started := time.Now()
	p, err := b.launch()
	if err != nil {
		return fmt.Errorf("kafkatest: starting broker: %w", err)
	}
	b.proc = p
	if err := b.waitReady(ctx, p); err != nil {
		_ = b.stopLocked()
		full := ""
		if keepsOutput {
			full = " (full output: " + b.outputFile + ")"
		}
		return fmt.Errorf("kafkatest: broker on %s not ready after %v: %w\n"+
			"--- last %d lines of broker output%s ---\n%s",
			b.addr, time.Since(started).Round(time.Millisecond), err,
			outputTailLines, full, b.output.String())
	}
	return nil
}

// launch starts the broker JVM. Its output goes to broker.log, the ring and
// Options.Stdout.
func (b *Broker) launch() (*process, error) {
	out, err := os.OpenFile(b.outputFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	sinks := []io.Writer{out, b.output}
	if b.opts.Stdout != nil {
		sinks = append(sinks, b.opts.Stdout)
	}
	w := teeWriter(sinks)

	cmd := exec.Command(b.opts.Java,
		brokerHeapMax, brokerHeapMin,
		"-XX:+UseSerialGC",
		"-Djava.awt.headless=true",
		"-Dlog4j2.configurationFile="+b.log4jFile,
		"-cp", b.opts.Classpath,
		"kafka.Kafka", b.propsFile)
	cmd.Dir = b.workDir
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.WaitDelay = 5 * time.Second // bounds the output copy after exit
	configureProcess(cmd)
	fmt.Fprintf(w, "--- kafkatest: starting broker on %s at %s ---\n", b.addr, time.Now().Format(time.RFC3339))
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop signals the process group and waits for the process to exit.
func (p *process) stop() error {
	if p.exited() {
		return fmt.Errorf("broker had already exited: %v", p.err)
	}
	pgid := p.cmd.Process.Pid // Setpgid: the group ID is the JVM's PID
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("broker did not exit within %v of SIGTERM and was killed", stopGrace)
	}
}

// teeWriter writes to every writer, ignoring their errors, so a failing
// sink never stalls the broker's output pipe.
type teeWriter []io.Writer

func (t teeWriter) Write(p []byte) (int, error) {
	for _, w := range t {
		_, _ = w.Write(p)
	}
	return len(p), nil
}
