package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ, 100
// on every mainstream Linux build).
const clockTick = 10 * time.Millisecond

// proc is a process whose CPU time a phase reports.
type proc struct {
	name string
	pid  int
}

// procCPU returns the user plus system CPU time pid has used.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold blanks;
	// fields after it start with the state (field 3).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// memory is a process's resident set size now (VmRSS) and its peak so far
// (VmHWM), in bytes.
type memory struct {
	RSS, HWM int64
}

// procMemory reads VmRSS and VmHWM from /proc/PID/status.
func procMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("/proc/%d/status %s: %w", pid, name, err)
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.HWM = kb << 10
		}
	}
	return m, sc.Err()
}

// machineCPU returns the CPU time all processors spent busy (user, nice,
// system, irq, softirq) and stolen by the hypervisor (steal), from the
// first line of /proc/stat.
func machineCPU() (busy, steal time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var v [8]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
	}
	// user nice system idle iowait irq softirq steal
	busy = time.Duration(v[0]+v[1]+v[2]+v[5]+v[6]) * clockTick
	return busy, time.Duration(v[7]) * clockTick, nil
}

// cpuMeter measures the CPU time of processes over one phase, and what
// the rest of the machine used meanwhile.
type cpuMeter struct {
	procs      []proc
	start      []time.Duration
	busy, stol time.Duration
	t0         time.Time
}

// startCPU starts measuring procs.
func startCPU(procs ...proc) *cpuMeter {
	c := &cpuMeter{procs: procs, start: make([]time.Duration, len(procs)), t0: time.Now()}
	for i, p := range procs {
		c.start[i], _ = procCPU(p.pid)
	}
	c.busy, c.stol, _ = machineCPU()
	return c
}

// stop returns each process's share of one core since startCPU, in
// percent, in the order given, followed by "other" (every other process
// and the kernel's own work) and "steal" (time the hypervisor gave the
// machine's processors to someone else).
func (c *cpuMeter) stop() []cpuShare {
	wall := time.Since(c.t0)
	pct := func(d time.Duration) float64 { return 100 * float64(d) / float64(wall) }
	out := make([]cpuShare, 0, len(c.procs)+2)
	var ours time.Duration
	for i, p := range c.procs {
		end, err := procCPU(p.pid)
		if err != nil {
			end = c.start[i] // exited: its last figure is gone
		}
		ours += end - c.start[i]
		out = append(out, cpuShare{Name: p.name, Percent: pct(end - c.start[i])})
	}
	if busy, stol, err := machineCPU(); err == nil {
		// A process's own times include what the hypervisor stole while it
		// ran, /proc/stat's busy times do not.
		other := busy - c.busy + stol - c.stol - ours
		out = append(out, cpuShare{Name: "other", Percent: max(pct(other), 0)},
			cpuShare{Name: "steal", Percent: pct(stol - c.stol)})
	}
	return out
}

// cpuShare is one process's CPU use over a phase, in percent of one core.
type cpuShare struct {
	Name    string
	Percent float64
}

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
