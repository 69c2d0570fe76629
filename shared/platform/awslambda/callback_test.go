package awslambda_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/callsign-dev/callsign/shared/platform/internal/apptest"
	"github.com/callsign-dev/callsign/shared/trtcevent"
)

// TestTRTCCallbackBodyIntact: a TRTC room callback through an HTTP API v2
// event reaches the application with its raw, tab-indented body byte for
// byte and its Sign / SdkAppId headers (lower-cased by API Gateway)
// readable, so the Sign still verifies (handbook fixture, key
// callsignTestKey2025).
func TestTRTCCallbackBodyIntact(t *testing.T) {
	const body = "{\n\t\"EventGroupId\":\t1,\n\t\"EventType\":\t103,\n\t\"CallbackTs\":\t1764777600123,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t\"c_8Jf2kQ7mT9xW1pLzR4vN0a\",\n\t\t\"EventTs\":\t1764777600,\n\t\t\"EventMsTs\":\t1764777600023,\n\t\t\"UserId\":\t\"wx_callee02\",\n\t\t\"Role\":\t20,\n\t\t\"TerminalType\":\t100,\n\t\t\"UserType\":\t2,\n\t\t\"Reason\":\t1\n\t}\n}"
	const sign = "jn5OD7CCAR/mEzl95YvNY+lVK5lBX4AyUNdixU2ulaU="
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /v1/callbacks/trtc", RawPath: "/v1/callbacks/trtc",
		Headers: map[string]string{"content-type": "application/json", "sign": sign, "sdkappid": "1400000000", "host": "api.example.com"},
		Body:    body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "gw-1", DomainName: "api.example.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/v1/callbacks/trtc", SourceIP: "203.0.113.9"},
		},
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(invoke(t, &apptest.App{}, string(raw)), &resp); err != nil {
		t.Fatal(err)
	}
	got := seen(t, resp.Body)
	if got.Body != body {
		t.Fatalf("body changed on the way:\n%q\nwant\n%q", got.Body, body)
	}
	h := http.Header(got.Header)
	if h.Get("Sign") != sign || h.Get("SdkAppId") != "1400000000" {
		t.Fatalf("headers %v", got.Header)
	}
	if !trtcevent.Verify("callsignTestKey2025", []byte(got.Body), h.Get("Sign")) {
		t.Fatal("the Sign no longer verifies after the adapter")
	}
}
