package secret

import (
	"fmt"
	"strings"
)

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %s, %q,
// %x, %d, ...) prints the redacted form; without it, verbs that do not use
// String (such as %d) would print the fields.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// MarshalJSON implements json.Marshaler with the redacted form, so a Secret
// that ends up in a JSON document or response never carries its values.
// Use Parse to read a stored value; there is deliberately no way back.
func (s Secret) MarshalJSON() ([]byte, error) {
	return []byte(`"` + s.String() + `"`), nil
}

// scrub replaces any of s's values that occur in text. It is a second line
// of defence for text this package does not build itself (the Cache's Check
// errors).
func scrub(text string, s Secret) string {
	for _, v := range []string{s.SecretKey, s.PreviousSecretKey, s.WeChatAppSecret, s.TokenKey} {
		if len(v) >= 4 {
			text = strings.ReplaceAll(text, v, redacted)
		}
	}
	return text
}
