//go:build unix && !linux

package browser

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts cmd in its own process group.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
