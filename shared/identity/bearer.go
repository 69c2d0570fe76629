package identity

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// bearerToken extracts the token from an Authorization header value of the
// form "Bearer <token>" (scheme case-insensitive, RFC 6750). It returns false
// for an empty header, another scheme, or a token containing whitespace.
func bearerToken(authorization string) (string, bool) {
	scheme, rest, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok := strings.TrimLeft(rest, " ")
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", false
	}
	return tok, true
}

// maxPeekBytes bounds the compact JWS that peekJWS decodes.
const maxPeekBytes = 64 << 10

// peekJWS returns the header "alg" and the payload "iss" of a compact JWS
// without verifying anything, only to route the token to the verifier that
// owns it and to refuse disallowed algorithms early. ok is false unless the
// token is three base64url segments whose first two decode to JSON objects;
// alg or iss is "" when absent or not a string.
func peekJWS(tok string) (alg, iss string, ok bool) {
	if len(tok) > maxPeekBytes || strings.Count(tok, ".") != 2 {
		return "", "", false
	}
	first := strings.IndexByte(tok, '.')
	last := strings.LastIndexByte(tok, '.')
	header, ok := decodeSegment(tok[:first])
	if !ok {
		return "", "", false
	}
	payload, ok := decodeSegment(tok[first+1 : last])
	if !ok {
		return "", "", false
	}
	return stringMember(header, "alg"), stringMember(payload, "iss"), true
}

// decodeSegment decodes one base64url (unpadded) JSON object segment.
func decodeSegment(seg string) (map[string]json.RawMessage, bool) {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// stringMember returns m[name] when it is a JSON string, else "".
func stringMember(m map[string]json.RawMessage, name string) string {
	raw, ok := m[name]
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return ""
	}
	return s
}
