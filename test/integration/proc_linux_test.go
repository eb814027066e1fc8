package integration

import (
	"os/exec"
	"syscall"
)

// configureProcess runs cmd in its own process group and has the kernel
// kill it when the test binary dies, so no sluice outlives a crashed test.
func configureProcess(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
