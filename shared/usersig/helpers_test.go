package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// vector is one entry of testdata/usersig-vectors.json (a copy of the team
// handbook's vectors/usersig-vectors.json).
type vector struct {
	Name          string          `json:"name"`
	Kind          string          `json:"kind"`
	App           uint32          `json:"app"`
	Key           string          `json:"key"`
	UID           string          `json:"uid"`
	Exp           int64           `json:"exp"`
	T             int64           `json:"t"`
	RoomRaw       json.RawMessage `json:"room"`
	Priv          uint32          `json:"priv"`
	ContentToSign string          `json:"contentToSign"`
	HMACHex       string          `json:"hmacHex"`
	TLSSig        string          `json:"tlsSig"`
	UserBufB64    string          `json:"userbufB64"`
	UserBufHex    string          `json:"userbufHex"`
	JSON          string          `json:"json"`
	NodeUserSig   string          `json:"nodeUserSig"`
}

// room returns the vector's room (zero Room for a usersig vector).
func (v vector) room(t testing.TB) Room {
	t.Helper()
	switch v.Kind {
	case "pmk":
		var id uint32
		if err := json.Unmarshal(v.RoomRaw, &id); err != nil {
			t.Fatalf("%s: room: %v", v.Name, err)
		}
		return NumericRoom(id)
	case "pmkstr":
		var s string
		if err := json.Unmarshal(v.RoomRaw, &s); err != nil {
			t.Fatalf("%s: room: %v", v.Name, err)
		}
		return StringRoom(s)
	}
	return Room{}
}

func (v vector) pmk() bool      { return v.Kind != "usersig" }
func (v vector) now() time.Time { return time.Unix(v.T, 0) }
func (v vector) ttl() time.Duration {
	return time.Duration(v.Exp) * time.Second
}

// sign signs the vector's inputs with s at the vector's pinned time.
func (v vector) sign(t testing.TB, s *Signer) string {
	t.Helper()
	var out string
	var err error
	if v.pmk() {
		out, err = s.PrivateMapKey(v.UID, v.ttl(), v.now(), v.room(t), Privileges(v.Priv))
	} else {
		out, err = s.UserSig(v.UID, v.ttl(), v.now())
	}
	if err != nil {
		t.Fatalf("%s: sign: %v", v.Name, err)
	}
	return out
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "usersig-vectors.json"))
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	if len(vs) != 8 {
		t.Fatalf("want 8 vectors, got %d", len(vs))
	}
	return vs
}

// repoRoot walks up from the package directory to the directory holding
// go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}

// forged describes a ticket built by forge, an independent test encoder that
// follows the Node layout (ver, identifier, sdkappid, time, expire,
// [userbuf], sig) and compresses at zlib's default level.
type forged struct {
	ver        string
	identifier string
	app        uint64
	time       int64
	expire     int64
	userbuf    []byte // nil: no TLS.userbuf
	key        string // signs the content
}

// forge builds a correctly signed ticket from f.
func forge(t testing.TB, f forged) string {
	t.Helper()
	content := "TLS.identifier:" + f.identifier + "\nTLS.sdkappid:" + strconv.FormatUint(f.app, 10) +
		"\nTLS.time:" + strconv.FormatInt(f.time, 10) + "\nTLS.expire:" + strconv.FormatInt(f.expire, 10) + "\n"
	if f.userbuf != nil {
		content += "TLS.userbuf:" + base64.StdEncoding.EncodeToString(f.userbuf) + "\n"
	}
	mac := hmac.New(sha256.New, []byte(f.key))
	mac.Write([]byte(content))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	var doc bytes.Buffer
	doc.WriteString(`{"TLS.ver":` + strconv.Quote(f.ver) + `,"TLS.identifier":` + strconv.Quote(f.identifier) +
		`,"TLS.sdkappid":` + strconv.FormatUint(f.app, 10) + `,"TLS.time":` + strconv.FormatInt(f.time, 10) +
		`,"TLS.expire":` + strconv.FormatInt(f.expire, 10))
	if f.userbuf != nil {
		doc.WriteString(`,"TLS.userbuf":"` + base64.StdEncoding.EncodeToString(f.userbuf) + `"`)
	}
	doc.WriteString(`,"TLS.sig":"` + sig + `"}`)
	return wrap(t, doc.Bytes(), zlib.DefaultCompression)
}

// wrap compresses doc with compress/zlib at level and applies the Tencent
// alphabet, without any validation.
func wrap(t testing.TB, doc []byte, level int) string {
	t.Helper()
	return tencentBase64().EncodeToString(deflate(t, doc, level))
}

func deflate(t testing.TB, doc []byte, level int) []byte {
	t.Helper()
	var z bytes.Buffer
	w, err := zlib.NewWriterLevel(&z, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(doc); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// inflateTicket returns the JSON document inside a ticket (test helper that
// does not share code with Decode's checks).
func inflateTicket(t testing.TB, ticket string) []byte {
	t.Helper()
	raw, err := tencentBase64().DecodeString(ticket)
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	r, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("zlib: %v", err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out.Bytes()
}

// docFields parses a JSON document into a generic map with json.Number
// values, so tests compare values rather than text.
func docFields(t testing.TB, doc []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	m := map[string]any{}
	if err := d.Decode(&m); err != nil {
		t.Fatalf("doc JSON: %v", err)
	}
	return m
}

// testNow is the pinned clock of tests that need no particular vector.
var testNow = time.Unix(1700000000, 0)

// testKey is a 64-hex-character test key.
const testKey = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
