package usersig

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/adler32"
	"strings"
	"testing"

	"github.com/tencentyun/tls-sig-api-v2-golang/tencentyun"
)

// unhex decodes hex text, ignoring spaces.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInflate: zlib streams (hex: header, blocks, Adler-32), whether the
// stored-block fast path takes them, and inflate's exact result. Whatever
// the fast path refuses, compress/zlib decides, with its own errors.
func TestInflate(t *testing.T) {
	const (
		ok      = ""
		tooLong = "usersig: malformed ticket: too large: inflated document exceeds 16384 bytes"
	)
	long := strings.Repeat("x", MaxDocumentLen+1)
	longStream := append(append(unhex(t, "7801 01 0140 febf"), long...), unhex(t, "8664023b")...)
	cases := []struct {
		name   string
		stream []byte
		fast   bool   // the fast path takes it
		doc    string // with err ok
		err    string // exact error text
	}{
		{"one final block", unhex(t, "7801 01 0500 faff 68656c6c6f 062c0215"), true, "hello", ok},
		{"callsign's form: data, then empty final block", unhex(t, "7801 00 0500 faff 68656c6c6f 01 0000 ffff 062c0215"), true, "hello", ok},
		{"several blocks", unhex(t, "7801 00 0200 fdff 6162 00 0000 ffff 00 0100 feff 63 01 0100 feff 64 03d8018b"), true, "abcd", ok},
		{"empty document", unhex(t, "7801 01 0000 ffff 00000001"), true, "", ok},
		{"other FLEVEL and CINFO", unhex(t, "68de 01 0500 faff 68656c6c6f 062c0215"), true, "hello", ok},
		{"bad NLEN", unhex(t, "7801 01 0500 fbff 68656c6c6f 062c0215"), false, "", "usersig: malformed ticket: bad zlib stream: flate: corrupt input before offset 5"},
		{"LEN past the data", unhex(t, "7801 01 0600 f9ff 68656c6c6f 062c0215"), false, "", "usersig: malformed ticket: bad zlib stream: unexpected EOF"},
		{"LEN short of the data", unhex(t, "7801 01 0400 fbff 68656c6c6f 062c0215"), false, "", "usersig: malformed ticket: bad zlib stream: zlib: invalid checksum"},
		{"bad Adler-32", unhex(t, "7801 01 0500 faff 68656c6c6f 062c0214"), false, "", "usersig: malformed ticket: bad zlib stream: zlib: invalid checksum"},
		{"Adler-32 truncated", unhex(t, "7801 01 0500 faff 68656c6c6f 062c02"), false, "", "usersig: malformed ticket: bad zlib stream: unexpected EOF"},
		{"trailing byte", unhex(t, "7801 01 0500 faff 68656c6c6f 062c0215 00"), false, "", "usersig: malformed ticket: bad zlib stream: 1 bytes after the end of the zlib stream"},
		{"FDICT set", unhex(t, "7820 062c0215 01 0500 faff 68656c6c6f 062c0215"), false, "", "usersig: malformed ticket: bad zlib stream: zlib: invalid dictionary"},
		{"bad FCHECK", unhex(t, "7802 01 0500 faff 68656c6c6f 062c0215"), false, "", "usersig: malformed ticket: bad zlib stream: zlib: invalid header"},
		{"CINFO 8", unhex(t, "881c 01 0500 faff 68656c6c6f 062c0215"), false, "", "usersig: malformed ticket: bad zlib stream: zlib: invalid header"},
		{"CM 7", unhex(t, "7704 01 0500 faff 68656c6c6f 062c0215"), false, "", "usersig: malformed ticket: bad zlib stream: zlib: invalid header"},
		{"header only", unhex(t, "7801"), false, "", "usersig: malformed ticket: bad zlib stream: unexpected EOF"},
		{"non-final last block", unhex(t, "7801 00 0500 faff 68656c6c6f 062c0215"), false, "", "usersig: malformed ticket: bad zlib stream: flate: corrupt input before offset 11"},
		{"reserved BTYPE 11", unhex(t, "7801 07 0500 faff 68656c6c6f 062c0215"), false, "", "usersig: malformed ticket: bad zlib stream: flate: corrupt input before offset 1"},
		// Valid streams that the fast path leaves to compress/zlib.
		{"block header padding bits set", unhex(t, "7801 f9 0500 faff 68656c6c6f 062c0215"), false, "hello", ok},
		{"fixed Huffman (level 6)", unhex(t, "789c cb48cdc9c90700 062c0215"), false, "hello", ok},
		{"stored, then fixed Huffman", unhex(t, "7801 00 0200 fdff 6865 cbc9c90700 062c0215"), false, "hello", ok},
		{"document over MaxDocumentLen", longStream, false, "", tooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := bytes.Clone(tc.stream)
			if _, fast := inflateStored(in); fast != tc.fast {
				t.Errorf("fast path took it: %v, want %v", fast, tc.fast)
			}
			doc, err := inflate(in)
			if !bytes.Equal(in, tc.stream) {
				t.Fatal("inflate modified its input")
			}
			if tc.err != ok {
				if err == nil || err.Error() != tc.err || !errors.Is(err, ErrMalformed) {
					t.Fatalf("inflate = %q, %v; want the error %q", doc, err, tc.err)
				}
				return
			}
			if err != nil || string(doc) != tc.doc || doc == nil {
				t.Fatalf("inflate = %q (nil: %v), %v; want %q", doc, doc == nil, err, tc.doc)
			}
		})
	}
}

