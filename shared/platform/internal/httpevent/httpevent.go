// Package httpevent converts between the JSON HTTP events of serverless
// platforms (AWS API Gateway and Function URLs, Tencent SCF API Gateway and
// Function URLs) and net/http: it builds an *http.Request from an event's
// parts, records an http.Handler's response in memory, and decides how the
// response body travels in a JSON event response (text or base64).
package httpevent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// Parts are the pieces of an HTTP request that an event carries.
type Parts struct {
	// Method is the HTTP method; it must be a valid token.
	Method string
	// Path is the request path as the platform reports it. It may be
	// percent-encoded; an empty path means "/".
	Path string
	// RawQuery is the encoded query string without '?'.
	RawQuery string
	// Header holds the request headers.
	Header http.Header
	// Host is the Host header value; when empty, Header's "Host" is used.
	Host string
	// Body is the request body, already base64-decoded.
	Body []byte
	// SourceIP is the client IP address as the platform reports it (an IP,
	// or "ip:port"); it becomes RemoteAddr "ip:0" (or "[ip]:0").
	SourceIP string
}

// NewRequest builds a server-side request (as net/http would hand to a
// handler) from p. It fails on an invalid method; a path that cannot be
// unescaped is kept as given.
func NewRequest(ctx context.Context, p Parts) (*http.Request, error) {
	method := p.Method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(p.Body))
	if err != nil {
		return nil, fmt.Errorf("httpevent: building request: %w", err)
	}
	raw := p.Path
	if raw == "" {
		raw = "/"
	}
	if !strings.HasPrefix(raw, "/") {
		raw = "/" + raw
	}
	u := &url.URL{Path: raw, RawQuery: p.RawQuery}
	if unescaped, err := url.PathUnescape(raw); err == nil {
		u.Path = unescaped
		if unescaped != raw {
			// EscapedPath uses RawPath only when it is a valid encoding of Path.
			u.RawPath = raw
		}
	}
	r.URL = u
	r.RequestURI = u.RequestURI()
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	if p.Header != nil {
		r.Header = p.Header
	} else {
		r.Header = make(http.Header)
	}
	r.Host = p.Host
	if r.Host == "" {
		r.Host = r.Header.Get("Host")
	}
	r.Header.Del("Host")
	r.ContentLength = int64(len(p.Body))
	if len(p.Body) == 0 {
		r.Body = http.NoBody
	}
	r.RemoteAddr = RemoteAddr(p.SourceIP)
	return r, nil
}

// RemoteAddr formats a platform-reported client address as an
// http.Request.RemoteAddr: "ip:0" ("[ip]:0" for IPv6). An address that
// already carries a port keeps only its IP. It returns "" when the value is
// not an IP address, so a forged or malformed value never reaches a
// rate-limit key.
func RemoteAddr(source string) string {
	s := strings.TrimSpace(source)
	if s == "" {
		return ""
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	ip := net.ParseIP(strings.Trim(s, "[]"))
	if ip == nil {
		return ""
	}
	return net.JoinHostPort(ip.String(), "0")
}

// DecodeBody returns the request body of an event, base64-decoding it when
// the event says so. Both the standard and the URL-safe alphabet, padded or
// not, are accepted.
func DecodeBody(body string, isBase64 bool) ([]byte, error) {
	if !isBase64 {
		return []byte(body), nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(body); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("httpevent: request body is not valid base64")
}

// Response is a handler's response recorded in memory.
type Response struct {
	// Status is the HTTP status code (200 when the handler never set one).
	Status int
	// Header holds the response headers; it is never nil.
	Header http.Header
	// Body is the response body.
	Body []byte
}

// Recorder is an in-memory http.ResponseWriter. The zero value is not
// usable; call NewRecorder. A Recorder serves one request.
type Recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{header: make(http.Header)}
}

// Header returns the response headers to be sent.
func (w *Recorder) Header() http.Header { return w.header }

// WriteHeader records the status code; only the first call counts. A code
// outside 100..999 is recorded as 500 instead of panicking as net/http does.
func (w *Recorder) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		code = http.StatusInternalServerError
	}
	w.status = code
	w.wroteHeader = true
}

// Write appends to the body, sending an implicit 200 first.
func (w *Recorder) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(p)
}

// Flush is a no-op: the whole response is delivered at once.
func (w *Recorder) Flush() {}

