package httpevent_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/callsign-dev/callsign/shared/platform/internal/httpevent"
)

func TestValues(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    httpevent.Values
		encoded string
		err     bool
	}{
		{"string", `{"x":"y"}`, httpevent.Values{"x": {"y"}}, "x=y", false},
		{"array", `{"a":["b","c"]}`, httpevent.Values{"a": {"b", "c"}}, "a=b&a=c", false},
		{"bare true", `{"i":true}`, httpevent.Values{"i": {}}, "i", false},
		{"false and null are absent", `{"f":false,"n":null}`, httpevent.Values{}, "", false},
		{"number", `{"n":12.5}`, httpevent.Values{"n": {"12.5"}}, "n=12.5", false},
		{"empty array", `{"e":[]}`, httpevent.Values{"e": {}}, "e", false},
		{"escaping", `{"k y":"a&b=c"}`, httpevent.Values{"k y": {"a&b=c"}}, "k+y=a%26b%3Dc", false},
		{"mixed", `{"x":"y","a":["b","c"],"i":true}`, httpevent.Values{"x": {"y"}, "a": {"b", "c"}, "i": {}}, "a=b&a=c&i&x=y", false},
		{"object value", `{"o":{}}`, nil, "", true},
		{"array of numbers", `{"a":[1]}`, nil, "", true},
		{"not an object", `["x"]`, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v httpevent.Values
			err := json.Unmarshal([]byte(tt.in), &v)
			if (err != nil) != tt.err {
				t.Fatalf("error = %v, want error %v", err, tt.err)
			}
			if tt.err {
				return
			}
			if !reflect.DeepEqual(v, tt.want) {
				t.Errorf("decoded %#v, want %#v", v, tt.want)
			}
			if got := v.Encode(); got != tt.encoded {
				t.Errorf("Encode = %q, want %q", got, tt.encoded)
			}
		})
	}
}

func TestValuesHeader(t *testing.T) {
	v := httpevent.Values{"x-a": {"1", "2"}, "flag": {}}
	want := http.Header{"X-A": {"1", "2"}, "Flag": {""}}
	if got := v.Header(); !reflect.DeepEqual(got, want) {
		t.Errorf("Header = %v, want %v", got, want)
	}
}

