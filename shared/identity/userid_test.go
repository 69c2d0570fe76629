package identity

import (
	"encoding/base32"
	"errors"
	"strings"
	"testing"
)

func TestValidUserID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"a", true},
		{"Alice_01-x", true},
		{strings.Repeat("a", 32), true},
		{strings.Repeat("a", 33), false},
		{"", false},
		{"a b", false},
		{"a.b", false},
		{"a@b", false},
		{"ä", false},
		{"a\x00", false},
	}
	for _, tt := range tests {
		if got := ValidUserID(tt.in); got != tt.want {
			t.Errorf("ValidUserID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNewDeriver(t *testing.T) {
	tests := []struct {
		name, mode, prefix string
		wantErr            string
	}{
		{"raw no prefix", ModeRaw, "", ""},
		{"raw prefix 31", ModeRaw, strings.Repeat("p", 31), ""},
		{"raw prefix 32", ModeRaw, strings.Repeat("p", 32), "identity: userID prefix is 32 characters; raw mode allows at most 31"},
		{"hash prefix 12", ModeHash, "abcdefghijkl", ""},
		{"hash prefix 13", ModeHash, "abcdefghijklm", "identity: userID prefix is 13 characters; hash mode allows at most 12"},
		{"bad prefix char", ModeHash, "wx.", "identity: userID prefix may only contain A-Z, a-z, 0-9, '_' and '-'"},
		{"unknown mode", "plain", "", `identity: unknown userID mode "plain" (want "raw" or "hash")`},
		{"empty mode", "", "", `identity: unknown userID mode "" (want "raw" or "hash")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDeriver(tt.mode, tt.prefix)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewDeriver: %v", err)
				}
				if d.Mode() != tt.mode || d.Prefix() != tt.prefix {
					t.Fatalf("got mode %q prefix %q", d.Mode(), d.Prefix())
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDeriveRaw(t *testing.T) {
	tests := []struct {
		prefix, subject, want string
		wantErr               bool
	}{
		{"", "alice", "alice", false},
		{"wx_", "oAbCdEfGhIjKlMnOpQrStUvWxYz0", "wx_oAbCdEfGhIjKlMnOpQrStUvWxYz0", false},
		{"u_", strings.Repeat("a", 30), "u_" + strings.Repeat("a", 30), false},
		{"u_", strings.Repeat("a", 31), "", true},
		{"", "alice@example.com", "", true},
		{"", "", "", true},
		{"", "a b", "", true},
	}
	for _, tt := range tests {
		d, err := NewDeriver(ModeRaw, tt.prefix)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Derive(tt.subject)
		if tt.wantErr {
			if !errors.Is(err, ErrUnmappableSubject) || !errors.Is(err, ErrForbidden) {
				t.Errorf("Derive(%q) err = %v, want ErrUnmappableSubject", tt.subject, err)
			}
			if err != nil && tt.subject != "" && strings.Contains(err.Error(), tt.subject) {
				t.Errorf("error text leaks the subject: %v", err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Derive(%q) = %q, %v; want %q", tt.subject, got, err, tt.want)
		}
	}
}

// TestDeriveHashStable pins the hash-mode function: prefix +
// lowercase(base32(SHA-256(subject)))[:32-len(prefix)]. The expected values
// were computed independently (Python hashlib + base64.b32encode).
func TestDeriveHashStable(t *testing.T) {
	tests := []struct {
		prefix, subject, want string
	}{
		{"", "alice", "fpmansl7byak6gq7ymzi7j3dvetjoi6i"},
		{"wx_", "oAbCdEfGhIjKlMnOpQrStUvWxYz0", "wx_dmfu2vy3u73halfcuwzpdtceuefzy"},
		{"u-", "alice@example.com", "u-76gzqgp4byjl6djerexelgd6esncrx"},
		{"abcdefghijkl", "x", "abcdefghijklfvyrmqvxe2yeialcpsu7"},
		{"", "用户", "buhbvbvtvj4hocnqamu7zuzlloxqg3eh"},
	}
	for _, tt := range tests {
		d, err := NewDeriver(ModeHash, tt.prefix)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ { // same subject, same ID, every time
			got, err := d.Derive(tt.subject)
			if err != nil || got != tt.want {
				t.Fatalf("Derive(%q) = %q, %v; want %q", tt.subject, got, err, tt.want)
			}
		}
	}
}

func TestDeriveHashEmptySubject(t *testing.T) {
	d, err := NewDeriver(ModeHash, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Derive(""); !errors.Is(err, ErrUnmappableSubject) {
		t.Fatalf("err = %v, want ErrUnmappableSubject", err)
	}
}

func FuzzDerive(f *testing.F) {
	f.Add(ModeHash, "", "alice")
	f.Add(ModeRaw, "wx_", "oAbCdEfGhIjKlMnOpQrStUvWxYz0")
	f.Add(ModeRaw, "", "alice@example.com")
	f.Add(ModeHash, "abcdefghijkl", "用户")
	f.Add(ModeRaw, "", "")
	f.Fuzz(func(t *testing.T, mode, prefix, subject string) {
		d, err := NewDeriver(mode, prefix)
		if err != nil {
			return
		}
		id, err := d.Derive(subject)
		if err != nil {
			if !errors.Is(err, ErrUnmappableSubject) {
				t.Fatalf("unexpected error class: %v", err)
			}
			if mode == ModeHash && subject != "" {
				t.Fatalf("hash mode refused a non-empty subject: %v", err)
			}
			return
		}
		if !ValidUserID(id) {
			t.Fatalf("Derive produced invalid userID %q", id)
		}
		if !strings.HasPrefix(id, prefix) {
			t.Fatalf("userID %q lacks prefix %q", id, prefix)
		}
		if mode == ModeHash && len(id) != MaxUserIDLength {
			t.Fatalf("hash userID %q has length %d", id, len(id))
		}
		if again, _ := d.Derive(subject); again != id {
			t.Fatalf("unstable: %q then %q", id, again)
		}
	})
}

// TestAppendBase32Lower compares appendBase32Lower with encoding/base32 for
// every input length up to 40 bytes (every remainder of 5) and every count
// up to the unpadded length.
func TestAppendBase32Lower(t *testing.T) {
	src := make([]byte, 40)
	for i := range src {
		src[i] = byte(i*151 + 7)
	}
	for l := 0; l <= len(src); l++ {
		full := strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString(src[:l]), "="))
		for n := 0; n <= len(full); n++ {
			if got := string(appendBase32Lower([]byte("p-"), src[:l], n)); got != "p-"+full[:n] {
				t.Fatalf("len %d, n %d: %q, want %q", l, n, got, "p-"+full[:n])
			}
		}
	}
}

func FuzzAppendBase32Lower(f *testing.F) {
	f.Add([]byte("alice"), 8)
	f.Add([]byte{0xff, 0, 0xff}, 5)
	f.Fuzz(func(t *testing.T, src []byte, n int) {
		full := strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString(src), "="))
		if n < 0 || n > len(full) {
			n = len(full)
		}
		if got := string(appendBase32Lower(nil, src, n)); got != full[:n] {
			t.Fatalf("%x, %d: %q, want %q", src, n, got, full[:n])
		}
	})
}
