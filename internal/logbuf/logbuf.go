// Package logbuf collects the lines a component logs through a
// func(format string, args ...any), for tests to read back.
package logbuf

import (
	"fmt"
	"strings"
	"sync"
)

// Buf holds logged lines; safe for concurrent use.
type Buf struct {
	mu    sync.Mutex
	lines []string
}

// Logf appends one formatted line.
func (l *Buf) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// String returns the lines joined by newlines.
func (l *Buf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// Count returns how many lines contain s.
func (l *Buf) Count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}