func TestRemoteAddr(t *testing.T) {
	tests := map[string]string{
		"203.0.113.9":         "203.0.113.9:0",
		" 203.0.113.9 ":       "203.0.113.9:0",
		"203.0.113.9:4567":    "203.0.113.9:0",
		"2001:db8::1":         "[2001:db8::1]:0",
		"[2001:db8::1]:443":   "[2001:db8::1]:0",
		"[2001:db8::1]":       "[2001:db8::1]:0",
		"":                    "",
		"not-an-ip":           "",
		"1.2.3.4, 5.6.7.8":    "",
		"evil\r\nX-Injected:": "",
	}
	for in, want := range tests {
		if got := httpevent.RemoteAddr(in); got != want {
			t.Errorf("RemoteAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodeBody(t *testing.T) {
	tests := []struct {
		body  string
		b64   bool
		want  string
		isErr bool
	}{
		{"plain", false, "plain", false},
		{"aGk=", true, "hi", false},
		{"aGk", true, "hi", false},
		{"-_8=", true, "\xfb\xff", false},
		{"***", true, "", true},
		{"", true, "", false},
	}
	for _, tt := range tests {
		got, err := httpevent.DecodeBody(tt.body, tt.b64)
		if (err != nil) != tt.isErr || string(got) != tt.want {
			t.Errorf("DecodeBody(%q, %v) = %q, %v", tt.body, tt.b64, got, err)
		}
		if err != nil && err.Error() != "httpevent: request body is not valid base64" {
			t.Errorf("error text %q", err)
		}
	}
}

func TestNewRequest(t *testing.T) {
	tests := []struct {
		name            string
		parts           httpevent.Parts
		method, path    string
		rawPath, query  string
		requestURI      string
		host, remote    string
		contentLength   int64
		body            string
		wantErr         bool
		headerAfterHost http.Header
	}{
		{
			name:   "full",
			parts:  httpevent.Parts{Method: "POST", Path: "/v1/usersig", RawQuery: "a=1", Header: http.Header{"Host": {"h.example"}, "X-A": {"1"}}, Body: []byte("{}"), SourceIP: "192.0.2.1"},
			method: "POST", path: "/v1/usersig", query: "a=1", requestURI: "/v1/usersig?a=1", host: "h.example", remote: "192.0.2.1:0",
			contentLength: 2, body: "{}", headerAfterHost: http.Header{"X-A": {"1"}},
		},
		{
			name:   "defaults",
			parts:  httpevent.Parts{},
			method: "GET", path: "/", requestURI: "/", headerAfterHost: http.Header{},
		},
		{
			name:   "relative and escaped path",
			parts:  httpevent.Parts{Method: "GET", Path: "v1/a%2Fb", Host: "explicit"},
			method: "GET", path: "/v1/a/b", rawPath: "/v1/a%2Fb", requestURI: "/v1/a%2Fb", host: "explicit", headerAfterHost: http.Header{},
		},
		{
			name:   "bad escape kept",
			parts:  httpevent.Parts{Method: "GET", Path: "/%zz"},
			method: "GET", path: "/%zz", requestURI: "/%25zz", headerAfterHost: http.Header{},
		},
		{name: "bad method", parts: httpevent.Parts{Method: "GE T"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := httpevent.NewRequest(context.Background(), tt.parts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v", err)
			}
			if tt.wantErr {
				return
			}
			body, _ := io.ReadAll(r.Body)
			if r.Method != tt.method || r.URL.Path != tt.path || r.URL.RawPath != tt.rawPath || r.URL.RawQuery != tt.query ||
				r.RequestURI != tt.requestURI || r.Host != tt.host || r.RemoteAddr != tt.remote || r.ContentLength != tt.contentLength ||
				string(body) != tt.body || r.Proto != "HTTP/1.1" || !reflect.DeepEqual(r.Header, tt.headerAfterHost) {
				t.Errorf("request = %s %q raw %q ?%q uri %q host %q remote %q len %d body %q header %v",
					r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.RequestURI, r.Host, r.RemoteAddr, r.ContentLength, body, r.Header)
			}
		})
	}
}

func TestRecorder(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    httpevent.Response
	}{
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {}, httpevent.Response{Status: 200, Header: http.Header{}, Body: []byte{}}},
		{"implicit 200", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("a")) }, httpevent.Response{Status: 200, Header: http.Header{}, Body: []byte("a")}},
		{"first status wins", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X", "1")
			w.WriteHeader(418)
			w.WriteHeader(500)
			w.Write([]byte("t"))
			w.Header().Set("Y", "late") // after the header was sent: recorded but harmless
		}, httpevent.Response{Status: 418, Header: http.Header{"X": {"1"}, "Y": {"late"}}, Body: []byte("t")}},
		{"invalid code", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(42) }, httpevent.Response{Status: 500, Header: http.Header{}, Body: []byte{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			got := httpevent.Serve(tt.handler, r)
			if got.Status != tt.want.Status || !reflect.DeepEqual(got.Header, tt.want.Header) || string(got.Body) != string(tt.want.Body) {
				t.Errorf("response %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEncodeBody(t *testing.T) {
	tests := []struct {
		ct   string
		body string
		want string
		b64  bool
	}{
		{"application/json", `{"a":1}`, `{"a":1}`, false},
		{"application/vnd.api+json", `{}`, `{}`, false},
		{"text/html; charset=utf-8", "<p>", "<p>", false},
		{"application/xml", "<a/>", "<a/>", false},
		{"", "text", "text", false},
		{"", "\xff", "/w==", true},
		{"application/octet-stream", "ab", "YWI=", true},
		{"bad/;;", "ab", "YWI=", true},
		{"application/json", "", "", false},
	}
	for _, tt := range tests {
		r := httpevent.Response{Status: 200, Header: http.Header{}, Body: []byte(tt.body)}
		if tt.ct != "" {
			r.Header.Set("Content-Type", tt.ct)
		}
		got, b64 := r.EncodeBody()
		if got != tt.want || b64 != tt.b64 {
			t.Errorf("EncodeBody(%q, %q) = %q, %v", tt.ct, tt.body, got, b64)
		}
	}
}

func TestHeaderMaps(t *testing.T) {
	h := http.Header{"A": {"1", "2"}, "Set-Cookie": {"x=1", "y=2"}, "Empty": {}}
	if got, want := httpevent.SingleHeaders(h, true), map[string]string{"A": "1, 2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SingleHeaders(skip) = %v", got)
	}
	if got, want := httpevent.SingleHeaders(h, false), map[string]string{"A": "1, 2", "Set-Cookie": "x=1, y=2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SingleHeaders = %v", got)
	}
	if got, want := httpevent.MultiHeaders(h), map[string][]string{"A": {"1", "2"}, "Set-Cookie": {"x=1", "y=2"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("MultiHeaders = %v", got)
	}
	if httpevent.SingleHeaders(nil, false) == nil || httpevent.MultiHeaders(nil) == nil {
		t.Error("nil header maps")
	}
}

func TestErrorResponse(t *testing.T) {
	r := httpevent.ErrorResponse(400, "invalid_request", "bad body")
	if r.Status != 400 || r.Header.Get("Content-Type") != "application/json; charset=utf-8" ||
		string(r.Body) != `{"error":{"code":"invalid_request","message":"bad body"}}` {
		t.Errorf("ErrorResponse = %+v %s", r, r.Body)
	}
}

func FuzzValues(f *testing.F) {
	for _, s := range []string{`{"x":"y","a":["b","c"],"i":true}`, `{"n":1e3,"f":false,"z":null}`, `{"":""}`, `{"k":[]}`, `[]`, `{"a":{"b":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var v httpevent.Values
		if err := json.Unmarshal(in, &v); err != nil {
			return
		}
		q, err := url.ParseQuery(v.Encode())
		if err != nil {
			t.Fatalf("Encode produced an unparsable query %q: %v", v.Encode(), err)
		}
		for k, vs := range v {
			want := vs
			if len(want) == 0 {
				want = []string{""}
			}
			if k == "" && len(vs) == 0 {
				continue // a bare empty key has no query form
			}
			if !reflect.DeepEqual(q[k], want) {
				t.Fatalf("key %q: round trip %q, want %q", k, q[k], want)
			}
		}
		_ = v.Header()
	})
}
