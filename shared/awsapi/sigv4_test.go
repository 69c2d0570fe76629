package awsapi

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The documented AWS Signature Version 4 examples (AWS General Reference,
// "Signature Version 4 signing process", and the SigV4 test suite), with
// the documentation's example credentials.
const (
	exampleAccessKey = "AKIDEXAMPLE"
	exampleSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

func TestSigningKeyDocumentedExample(t *testing.T) {
	// "Examples of how to derive a signing key for Signature Version 4".
	got := hex.EncodeToString(signingKey(exampleSecretKey, "20120215", "us-east-1", "iam"))
	if want := "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"; got != want {
		t.Fatalf("signing key = %s, want %s", got, want)
	}
}

func TestSignDocumentedExamples(t *testing.T) {
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	tests := []struct {
		name, method, url, service string
		header                     map[string]string
		want                       string
	}{
		{
			// The IAM ListUsers walkthrough of the signing process.
			name: "iam ListUsers", method: http.MethodGet, service: "iam",
			url:    "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
			want: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
				"SignedHeaders=content-type;host;x-amz-date, " +
				"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
		},
		{
			// The test suite's get-vanilla.
			name: "get-vanilla", method: http.MethodGet, service: "service",
			url: "https://example.amazonaws.com/",
			want: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
				"SignedHeaders=host;x-amz-date, " +
				"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			Sign(req, PayloadHash(nil), Credentials{AccessKeyID: exampleAccessKey, SecretAccessKey: exampleSecretKey}, tt.service, "us-east-1", at)
			if got := req.Header.Get("Authorization"); got != tt.want {
				t.Fatalf("Authorization =\n %s\nwant\n %s", got, tt.want)
			}
			if got := req.Header.Get("X-Amz-Date"); got != "20150830T123600Z" {
				t.Fatalf("X-Amz-Date = %q", got)
			}
			if _, ok := req.Header["X-Amz-Security-Token"]; ok {
				t.Fatal("X-Amz-Security-Token set without a session token")
			}
		})
	}
}

// TestSignMatchesSDK signs many seeded random requests with Sign and with
// the AWS SDK's signer (a test-only oracle) and wants byte-identical
// Authorization headers.
func TestSignMatchesSDK(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 2026))
	sdk := v4.NewSigner()
	for i := range 2000 {
		r := randomRequest(rng)
		mine, theirs := r.build(t), r.build(t)
		creds := r.creds
		Sign(mine, PayloadHash(r.body), creds, r.service, r.region, r.at)
		err := sdk.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken},
			theirs, PayloadHash(r.body), r.service, r.region, r.at)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
			if got, want := mine.Header.Get(h), theirs.Header.Get(h); got != want {
				t.Fatalf("request %d (%s %s, headers %v): %s =\n %s\nSDK:\n %s", i, r.method, r.url, r.header, h, got, want)
			}
		}
		if mine.Host != theirs.Host && theirs.Host != "" {
			t.Fatalf("request %d: Host %q, SDK %q", i, mine.Host, theirs.Host)
		}
	}
}

type randomReq struct {
	method, url, service, region string
	header                       [][2]string
	body                         []byte
	creds                        Credentials
	at                           time.Time
}

func (r randomReq) build(t *testing.T) *http.Request {
	t.Helper()
	req, err := http.NewRequest(r.method, r.url, strings.NewReader(string(r.body)))
	if err != nil {
		t.Fatalf("%s: %v", r.url, err)
	}
	if len(r.body) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for _, h := range r.header {
		req.Header.Add(h[0], h[1])
	}
	return req
}

func randomRequest(rng *rand.Rand) randomReq {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	str := func(alphabet string, maxLen int) string {
		n := rng.IntN(maxLen + 1)
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	const pathChars = "abcXYZ019-_.~/ %+=&!*'()$,;:@é"
	const queryChars = "abcXYZ019-_.~ /+=!*'()$,;:@"
	host := pick("dynamodb.us-east-1.amazonaws.com", "ssm.eu-west-1.amazonaws.com", "127.0.0.1", "localhost")
	scheme := pick("https", "http")
	port := pick("", "", ":443", ":80", ":8000")
	var path string
	for range rng.IntN(4) {
		path += "/" + url.PathEscape(str(pathChars, 6))
	}
	if rng.IntN(3) == 0 {
		path += "/"
	}
	q := url.Values{}
	for range rng.IntN(4) {
		k := str(queryChars, 5)
		for range 1 + rng.IntN(2) {
			q.Add(k, str(queryChars, 6))
		}
	}
	u := scheme + "://" + host + port + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var header [][2]string
	names := []string{"Content-Type", "X-Amz-Target", "X-Amz-Meta-Thing", "User-Agent", "Accept", "X-Custom", "Expect", "X-Amzn-Trace-Id"}
	for range rng.IntN(5) {
		v := str("ab c  d-/;=0", 12)
		header = append(header, [2]string{pick(names...), v})
	}
	var body []byte
	if rng.IntN(3) > 0 {
		body = []byte(str(`{"a":1, "TableName":"t"}`, 64))
	}
	creds := Credentials{AccessKeyID: "AKIA" + strings.ToUpper(str("abcdefghijklmnop0123", 16)), SecretAccessKey: str("abcdefghijKLMNOP/+0123456789", 40)}
	if creds.SecretAccessKey == "" {
		creds.SecretAccessKey = "s"
	}
	if rng.IntN(2) == 0 {
		creds.SessionToken = str("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ", 80)
	}
	return randomReq{
		method:  pick(http.MethodPost, http.MethodGet, http.MethodPut, http.MethodDelete),
		url:     u,
		service: pick("dynamodb", "ssm", "secretsmanager", "sts"),
		region:  pick("us-east-1", "eu-west-1", "ap-southeast-1", "cn-north-1"),
		header:  header,
		body:    body,
		creds:   creds,
		at:      time.Unix(1_400_000_000+rng.Int64N(600_000_000), 0).In(time.FixedZone("X", 3600*rng.IntN(12))),
	}
}

func ExampleSign() {
	req, _ := http.NewRequest(http.MethodGet, "https://example.amazonaws.com/", nil)
	Sign(req, PayloadHash(nil), Credentials{AccessKeyID: exampleAccessKey, SecretAccessKey: exampleSecretKey},
		"service", "us-east-1", time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC))
	fmt.Println(req.Header.Get("Authorization"))
	// Output: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
}
