// Package testlog captures log output in tests.
package testlog

import (
	"bytes"
	"log/slog"
	"sync"
)

// Buffer collects written bytes; safe for the concurrent writes of a
// server or of several goroutines logging at once.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// JSONLogger returns a debug-level JSON slog.Logger writing to b.
func (b *Buffer) JSONLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
