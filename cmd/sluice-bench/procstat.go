package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procCPU returns the CPU time (user+system) pid has used, or false when it
// cannot be read (not Linux, or the process is gone).
func procCPU(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces; fields start after its ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	// After ')': state(0) ppid(1) … utime(11) stime(12).
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * time.Second / clockTicks, true
}

// procRSS returns VmRSS of pid in bytes.
func procRSS(pid int) (int64, bool) {
	if pid <= 0 {
		return 0, false
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}

// descendantNamed finds a process named comm below pid (the broker's java
// when the bench started it), or 0.
func descendantNamed(pid int, comm string) int {
	parents := map[int]int{}
	names := map[int]string{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		data, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		open, close := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
		if open < 0 || close < open {
			continue
		}
		p, err := strconv.Atoi(strings.TrimSpace(string(data[:open])))
		if err != nil {
			continue
		}
		f := strings.Fields(string(data[close+1:]))
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parents[p], names[p] = pp, string(data[open+1:close])
	}
	for p, n := range names {
		if n != comm {
			continue
		}
		for a := parents[p]; a > 1; a = parents[a] {
			if a == pid {
				return p
			}
		}
	}
	return 0
}

// cpuMeter measures the cores each named process used over a phase.
type cpuMeter struct {
	pids  map[string]int
	start map[string]time.Duration
	t0    time.Time
}

func newCPUMeter(pids map[string]int) *cpuMeter {
	m := &cpuMeter{pids: map[string]int{}, start: map[string]time.Duration{}, t0: time.Now()}
	for name, pid := range pids {
		if c, ok := procCPU(pid); ok {
			m.pids[name], m.start[name] = pid, c
		}
	}
	return m
}

// cores returns, per process, its CPU time since newCPUMeter divided by the
// wall time: 1.0 is one core busy all along.
func (m *cpuMeter) cores() map[string]float64 {
	wall := time.Since(m.t0).Seconds()
	out := map[string]float64{}
	for name, pid := range m.pids {
		if c, ok := procCPU(pid); ok && wall > 0 {
			out[name] = round3((c - m.start[name]).Seconds() / wall)
		}
	}
	return out
}
