//go:build unix && !linux

package kafkatest

import (
	"os/exec"
	"syscall"
)

// configureProcess runs cmd in its own process group, so Stop can signal the
// JVM and anything it spawns. Outside Linux there is no parent-death signal:
// a broker outlives a test binary that is killed.
func configureProcess(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