// Result returns the recorded response. Headers are copied, so later writes
// do not change it.
func (w *Recorder) Result() Response {
	status := w.status
	if !w.wroteHeader {
		status = http.StatusOK
	}
	return Response{Status: status, Header: w.header.Clone(), Body: bytes.Clone(w.body.Bytes())}
}

// Serve runs h on r and returns the recorded response.
func Serve(h http.Handler, r *http.Request) Response {
	w := NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

// ErrorResponse is a response in the API's error shape (DESIGN §7) for
// failures the adapter detects before the application sees the request,
// such as a body that is not valid base64. message must not contain any
// caller-supplied data.
func ErrorResponse(status int, code, message string) Response {
	body, err := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}})
	if err != nil {
		// Marshalling two strings cannot fail.
		body = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	h := make(http.Header)
	h.Set("Content-Type", "application/json; charset=utf-8")
	return Response{Status: status, Header: h, Body: body}
}

// EncodeBody returns the body as it should travel in a JSON event response:
// the text itself, or base64 with isBase64 true when the body is not valid
// UTF-8 or its Content-Type is not textual.
func (r Response) EncodeBody() (body string, isBase64 bool) {
	if len(r.Body) == 0 {
		return "", false
	}
	if utf8.Valid(r.Body) && textual(r.Header.Get("Content-Type")) {
		return string(r.Body), false
	}
	return base64.StdEncoding.EncodeToString(r.Body), true
}

// textual reports whether a Content-Type carries text. An absent type
// counts as text (the body is then judged by UTF-8 validity alone).
func textual(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	switch mt {
	case "application/json", "application/problem+json", "application/xml",
		"application/javascript", "application/x-www-form-urlencoded", "image/svg+xml":
		return true
	}
	return strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
}

// SingleHeaders flattens headers into one value per name, joining repeated
// values with ", " as HTTP allows. Set-Cookie is left out when
// skipSetCookie is true (payload 2.0 responses carry cookies separately).
// The result is never nil.
func SingleHeaders(h http.Header, skipSetCookie bool) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) == 0 || (skipSetCookie && http.CanonicalHeaderKey(k) == "Set-Cookie") {
			continue
		}
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// MultiHeaders copies headers into a map of value lists; never nil.
func MultiHeaders(h http.Header) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Values is a JSON object whose members are each a string, an array of
// strings, a bare true (a flag without a value), false or null (absent), or
// a number (kept as its text). Tencent's API Gateway sends queryString (and
// possibly headers) in this shape.
type Values map[string][]string

// UnmarshalJSON implements json.Unmarshaler.
func (v *Values) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("httpevent: values must be a JSON object: %w", err)
	}
	out := make(Values, len(raw))
	for k, m := range raw {
		m = bytes.TrimSpace(m)
		if len(m) == 0 {
			continue
		}
		switch m[0] {
		case '"':
			var s string
			if err := json.Unmarshal(m, &s); err != nil {
				return fmt.Errorf("httpevent: value of %q: %w", k, err)
			}
			out[k] = []string{s}
		case '[':
			var ss []string
			if err := json.Unmarshal(m, &ss); err != nil {
				return fmt.Errorf("httpevent: value of %q must be a string, an array of strings or true: %w", k, err)
			}
			if ss == nil {
				ss = []string{}
			}
			out[k] = ss
		case 't':
			out[k] = []string{}
		case 'f', 'n':
			// false and null: the parameter is absent.
		default:
			var n json.Number
			if err := json.Unmarshal(m, &n); err != nil {
				return fmt.Errorf("httpevent: value of %q must be a string, an array of strings or true", k)
			}
			out[k] = []string{n.String()}
		}
	}
	*v = out
	return nil
}

// Encode renders the values as a query string in key order. A key with no
// values is written bare ("flag"), matching how it arrived; keys with values
// repeat per value ("a=b&a=c").
func (v Values) Encode() string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		ek := url.QueryEscape(k)
		vs := v[k]
		if len(vs) == 0 {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(ek)
			continue
		}
		for _, val := range vs {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(ek)
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(val))
		}
	}
	return b.String()
}

// Header converts the values to an http.Header (names canonicalised). A
// name without values becomes a header with an empty value.
func (v Values) Header() http.Header {
	h := make(http.Header, len(v))
	for k, vs := range v {
		if len(vs) == 0 {
			h.Add(k, "")
			continue
		}
		for _, val := range vs {
			h.Add(k, val)
		}
	}
	return h
}
