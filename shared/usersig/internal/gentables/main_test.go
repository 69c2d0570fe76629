package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedFileUpToDate fails when shared/usersig/tables.go differs from
// what go generate would write now.
func TestGeneratedFileUpToDate(t *testing.T) {
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../tables.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("shared/usersig/tables.go is out of date: run go generate ./shared/usersig/")
	}
}
