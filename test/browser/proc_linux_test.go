package browser

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts cmd in its own process group, killed with the test
// binary.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
