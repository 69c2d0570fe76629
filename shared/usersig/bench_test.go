package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Benchmarks. Run them all in one go so the ratios are measured together:
//
//	go test -run '^$' -bench . -benchmem ./shared/usersig/

func BenchmarkUserSig(b *testing.B) {
	v := loadVectors(b)[0]
	s, err := NewSigner(v.App, v.Key)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.UserSig(v.UID, v.ttl(), v.now()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrivateMapKey(b *testing.B) {
	v := loadVectors(b)[3]
	s, err := NewSigner(v.App, v.Key)
	if err != nil {
		b.Fatal(err)
	}
	room := v.room(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.PrivateMapKey(v.UID, v.ttl(), v.now(), room, Privileges(v.Priv)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUserSigParallel(b *testing.B) {
	v := loadVectors(b)[0]
	s, err := NewSigner(v.App, v.Key)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.UserSig(v.UID, v.ttl(), v.now()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerify verifies the Node V4 PrivateMapKey (zlib level 6) with
// the previous key first, as during a rotation.
func BenchmarkVerify(b *testing.B) {
	v := loadVectors(b)[3]
	room := v.room(b)
	want := Expect{SDKAppID: v.App, UserID: v.UID, Now: v.now(), PrivateMapKey: true, Room: &room}
	keys := []string{v.Key}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(v.NodeUserSig, keys, want); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	v := loadVectors(b)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(v.NodeUserSig); err != nil {
			b.Fatal(err)
		}
	}
}

// baseline follows the official Go library's current approach (HEAD /
// v1.4.0, spec §9): a sync.Pool of zlib writers at NoCompression, an
// encoding/json struct encoder, hmac.New per call. It is written here from
// the spec's description, for comparison only.
type baseline struct {
	app     int
	key     string
	writers sync.Pool // of *zlib.Writer
}

type baselineDoc struct {
	Ver        string `json:"TLS.ver,omitempty"`
	Identifier string `json:"TLS.identifier,omitempty"`
	SdkAppID   uint64 `json:"TLS.sdkappid,omitempty"`
	Expire     int64  `json:"TLS.expire,omitempty"`
	Time       int64  `json:"TLS.time,omitempty"`
	UserBuf    []byte `json:"TLS.userbuf,omitempty"`
	Sig        []byte `json:"TLS.sig,omitempty"`
}

func (bl *baseline) sign(identifier string, expire int64, now time.Time, userbuf []byte) (string, error) {
	t := now.Unix()
	content := "TLS.identifier:" + identifier + "\n" +
		"TLS.sdkappid:" + strconv.Itoa(bl.app) + "\n" +
		"TLS.time:" + strconv.FormatInt(t, 10) + "\n" +
		"TLS.expire:" + strconv.FormatInt(expire, 10) + "\n"
	if userbuf != nil {
		content += "TLS.userbuf:" + base64.StdEncoding.EncodeToString(userbuf) + "\n"
	}
	mac := hmac.New(sha256.New, []byte(bl.key))
	mac.Write([]byte(content))
	doc := baselineDoc{Ver: "2.0", Identifier: identifier, SdkAppID: uint64(bl.app), Expire: expire, Time: t,
		UserBuf: userbuf, Sig: mac.Sum(nil)}
	var buf bytes.Buffer
	w, _ := bl.writers.Get().(*zlib.Writer)
	if w == nil {
		var err error
		if w, err = zlib.NewWriterLevel(&buf, zlib.NoCompression); err != nil {
			return "", err
		}
	} else {
		w.Reset(&buf)
	}
	defer bl.writers.Put(w)
	if err := json.NewEncoder(w).Encode(doc); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return tencentBase64.EncodeToString(buf.Bytes()), nil
}

func (bl *baseline) userBuf(account string, room uint32, expAt uint32, priv uint32) []byte {
	b := make([]byte, 0, 23+len(account))
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(account)))
	b = append(b, account...)
	b = binary.BigEndian.AppendUint32(b, uint32(bl.app))
	b = binary.BigEndian.AppendUint32(b, room)
	b = binary.BigEndian.AppendUint32(b, expAt)
	b = binary.BigEndian.AppendUint32(b, priv)
	b = binary.BigEndian.AppendUint32(b, 0)
	return b
}

// TestBaselineMatches keeps the baseline honest: it produces the §10.2
// strings too, so the benchmarks compare equal work.
func TestBaselineMatches(t *testing.T) {
	vs := loadVectors(t)
	bl := &baseline{app: int(vs[0].App), key: vs[0].Key}
	got, err := bl.sign(vs[0].UID, vs[0].Exp, vs[0].now(), nil)
	if err != nil || got != goV1 {
		t.Fatalf("baseline V1 = %q, %v", got, err)
	}
	got, err = bl.sign(vs[3].UID, vs[3].Exp, vs[3].now(), bl.userBuf(vs[3].UID, 10000, uint32(vs[3].T+vs[3].Exp), 255))
	if err != nil || got != goV4 {
		t.Fatalf("baseline V4 = %q, %v", got, err)
	}
}

func BenchmarkBaselineUserSig(b *testing.B) {
	v := loadVectors(b)[0]
	bl := &baseline{app: int(v.App), key: v.Key}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bl.sign(v.UID, v.Exp, v.now(), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBaselinePrivateMapKey(b *testing.B) {
	v := loadVectors(b)[3]
	bl := &baseline{app: int(v.App), key: v.Key}
	b.ReportAllocs()
	for b.Loop() {
		now := v.now()
		ub := bl.userBuf(v.UID, 10000, uint32(now.Unix()+v.Exp), v.Priv)
		if _, err := bl.sign(v.UID, v.Exp, now, ub); err != nil {
			b.Fatal(err)
		}
	}
}
