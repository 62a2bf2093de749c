package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// statFields returns the fields of /proc/<pid>/stat after the command name
// (which may contain spaces and parentheses): index 0 is field 3 (state).
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, errors.New("malformed stat")
	}
	return strings.Fields(s[i+1:]), nil
}

// field returns stat field n (1-based, as in proc(5)).
func field(f []string, n int) (uint64, error) {
	if n-3 >= len(f) {
		return 0, fmt.Errorf("stat has no field %d", n)
	}
	return strconv.ParseUint(f[n-3], 10, 64)
}

func procStartTime(pid int) (uint64, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	return field(f, 22)
}

// procTreeUsage sums RSS and CPU over pid and its descendants.
func procTreeUsage(pid int) (int64, float64, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, err
	}
	children := map[int][]int{}
	stats := map[int][]string{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := statFields(n)
		if err != nil {
			continue
		}
		stats[n] = f
		if pp, err := field(f, 4); err == nil {
			children[int(pp)] = append(children[int(pp)], n)
		}
	}
	if stats[pid] == nil {
		return 0, 0, fmt.Errorf("process %d not found", pid)
	}
	var mem int64
	var ticks uint64
	page := int64(os.Getpagesize())
	for todo := []int{pid}; len(todo) > 0; {
		n := todo[len(todo)-1]
		todo = append(todo[:len(todo)-1], children[n]...)
		f := stats[n]
		if rss, err := field(f, 24); err == nil {
			mem += int64(rss) * page
		}
		for _, k := range []int{14, 15, 16, 17} {
			if v, err := field(f, k); err == nil {
				ticks += v
			}
		}
	}
	return mem, float64(ticks) / clockTicks, nil
}

// claim reserves an id so two live processes never share a cgroup.
func (s *Sandbox) claim(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live[id] {
		return false
	}
	s.live[id] = true
	return true
}

func (s *Sandbox) release(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, id)
}
