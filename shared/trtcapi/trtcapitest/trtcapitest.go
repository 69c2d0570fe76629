// Package trtcapitest is a loopback stand-in for the TRTC cloud API 3.0 in
// tests: an httptest server that checks every request's TC3-HMAC-SHA256
// signature with its own implementation of the algorithm, records the
// actions it accepted, and answers like Tencent (success, or an error code
// chosen by the test).
package trtcapitest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Call is one accepted API request.
type Call struct {
	// Action is X-TC-Action.
	Action string
	// Region is X-TC-Region.
	Region string
	// Token is X-TC-Token (temporary credentials).
	Token string
	// SdkAppID, RoomStr / RoomNum and UserIDs are the parameters.
	SdkAppID uint64
	RoomStr  string
	RoomNum  uint64
	UserIDs  []string
}

// Failure decides the answer to the n-th request (from 1) that passed the
// signature check: "" for success, or a Tencent error code.
type Failure func(n int, c Call) string

// Server is the fake API.
type Server struct {
	*httptest.Server
	// SecretID and SecretKey are the only credential it accepts.
	SecretID, SecretKey string

	mu       sync.Mutex
	calls    []Call
	rejected int
	n        int
	fail     Failure
	// onCall, when set, runs for every accepted call before it is answered.
	onCall func(Call)
}

// Start starts a fake accepting secretID/secretKey, stopped by t.Cleanup.
func Start(t testing.TB, secretID, secretKey string) *Server {
	t.Helper()
	s := &Server{SecretID: secretID, SecretKey: secretKey}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Host is the server's host:port, for an endpoint override.
func (s *Server) Host() string { return strings.TrimPrefix(s.URL, "http://") }

// SetFailure installs f (nil: always succeed).
func (s *Server) SetFailure(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

// OnCall installs a hook run for every accepted call (nil: none).
func (s *Server) OnCall(f func(Call)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCall = f
}

// Calls returns the accepted calls in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Rejected is the number of requests whose signature or shape was wrong.
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	c, code := s.check(r, body)
	s.mu.Lock()
	if code != "" {
		s.rejected++
		s.mu.Unlock()
		answer(w, code)
		return
	}
	s.n++
	n, fail, hook := s.n, s.fail, s.onCall
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	if hook != nil {
		hook(c)
	}
	if fail != nil {
		if code := fail(n, c); code != "" {
			answer(w, code)
			return
		}
	}
	answer(w, "")
}

// check verifies the request like the cloud API does and decodes it.
func (s *Server) check(r *http.Request, body []byte) (Call, string) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return Call{}, "InvalidParameter"
	}
	if r.Header.Get("X-TC-Version") != "2019-07-22" {
		return Call{}, "InvalidParameter"
	}
	auth := r.Header.Get("Authorization")
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return Call{}, "MissingParameter"
	}
	want := Authorization(s.SecretID, s.SecretKey, "trtc", r.Host, r.Header.Get("Content-Type"), ts, body)
	if !hmac.Equal([]byte(auth), []byte(want)) {
		return Call{}, "AuthFailure.SignatureFailure"
	}
	var p struct {
		SdkAppID uint64          `json:"SdkAppId"`
		RoomID   json.RawMessage `json:"RoomId"`
		UserIDs  []string        `json:"UserIds"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Call{}, "InvalidParameter"
	}
	c := Call{
		Action:   r.Header.Get("X-TC-Action"),
		Region:   r.Header.Get("X-TC-Region"),
		Token:    r.Header.Get("X-TC-Token"),
		SdkAppID: p.SdkAppID,
		UserIDs:  p.UserIDs,
	}
	switch c.Action {
	case "RemoveUserByStrRoomId", "DismissRoomByStrRoomId":
		if json.Unmarshal(p.RoomID, &c.RoomStr) != nil || c.RoomStr == "" {
			return Call{}, "InvalidParameter.RoomId"
		}
	case "RemoveUser", "DismissRoom":
		if json.Unmarshal(p.RoomID, &c.RoomNum) != nil || c.RoomNum == 0 {
			return Call{}, "InvalidParameter.RoomId"
		}
	default:
		return Call{}, "InvalidAction"
	}
	if strings.HasPrefix(c.Action, "RemoveUser") && (len(c.UserIDs) == 0 || len(c.UserIDs) > 10) {
		return Call{}, "InvalidParameter.UserIds"
	}
	return c, ""
}

// answer writes Tencent's response: {"Response":{"RequestId"}} or with an
// Error object (HTTP 200 either way).
func answer(w http.ResponseWriter, code string) {
	resp := map[string]any{"RequestId": "fake-request-id"}
	if code != "" {
		resp["Error"] = map[string]string{"Code": code, "Message": "fake error " + code}
	}
	b, _ := json.Marshal(map[string]any{"Response": resp})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// Authorization computes the TC3-HMAC-SHA256 Authorization header of a POST
// with signed headers content-type and host (Tencent Cloud API signature
// v3), independently of the SDK.
func Authorization(secretID, secretKey, service, host, contentType string, ts int64, body []byte) string {
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	sig := Signature(secretKey, service, host, contentType, ts, body)
	return fmt.Sprintf("TC3-HMAC-SHA256 Credential=%s/%s/%s/tc3_request, SignedHeaders=content-type;host, Signature=%s",
		secretID, date, service, sig)
}

// Signature is the hex TC3 signature of a POST request.
func Signature(secretKey, service, host, contentType string, ts int64, body []byte) string {
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	bodyHash := sha256.Sum256(body)
	canonical := "POST\n/\n\n" +
		"content-type:" + strings.ToLower(strings.TrimSpace(contentType)) + "\n" +
		"host:" + strings.ToLower(strings.TrimSpace(host)) + "\n\n" +
		"content-type;host\n" + hex.EncodeToString(bodyHash[:])
	canonHash := sha256.Sum256([]byte(canonical))
	toSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + date + "/" + service + "/tc3_request\n" + hex.EncodeToString(canonHash[:])
	k := mac([]byte("TC3"+secretKey), date)
	k = mac(k, service)
	k = mac(k, "tc3_request")
	return hex.EncodeToString(mac(k, toSign))
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
