package awsapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SigV4 facts (AWS Signature Version 4, header form).
const (
	// SigningAlgorithm names the algorithm in the Authorization header.
	SigningAlgorithm = "AWS4-HMAC-SHA256"
	// AmzDateFormat is the layout of X-Amz-Date (basic ISO 8601, UTC).
	AmzDateFormat = "20060102T150405Z"
	shortDate     = "20060102"
)

// unsignedHeaders are never part of the signature: the transport or a
// proxy may change them (canonical header keys).
var unsignedHeaders = map[string]bool{
	"Authorization":     true,
	"User-Agent":        true,
	"X-Amzn-Trace-Id":   true,
	"Expect":            true,
	"Transfer-Encoding": true,
}

// PayloadHash is the lowercase hex SHA-256 of a request body, as signed.
func PayloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Sign signs req in place with Signature Version 4 for service in region at
// t: it sets X-Amz-Date, X-Amz-Security-Token (when creds has a session
// token) and Authorization. payloadHash is PayloadHash of the body. Every
// header already on req is signed except User-Agent, Expect,
// Transfer-Encoding and X-Amzn-Trace-Id; so are host (req.Host, else the
// URL's host, without a default port) and content-length when
// req.ContentLength is positive. The path is URI-encoded once more as the
// canonical URI (every service but S3).
func Sign(req *http.Request, payloadHash string, creds Credentials, service, region string, t time.Time) {
	t = t.UTC()
	amzDate := t.Format(AmzDateFormat)
	req.Header.Set("X-Amz-Date", amzDate)
	if creds.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", creds.SessionToken)
	}
	host := signingHost(req)
	req.Host = host

	names, canonicalHeaders := canonicalHeaders(req, host)
	signedHeaders := strings.Join(names, ";")

	var cr strings.Builder
	cr.WriteString(req.Method)
	cr.WriteByte('\n')
	cr.WriteString(canonicalURI(req.URL))
	cr.WriteByte('\n')
	cr.WriteString(canonicalQuery(req.URL))
	cr.WriteByte('\n')
	cr.WriteString(canonicalHeaders)
	cr.WriteByte('\n')
	cr.WriteString(signedHeaders)
	cr.WriteByte('\n')
	cr.WriteString(payloadHash)

	scope := t.Format(shortDate) + "/" + region + "/" + service + "/aws4_request"
	crHash := sha256.Sum256([]byte(cr.String()))
	stringToSign := SigningAlgorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])

	key := signingKey(creds.SecretAccessKey, t.Format(shortDate), region, service)
	signature := hex.EncodeToString(hmacSHA256(key, []byte(stringToSign)))

	req.Header.Set("Authorization", SigningAlgorithm+" Credential="+creds.AccessKeyID+"/"+scope+
		", SignedHeaders="+signedHeaders+", Signature="+signature)
}

// signingKey derives the day's key: HMAC chain over date, region, service
// and the terminator, starting from "AWS4" + the secret key.
func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// signingHost is the Host the request is sent and signed with: req.Host or
// the URL's host, without the scheme's default port.
func signingHost(req *http.Request) string {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	port := ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		port = host[i+1:]
		if (port == "443" && req.URL.Scheme == "https") || (port == "80" && req.URL.Scheme == "http") {
			host = strings.TrimPrefix(strings.TrimSuffix(host[:i], "]"), "[")
		}
	}
	return host
}

// canonicalHeaders returns the sorted lowercase names of the signed
// headers and their canonical block (one "name:value\n" line each, values
// of a repeated header joined with commas, spaces trimmed and runs of
// spaces collapsed).
func canonicalHeaders(req *http.Request, host string) ([]string, string) {
	values := map[string][]string{"host": {host}}
	if req.ContentLength > 0 {
		values["content-length"] = []string{strconv.FormatInt(req.ContentLength, 10)}
	}
	for k, v := range req.Header {
		if unsignedHeaders[k] {
			continue
		}
		lk := strings.ToLower(k)
		if lk == "content-length" || lk == "host" {
			continue
		}
		values[lk] = append(values[lk], v...)
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range values[name] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(collapseSpaces(v))
		}
		b.WriteByte('\n')
	}
	return names, b.String()
}

// collapseSpaces trims spaces at both ends and turns every run of inner
// spaces into one.
func collapseSpaces(v string) string {
	v = strings.TrimSpace(strings.Trim(v, " "))
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	prevSpace := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' && prevSpace {
			continue
		}
		prevSpace = c == ' '
		b.WriteByte(c)
	}
	return b.String()
}

// canonicalURI is the escaped path encoded once more ("/" when empty).
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if u.Opaque != "" {
		p = opaquePath(u.Opaque)
	}
	if p == "" {
		return "/"
	}
	return uriEncode(p, false)
}

// opaquePath is the path part of an opaque URL ("//host/path").
func opaquePath(o string) string {
	o, _, _ = strings.Cut(o, "?")
	o = strings.TrimPrefix(o, "//")
	if i := strings.IndexByte(o, '/'); i >= 0 {
		return o[i:]
	}
	return ""
}

// canonicalQuery sorts the query parameters by encoded name, then value,
// and joins them as name=value with '&'.
func canonicalQuery(u *url.URL) string {
	q := u.Query()
	if len(q) == 0 {
		return ""
	}
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		ek := uriEncode(k, true)
		for _, v := range vs {
			pairs = append(pairs, pair{ek, uriEncode(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// uriEncode percent-encodes every byte but the unreserved characters
// (A-Z a-z 0-9 - _ . ~) with uppercase hex; '/' is kept unless slash is
// set.
func uriEncode(s string, slash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && !slash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
