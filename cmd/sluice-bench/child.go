package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// childProc is this binary running one of its internal commands (the
// broadcast server, a dialer) as a child: it reports on stdout and ends
// when its stdin closes.
type childProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	done   chan struct{}
}

// startChild runs this binary with args (an internal command and its
// flags) in its own process group, dying with the bench; its stderr is
// the bench's.
func startChild(args ...string) (*childProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, args...)
	cmd.SysProcAttr = childAttrs()
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", args[0], err)
	}
	p := &childProc{cmd: cmd, stdin: stdin, stdout: stdout, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// pid is the child's process id.
func (p *childProc) pid() int { return p.cmd.Process.Pid }

// stop closes the child's stdin and asks it to end (SIGTERM), killing it
// after stopTimeout.
func (p *childProc) stop() {
	_ = p.stdin.Close()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