// TestInflateStoredZlibWriter: what compress/zlib writes at NoCompression
// (stored blocks, the last one an empty final block) takes the fast path up
// to MaxDocumentLen, written at once or in parts with a Flush (an empty
// stored block) after each.
func TestInflateStoredZlibWriter(t *testing.T) {
	for _, n := range []int{0, 1, 500, MaxDocumentLen, MaxDocumentLen + 1, 65535} {
		doc := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		for _, parts := range []int{1, 3} {
			var z bytes.Buffer
			w, err := zlib.NewWriterLevel(&z, zlib.NoCompression)
			if err != nil {
				t.Fatal(err)
			}
			for i := range parts {
				if _, err := w.Write(doc[i*n/parts : (i+1)*n/parts]); err != nil {
					t.Fatal(err)
				}
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, fast := inflateStored(z.Bytes())
			want := n <= MaxDocumentLen
			if fast != want || (fast && !bytes.Equal(got, doc)) {
				t.Errorf("%d bytes in %d parts: fast path took it: %v (equal: %v), want %v", n, parts, fast, bytes.Equal(got, doc), want)
			}
		}
	}
}

// FuzzInflateStored checks inflate's fast path against compress/zlib
// (checkInflate) on any input.
func FuzzInflateStored(f *testing.F) {
	for _, s := range []string{
		"7801 01 0500 faff 68656c6c6f 062c0215",
		"7801 00 0500 faff 68656c6c6f 01 0000 ffff 062c0215",
		"7801 00 0200 fdff 6162 00 0000 ffff 00 0100 feff 63 01 0100 feff 64 03d8018b",
		"7801 01 0000 ffff 00000001",
		"7820 062c0215 01 0500 faff 68656c6c6f 062c0215",
		"7801 f9 0500 faff 68656c6c6f 062c0215",
		"789c cb48cdc9c90700 062c0215",
	} {
		f.Add(unhex(f, s))
	}
	for _, v := range loadVectors(f) {
		s, err := NewSigner(v.App, v.Key)
		if err != nil {
			f.Fatal(err)
		}
		raw, err := tencentBase64().DecodeString(v.sign(f, s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(checkInflate)
}

// FuzzInflateStoredBlocks builds streams of stored-looking blocks, mostly
// valid ones, which random bytes rarely are (the Adler-32 alone stops
// them), and checks them as FuzzInflateStored does. blocks holds two bytes
// a block: its header byte, verbatim, and its length, taken from the front
// of doc. The bits of tweak break one thing each: NLEN of the first block,
// the Adler-32, a trailing byte, the last byte dropped.
func FuzzInflateStoredBlocks(f *testing.F) {
	f.Add(byte(0x78), byte(0x01), []byte("hello"), []byte{1, 5}, uint8(0))
	f.Add(byte(0x78), byte(0x01), []byte("hello"), []byte{0, 5, 1, 0}, uint8(0))
	f.Add(byte(0x78), byte(0x01), []byte("hello"), []byte{0, 2, 0, 0, 0, 1, 1, 2}, uint8(0))
	f.Add(byte(0x78), byte(0x01), []byte("hello"), []byte{0, 2, 1, 3}, uint8(2))
	f.Add(byte(0x78), byte(0x20), []byte("hello"), []byte{1, 5}, uint8(0))
	f.Fuzz(func(t *testing.T, cmf, flg byte, doc, blocks []byte, tweak uint8) {
		raw := []byte{cmf, flg}
		var payload []byte
		for i := 0; i+1 < len(blocks); i += 2 {
			n := min(int(blocks[i+1]), len(doc))
			nlen := ^uint16(n)
			if i == 0 && tweak&1 != 0 {
				nlen ^= 1
			}
			raw = append(raw, blocks[i], byte(n), byte(n>>8), byte(nlen), byte(nlen>>8))
			raw = append(raw, doc[:n]...)
			payload = append(payload, doc[:n]...)
			doc = doc[n:]
		}
		sum := adler32.Checksum(payload)
		if tweak&2 != 0 {
			sum ^= 1 << (tweak >> 4 & 31)
		}
		raw = binary.BigEndian.AppendUint32(raw, sum)
		if tweak&4 != 0 {
			raw = append(raw, tweak)
		}
		if tweak&8 != 0 {
			raw = raw[:len(raw)-1]
		}
		checkInflate(t, raw)
	})
}

// checkInflate: if the fast path accepts raw, compress/zlib accepts it
// too, consuming all of it, and returns the same document; and inflate
// (fast path first) returns exactly what compress/zlib alone returns,
// document or error. Neither modifies raw.
func checkInflate(t *testing.T, raw []byte) {
	in := bytes.Clone(raw)
	if doc, fast := inflateStored(in); fast {
		br := bytes.NewReader(raw)
		zr, err := zlib.NewReader(br)
		if err != nil {
			t.Fatalf("fast path took a stream compress/zlib refuses: %v", err)
		}
		var want bytes.Buffer
		if _, err := want.ReadFrom(zr); err != nil {
			t.Fatalf("fast path took a stream compress/zlib refuses: %v", err)
		}
		if br.Len() != 0 || !bytes.Equal(doc, want.Bytes()) || len(doc) > MaxDocumentLen {
			t.Fatalf("fast path: %q; compress/zlib: %q with %d bytes left", doc, want.Bytes(), br.Len())
		}
	}
	got, gotErr := inflate(in)
	want, wantErr := inflateZlib(raw)
	if !bytes.Equal(in, raw) {
		t.Fatal("inflate modified its input")
	}
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) || !bytes.Equal(got, want) {
		t.Fatalf("inflate = %q, %v; compress/zlib alone = %q, %v", got, gotErr, want, wantErr)
	}
}

// TestInflateFastPathTickets: the tickets of callsign and of the official Go
// library (v1.4.0 compresses at zlib.NoCompression, byte for byte what
// callsign writes) take the fast path; Node's (level 6) do not, and still
// decode.
func TestInflateFastPathTickets(t *testing.T) {
	official, err := tencentyun.GenUserSig(1400000000, testKey, "xiaojun", 86400)
	if err != nil {
		t.Fatal(err)
	}
	tickets := map[string]bool{"goV1": true, "goV4": true, "official GenUserSig": true}
	texts := map[string]string{"goV1": goV1, "goV4": goV4, "official GenUserSig": official}
	for _, v := range loadVectors(t) {
		s, err := NewSigner(v.App, v.Key)
		if err != nil {
			t.Fatal(err)
		}
		texts[v.Name+" callsign"], tickets[v.Name+" callsign"] = v.sign(t, s), true
		texts[v.Name+" node"], tickets[v.Name+" node"] = v.NodeUserSig, false
	}
	for name, fast := range tickets {
		raw, err := tencentBase64().DecodeString(texts[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, got := inflateStored(raw); got != fast {
			t.Errorf("%s: fast path took it: %v, want %v", name, got, fast)
		}
		if _, err := Decode(texts[name]); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
