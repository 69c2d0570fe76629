package trtcevent

import (
	"errors"
	"testing"
)

// FuzzParse: any body either decodes to an event with exactly one kind of
// room, or fails with ErrInvalid; it never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(enterBody))
	f.Add([]byte(docsBody))
	f.Add([]byte(`{"EventGroupId":1,"EventType":102,"EventInfo":{"RoomId":"12345"}}`))
	f.Add([]byte(`{"EventGroupId":1,"EventType":103,"EventInfo":{"RoomId":4294967295,"UserId":"u"}}`))
	f.Add([]byte(`{"EventInfo":{"RoomId":[]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if (e.Room.Str != "") == (e.Room.Num != 0) {
			t.Fatalf("room %+v is not exactly one kind", e.Room)
		}
		if len(e.Key()) != 64 {
			t.Fatalf("key %q", e.Key())
		}
	})
}

// FuzzVerify: only the exact Sign of the exact body verifies.
func FuzzVerify(f *testing.F) {
	f.Add("123654", []byte(docsBody), "kkoFeO3Oh2ZHnjtg8tEAQhtXK16/KI05W3BQff8IvGA=")
	f.Add("k", []byte("{}"), "")
	f.Fuzz(func(t *testing.T, key string, body []byte, sign string) {
		want := key != "" && sign != "" && sign == Sign(key, body)
		if got := Verify(key, body, sign); got != want {
			t.Fatalf("Verify = %v, want %v", got, want)
		}
	})
}
