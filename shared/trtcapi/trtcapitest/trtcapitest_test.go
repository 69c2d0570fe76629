package trtcapitest

import "testing"

// TestSignatureWorkedExample checks the fake's TC3 implementation against
// the worked example of Tencent's "Signature v3" documentation.
func TestSignatureWorkedExample(t *testing.T) {
	body := []byte(`{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`)
	got := Signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm", "cvm.tencentcloudapi.com", "application/json; charset=utf-8", 1551113065, body)
	const want = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
	if got != want {
		t.Fatalf("Signature = %s, want %s", got, want)
	}
	auth := Authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm", "cvm.tencentcloudapi.com", "application/json; charset=utf-8", 1551113065, body)
	const wantAuth = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=" + want
	if auth != wantAuth {
		t.Fatalf("Authorization = %s, want %s", auth, wantAuth)
	}
}
