package testclock

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestEpoch(t *testing.T) {
	tests := []struct {
		env  string
		want time.Time
	}{
		{"", DefaultEpoch},
		{"2037-12-30T23:59:58Z", time.Date(2037, 12, 30, 23, 59, 58, 0, time.UTC)},
		{"2001-02-03T12:05:06+08:00", time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Setenv(EpochEnv, tt.env)
		if got := Epoch(); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("%s=%q: Epoch() = %v, want %v in UTC", EpochEnv, tt.env, got, tt.want)
		}
	}
	t.Setenv(EpochEnv, "tomorrow")
	defer func() {
		if recover() == nil {
			t.Error("a malformed epoch did not panic")
		}
	}()
	Epoch()
}

func TestClock(t *testing.T) {
	c := New(DefaultEpoch)
	c.Advance(90 * time.Second)
	if got, want := c.Now(), DefaultEpoch.Add(90*time.Second); !got.Equal(want) {
		t.Fatalf("after Advance: %v, want %v", got, want)
	}
	c.Set(DefaultEpoch.Add(-time.Hour))
	if got, want := c.Now(), DefaultEpoch.Add(-time.Hour); !got.Equal(want) {
		t.Fatalf("after Set: %v, want %v", got, want)
	}
}

// fixedInstant matches a calendar date written into a test, and a Unix time
// literal of the present era (1e9 seconds is 2001).
var fixedInstant = regexp.MustCompile(`time\.Date\(|time\.Unix\([0-9]{10}`)

// pinnedOK lists the test files and folders that may write an instant
// literally, with the reason it can never meet the real clock.
var pinnedOK = map[string]string{
	"shared/internal/testclock/":  "the one place fixed instants live",
	"shared/usersig/":             "the signing core reads no clock: every instant is a parameter, and the vectors fix theirs",
	"infra/package_test.go":       "1980-01-01 is the zip format's earliest timestamp, not a clock reading",
	"shared/awsapi/sigv4_test.go": "Sign reads no clock: the documented SigV4 examples fix their signing date, the oracle test draws random ones",
}

// TestNoFixedInstantOutsideEpoch keeps every fixed instant in the tests
// behind Epoch, so make test's runs with the epoch moved to 2001 and 2037
// reach all of them: a test that pins its own date escapes that check and
// breaks silently once the date goes by.
func TestNoFixedInstantOutsideEpoch(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from the test's folder: %v", err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator)))
		if d.IsDir() {
			if name := d.Name(); name == "node_modules" || name == "testdata" || (strings.HasPrefix(name, ".") && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, "_test.go") || allowed(rel) {
			return nil
		}
		checked++
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if fixedInstant.MatchString(line) {
				t.Errorf("%s:%d pins an instant; take it from testclock.Epoch(): %s", rel, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("only %d test files checked: the walk missed the repository", checked)
	}
}

func allowed(rel string) bool {
	for p := range pinnedOK {
		if rel == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(rel, p)) {
			return true
		}
	}
	return false
}
