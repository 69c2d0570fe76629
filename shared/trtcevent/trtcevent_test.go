package trtcevent

import (
	"errors"
	"testing"
)

// docsBody is Tencent's worked example (key 123654): cJSON formatting with
// real newline and tab characters.
const docsBody = "{\n\t\"EventGroupId\":\t2,\n\t\"EventType\":\t204,\n\t\"CallbackTs\":\t1664209748188,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t8489,\n\t\t\"EventTs\":\t1664209748,\n\t\t\"EventMsTs\":\t1664209748180,\n\t\t\"UserId\":\t\"user_85034614\",\n\t\t\"Reason\":\t0\n\t}\n}"

// enterBody is the handbook's enter event for a string room (key
// callsignTestKey2025).
const enterBody = "{\n\t\"EventGroupId\":\t1,\n\t\"EventType\":\t103,\n\t\"CallbackTs\":\t1764777600123,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t\"c_8Jf2kQ7mT9xW1pLzR4vN0a\",\n\t\t\"EventTs\":\t1764777600,\n\t\t\"EventMsTs\":\t1764777600023,\n\t\t\"UserId\":\t\"wx_callee02\",\n\t\t\"Role\":\t20,\n\t\t\"TerminalType\":\t100,\n\t\t\"UserType\":\t2,\n\t\t\"Reason\":\t1\n\t}\n}"

