package ratelimit

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
)

func TestParsePolicies(t *testing.T) {
	base := DefaultPolicies()
	tests := []struct {
		name    string
		in      string
		want    Policies // nil when an error is expected
		wantErr string   // substring of the error
	}{
		{name: "empty keeps base", in: "", want: DefaultPolicies()},
		{name: "spaces keep base", in: "  ", want: DefaultPolicies()},
		{
			name: "example from the docs",
			in:   "usersig=10/1m:20,call.create=5/1m",
			want: with(DefaultPolicies(), map[string]Policy{
				OpUserSig:    {Rate: 10, Period: time.Minute, Burst: 20},
				OpCallCreate: {Rate: 5, Period: time.Minute, Burst: 5},
			}),
		},
		{
			name: "every operation, spaces, hours and seconds",
			in:   " usersig = 100/1h , call.create=1/1s:1, call.join=30/90s:10,session=2/1m30s:3 ,auth.fail=20/1m:10",
			want: Policies{
				OpUserSig:    {Rate: 100, Period: time.Hour, Burst: 100},
				OpCallCreate: {Rate: 1, Period: time.Second, Burst: 1},
				OpCallJoin:   {Rate: 30, Period: 90 * time.Second, Burst: 10},
				OpSession:    {Rate: 2, Period: 90 * time.Second, Burst: 3},
				OpAuthFail:   {Rate: 20, Period: time.Minute, Burst: 10},
			},
		},
		{name: "unknown operation", in: "usersig=1/1m,bogus=1/1m", wantErr: `item 2 "bogus=1/1m": ratelimit: invalid policy: unknown operation "bogus"`},
		{name: "operation case matters", in: "UserSig=1/1m", wantErr: `unknown operation "UserSig"`},
		{name: "missing =", in: "usersig", wantErr: `item 1 "usersig": ratelimit: invalid policy: missing '='`},
		{name: "missing /", in: "usersig=10", wantErr: `item 1 "usersig=10": ratelimit: invalid policy: missing '/'`},
		{name: "period without unit", in: "usersig=10/60", wantErr: `period "60" is not a Go duration`},
		{name: "bad period", in: "usersig=10/1x", wantErr: `period "1x" is not a Go duration`},
		{name: "zero period", in: "usersig=10/0s", wantErr: "period 0s must be positive"},
		{name: "negative period", in: "usersig=10/-1m", wantErr: "period -1m0s must be positive"},
		{name: "zero rate", in: "usersig=0/1m", wantErr: `rate: ratelimit: invalid policy: "0" is not a positive integer`},
		{name: "negative rate", in: "usersig=-1/1m", wantErr: `"-1" is not a positive integer`},
		{name: "rate with sign", in: "usersig=+5/1m", wantErr: `"+5" is not a positive integer`},
		{name: "huge rate", in: "usersig=99999999999999999999/1m", wantErr: "is not a positive integer below 10^9"},
		{name: "zero burst", in: "usersig=10/1m:0", wantErr: `burst: ratelimit: invalid policy: "0"`},
		{name: "empty burst", in: "usersig=10/1m:", wantErr: `burst: ratelimit: invalid policy: ""`},
		{name: "faster than a microsecond", in: "usersig=100000000/1s", wantErr: "faster than one per microsecond"},
		{name: "window too long", in: "usersig=1/8760h:2", wantErr: "takes longer than"},
		{name: "empty item", in: "usersig=1/1m,,session=1/1m", wantErr: `item 2 "": ratelimit: invalid policy: empty item`},
		{name: "trailing comma", in: "usersig=1/1m,", wantErr: "item 2"},
		{name: "duplicate", in: "usersig=1/1m,usersig=2/1m", wantErr: `item 2 "usersig=2/1m": ratelimit: invalid policy: operation usersig given twice`},
		{name: "long item is truncated", in: "usersig=1/1m:" + strings.Repeat("9", 200), wantErr: `item 1 "usersig=1/1m:` + strings.Repeat("9", 64-len("usersig=1/1m:")) + `…"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePolicies(tc.in, base)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidPolicy) {
					t.Fatalf("err = %v, want one containing %q and wrapping ErrInvalidPolicy", err, tc.wantErr)
				}
				if got != nil {
					t.Fatalf("got %v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	if !maps.Equal(base, DefaultPolicies()) {
		t.Fatalf("ParsePolicies modified base: %v", base)
	}
}

func TestParsePoliciesNilBase(t *testing.T) {
	got, err := ParsePolicies("session=3/1m", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Policies{OpSession: {Rate: 3, Period: time.Minute, Burst: 3}}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestDefaultPolicies(t *testing.T) {
	ps := DefaultPolicies()
	if err := ps.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		OpUserSig:    "10/1m0s:10",
		OpCallCreate: "10/1m0s:5",
		OpCallJoin:   "30/1m0s:10",
		OpSession:    "10/1m0s:5",
		OpAuthFail:   "20/1m0s:10",
	}
	if len(ps) != len(want) {
		t.Fatalf("%d policies, want %d", len(ps), len(want))
	}
	for op, s := range want {
		if got := ps[op].String(); got != s {
			t.Errorf("%s = %s, want %s", op, got, s)
		}
	}
	ps[OpUserSig] = Policy{}
	if DefaultPolicies()[OpUserSig].Rate != 10 {
		t.Fatal("DefaultPolicies shares its map between calls")
	}
}

func TestPoliciesValidate(t *testing.T) {
	tests := []struct {
		name    string
		ps      Policies
		wantErr string
	}{
		{name: "empty", ps: Policies{}},
		{name: "unknown op", ps: Policies{"x": {Rate: 1, Period: time.Second, Burst: 1}}, wantErr: `unknown operation "x"`},
		{name: "bad policy", ps: Policies{OpSession: {Rate: 1, Period: time.Second}}, wantErr: "operation session: ratelimit: invalid policy: burst 0 must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.ps.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestKey(t *testing.T) {
	if got := Key(OpUserSig, "wx_abc"); got != "usersig:wx_abc" {
		t.Fatalf("Key = %q", got)
	}
}

func TestParseFailureMode(t *testing.T) {
	tests := []struct {
		in      string
		want    FailureMode
		wantErr bool
	}{
		{"", FailLocal, false},
		{"local", FailLocal, false},
		{" Open ", FailOpen, false},
		{"CLOSED", FailClosed, false},
		{"fail-open", FailLocal, true},
		{"memory", FailLocal, true},
	}
	for _, tc := range tests {
		got, err := ParseFailureMode(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseFailureMode(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err == nil {
			if back, _ := ParseFailureMode(got.String()); back != got {
				t.Errorf("%v does not round-trip through String", got)
			}
		}
	}
	if got := FailureMode(7).String(); got != "FailureMode(7)" {
		t.Errorf("String of an unknown mode = %q", got)
	}
}

// FuzzParsePolicies: never panics; accepted input yields only known,
// valid policies that round-trip through Policy.String.
func FuzzParsePolicies(f *testing.F) {
	for _, s := range []string{
		"", "usersig=10/1m:20,call.create=5/1m", "auth.fail=20/1m:10", "session=1/1h",
		"call.join=30/90s:10,session=2/1m30s:3", "usersig=10/60", "usersig", ",,", "usersig=1/1m,usersig=1/1m",
		"usersig=999999999/1ns", "usersig=1/2562047h", "usersig=1/1m:999999999", "x=1/1s", "usersig= 1 / 1m : 2 ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePolicies(s, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("error does not wrap ErrInvalidPolicy: %v", err)
			}
			return
		}
		if err := ps.Validate(); err != nil {
			t.Fatalf("accepted %q but Validate fails: %v", s, err)
		}
		var items []string
		for op, p := range ps {
			items = append(items, op+"="+p.String())
		}
		again, err := ParsePolicies(strings.Join(items, ","), nil)
		if err != nil || !maps.Equal(again, ps) {
			t.Fatalf("%q parsed to %v, which does not round-trip: %v, %v", s, ps, again, err)
		}
	})
}

// with returns ps with extra's entries set.
func with(ps Policies, extra map[string]Policy) Policies {
	maps.Copy(ps, extra)
	return ps
}
