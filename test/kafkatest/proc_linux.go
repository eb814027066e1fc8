package kafkatest

import (
	"os/exec"
	"syscall"
)

// configureProcess runs cmd in its own process group, so Stop can signal the
// JVM and anything it spawns, and has the kernel SIGKILL it when the thread
// that started it (and so the test binary) dies. Go never retires threads of
// goroutines that are not locked to them, so in practice the signal arrives
// when the test process exits.
func configureProcess(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