func TestSignWorkedExamples(t *testing.T) {
	for _, tc := range []struct {
		name, key, body, sign string
	}{
		{"tencent docs", "123654", docsBody, "kkoFeO3Oh2ZHnjtg8tEAQhtXK16/KI05W3BQff8IvGA="},
		{"enter fixture", "callsignTestKey2025", enterBody, "jn5OD7CCAR/mEzl95YvNY+lVK5lBX4AyUNdixU2ulaU="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sign(tc.key, []byte(tc.body)); got != tc.sign {
				t.Fatalf("Sign = %s, want %s", got, tc.sign)
			}
			if !Verify(tc.key, []byte(tc.body), tc.sign) {
				t.Fatal("Verify rejected the worked example")
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	const key, good = "123654", "kkoFeO3Oh2ZHnjtg8tEAQhtXK16/KI05W3BQff8IvGA="
	// The docs' wording read literally (two-character \n and \t escapes).
	escaped := `{\n\t"EventGroupId":\t2,\n\t"EventType":\t204,\n\t"CallbackTs":\t1664209748188,\n\t"EventInfo":\t{\n\t\t"RoomId":\t8489,\n\t\t"EventTs":\t1664209748,\n\t\t"EventMsTs":\t1664209748180,\n\t\t"UserId":\t"user_85034614",\n\t\t"Reason":\t0\n\t}\n}`
	tampered := []byte(docsBody)
	tampered[len(tampered)-5] = '1' // Reason 0 → 1
	for _, tc := range []struct {
		name, key, body, sign string
	}{
		{"tampered body", key, string(tampered), good},
		{"re-encoded body", key, `{"EventGroupId":2,"EventType":204,"CallbackTs":1664209748188,"EventInfo":{"RoomId":8489,"EventTs":1664209748,"EventMsTs":1664209748180,"UserId":"user_85034614","Reason":0}}`, good},
		{"literal escapes", key, escaped, good},
		{"wrong key", "123655", docsBody, good},
		{"empty key", "", docsBody, good},
		{"missing sign", key, docsBody, ""},
		{"unpadded sign", key, docsBody, good[:len(good)-1]},
		{"hex sign", key, docsBody, "928a0578edce8766479e3b60f2d1004216d72b5ebf28ad395b70507dff08bc60"},
	} {
		if Verify(tc.key, []byte(tc.body), tc.sign) {
			t.Errorf("%s: verified", tc.name)
		}
	}
	if got := Sign(key, []byte(escaped)); got != "LvKyTq86nULm22HssZHPn1L7gkGafhnxpO//kNZ31TM=" {
		t.Errorf("Sign(literal escapes) = %s, want the handbook's wrong value", got)
	}
}

func TestParse(t *testing.T) {
	e, err := Parse([]byte(enterBody))
	if err != nil {
		t.Fatal(err)
	}
	want := Event{GroupID: 1, Type: EnterRoom, CallbackTs: 1764777600123, Room: Room{Str: "c_8Jf2kQ7mT9xW1pLzR4vN0a"},
		UserID: "wx_callee02", EventTs: 1764777600, EventMsTs: 1764777600023, Role: 20, TerminalType: 100, UserType: 2, Reason: 1}
	if e != want {
		t.Fatalf("Parse = %+v\nwant %+v", e, want)
	}
	d, err := Parse([]byte(docsBody))
	if err != nil || d.Room != (Room{Num: 8489}) || d.Type != 204 || d.UserID != "user_85034614" {
		t.Fatalf("Parse(docs) = %+v, %v", d, err)
	}

	for _, tc := range []struct{ name, body string }{
		{"string room that looks numeric", `{"EventGroupId":1,"EventType":102,"EventInfo":{"RoomId":"12345","EventTs":1}}`},
		{"unknown fields", `{"EventGroupId":1,"EventType":104,"NewField":{"x":[1]},"EventInfo":{"RoomId":5,"UserId":"u","Future":true}}`},
	} {
		if _, err := Parse([]byte(tc.body)); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	s, _ := Parse([]byte(`{"EventGroupId":1,"EventType":102,"EventInfo":{"RoomId":"12345","EventTs":7}}`))
	if s.Room != (Room{Str: "12345"}) || s.EventMsTs != 7000 {
		t.Errorf("string room: %+v", s)
	}

	for _, tc := range []struct{ name, body string }{
		{"not json", `EventType=103`},
		{"array", `[1]`},
		{"no type", `{"EventGroupId":1,"EventInfo":{"RoomId":1}}`},
		{"no info", `{"EventGroupId":1,"EventType":103}`},
		{"no room", `{"EventGroupId":1,"EventType":103,"EventInfo":{"UserId":"u"}}`},
		{"null room", `{"EventGroupId":1,"EventType":103,"EventInfo":{"RoomId":null}}`},
		{"empty string room", `{"EventGroupId":1,"EventType":103,"EventInfo":{"RoomId":""}}`},
		{"room 0", `{"EventGroupId":1,"EventType":103,"EventInfo":{"RoomId":0}}`},
		{"room too large", `{"EventGroupId":1,"EventType":103,"EventInfo":{"RoomId":4294967296}}`},
		{"negative room", `{"EventGroupId":1,"EventType":103,"EventInfo":{"RoomId":-1}}`},
		{"fractional room", `{"EventGroupId":1,"EventType":103,"EventInfo":{"RoomId":1.5}}`},
		{"user not a string", `{"EventGroupId":1,"EventType":103,"EventInfo":{"RoomId":1,"UserId":7}}`},
	} {
		if _, err := Parse([]byte(tc.body)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tc.name, err)
		}
	}
}

func TestKey(t *testing.T) {
	base := Event{Type: EnterRoom, Room: Room{Str: "r"}, UserID: "u", EventMsTs: 1}
	same := base
	same.CallbackTs, same.Reason = 99, 3 // a retry may differ in these
	if base.Key() != same.Key() {
		t.Fatal("a retry of the same event got another key")
	}
	for _, other := range []Event{
		{Type: ExitRoom, Room: Room{Str: "r"}, UserID: "u", EventMsTs: 1},
		{Type: EnterRoom, Room: Room{Str: "r2"}, UserID: "u", EventMsTs: 1},
		{Type: EnterRoom, Room: Room{Num: 1}, UserID: "u", EventMsTs: 1},
		{Type: EnterRoom, Room: Room{Str: "r"}, UserID: "v", EventMsTs: 1},
		{Type: EnterRoom, Room: Room{Str: "r"}, UserID: "u", EventMsTs: 2},
	} {
		if other.Key() == base.Key() {
			t.Errorf("%+v has the same key as %+v", other, base)
		}
	}
}
