//go:build unix && !linux

package integration

import (
	"os/exec"
	"syscall"
)

// configureProcess runs cmd in its own process group.
func configureProcess(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
