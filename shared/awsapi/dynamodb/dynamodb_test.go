package dynamodb

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/callsign-dev/callsign/shared/awsapi"
)

func TestAttributeValueJSON(t *testing.T) {
	in := UpdateItemInput{
		TableName:                           "limits",
		Key:                                 Item{"pk": S("callsign:prod:k")},
		UpdateExpression:                    "SET #tat = :t",
		ConditionExpression:                 "attribute_not_exists(#tat)",
		ExpressionAttributeNames:            map[string]string{"#tat": "tat"},
		ExpressionAttributeValues:           Item{":t": Int(-42), ":e": S("")},
		ReturnValuesOnConditionCheckFailure: ReturnAllOld,
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"TableName":"limits","Key":{"pk":{"S":"callsign:prod:k"}},"UpdateExpression":"SET #tat = :t",` +
		`"ConditionExpression":"attribute_not_exists(#tat)","ExpressionAttributeNames":{"#tat":"tat"},` +
		`"ExpressionAttributeValues":{":e":{"S":""},":t":{"N":"-42"}},"ReturnValuesOnConditionCheckFailure":"ALL_OLD"}`
	if string(b) != want {
		t.Fatalf("JSON\n %s\nwant\n %s", b, want)
	}
	var out GetItemOutput
	if err := json.Unmarshal([]byte(`{"Item":{"s":{"S":"x"},"n":{"N":"7"},"m":{"M":{}},"b":{"BOOL":true}}}`), &out); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		attr     string
		s, n     string
		okS, okN bool
	}{
		{"s", "x", "", true, false},
		{"n", "", "7", false, true},
		{"m", "", "", false, false},
		{"b", "", "", false, false},
		{"missing", "", "", false, false},
	}
	for _, tt := range tests {
		s, okS := out.Item[tt.attr].AsS()
		n, okN := out.Item[tt.attr].AsN()
		if s != tt.s || n != tt.n || okS != tt.okS || okN != tt.okN {
			t.Errorf("%s: AsS %q %v AsN %q %v", tt.attr, s, okS, n, okN)
		}
	}
}

// TestConditionalCheckFailed: the failure is typed and carries the item
// DynamoDB returned with ALL_OLD.
func TestConditionalCheckFailed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":{"tat":{"N":"42"}}}`)
	}))
	defer srv.Close()
	c, err := New(awsapi.Options{Region: "us-east-1", Endpoint: srv.URL, Credentials: func(context.Context) (awsapi.Credentials, error) {
		return awsapi.Credentials{AccessKeyID: "A", SecretAccessKey: "S"}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateItem(context.Background(), &UpdateItemInput{TableName: "t", Key: Item{"pk": S("k")}})
	var ccf *ConditionalCheckFailedError
	if !errors.As(err, &ccf) || !IsConditionalCheckFailed(err) {
		t.Fatalf("err = %v, want a ConditionalCheckFailedError", err)
	}
	if n, _ := ccf.Item["tat"].AsN(); n != "42" {
		t.Fatalf("item %+v", ccf.Item)
	}
	var ae *awsapi.Error
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != CodeConditionalCheckFailed {
		t.Fatalf("service error %+v", ae)
	}
	if got := (&ConditionalCheckFailedError{}).Error(); got != "dynamodb: ConditionalCheckFailedException" {
		t.Fatalf("hand-built error text %q", got)
	}
}
