package awsapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
)

var codePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// checkDecoded holds for every code and message DecodeError returns.
func checkDecoded(t *testing.T, code, msg string) {
	t.Helper()
	if code != "" && !codePattern.MatchString(code) {
		t.Fatalf("code %q is not a plain identifier", code)
	}
	if len(msg) > 256 || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\n\r\x00") {
		t.Fatalf("message %q is not one short clean line", msg)
	}
	if signatureCodes[code] && msg != "" {
		t.Fatalf("signature error %s kept its message", code)
	}
}

func FuzzDecodeError(f *testing.F) {
	for _, s := range []struct{ header, body string }{
		{"", `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`},
		{"ThrottlingException:http://internal", `{}`},
		{"", `{"code":"x#y:z","Message":"a\nb"}`},
		{"", `{"__type":"InvalidSignatureException","message":"secret"}`},
		{"", "<html>\xff</html>"},
		{"", `{"message":"\u0000\u2028"}`},
	} {
		f.Add(s.header, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		h := http.Header{}
		h.Set("X-Amzn-ErrorType", header)
		code, msg := DecodeError(h, body)
		checkDecoded(t, code, msg)
	})
}

// roundTripFunc is an in-memory transport.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzResponse feeds arbitrary answers (status, error-type header, body)
// through a whole call: no panic, a 2xx either decodes or is
// ErrInvalidResponse/ErrResponseTooLarge, and an error's text never holds
// a body byte sequence the decoder did not vet.
func FuzzResponse(f *testing.F) {
	f.Add(200, "", []byte(`{"Item":{"pk":{"S":"a"}}}`))
	f.Add(200, "", []byte(`{"Item":`))
	f.Add(400, "", []byte(`{"__type":"ns#ConditionalCheckFailedException","message":"The conditional request failed","Item":{"tat":{"N":"1"}}}`))
	f.Add(500, "", []byte(`<html>oops</html>`))
	f.Add(302, "", []byte(``))
	f.Add(400, "AccessDeniedException:", []byte(`{"message":"User is not authorized"}`))
	f.Fuzz(func(t *testing.T, status int, errType string, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		c, err := New(Options{
			Service: DynamoDB, Region: "us-east-1", Credentials: staticCreds(testCreds),
			Now: testclock.AtEpoch().Now, MaxAttempts: 1, MaxResponseBytes: 4096,
			HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				h := http.Header{}
				if errType != "" {
					h.Set("X-Amzn-ErrorType", errType)
				}
				return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
			})},
		})
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Item map[string]struct{ S, N *string }
		}
		var detail struct {
			Item map[string]struct{ S, N *string }
		}
		err = c.Do(context.Background(), Request{Operation: "GetItem", Output: &out, ErrorDetail: &detail})
		if status >= 200 && status < 300 {
			if err != nil && !errors.Is(err, ErrInvalidResponse) && !errors.Is(err, ErrResponseTooLarge) {
				t.Fatalf("2xx answer gave %v", err)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != status {
			t.Fatalf("status %d gave %v", status, err)
		}
		if e.Err == nil {
			checkDecoded(t, e.Code, e.Message)
		}
		want := "awsapi: dynamodb GetItem: "
		if !strings.HasPrefix(e.Error(), want) || strings.ContainsAny(e.Error(), "\n\r") {
			t.Fatalf("error text %q", e.Error())
		}
	})
}
