package secret

import (
	"context"
	"errors"
	"testing"
)

func TestStoreErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *StoreError
		want string
		is   []error
	}{
		{name: "zero kind", err: &StoreError{Store: StoreAWSSSM}, want: "secret: aws-ssm: store failure", is: []error{ErrStoreFailure, ErrUnavailable}},
		{name: "all fields", err: &StoreError{Store: StoreAWSSecretsManager, Kind: ErrThrottled, Detail: "d", Code: "ThrottlingException", Status: 400, RequestID: "r"},
			want: "secret: aws-secretsmanager: throttled: d (code ThrottlingException) (HTTP 400) (request r)", is: []error{ErrThrottled, ErrUnavailable}},
		{name: "timeout shows cause", err: &StoreError{Store: StoreTencentSSM, Kind: ErrTimeout, cause: context.DeadlineExceeded},
			want: "secret: tencent-ssm: timed out: context deadline exceeded", is: []error{ErrTimeout, ErrUnavailable, context.DeadlineExceeded}},
		{name: "other causes are not printed", err: &StoreError{Store: StoreTencentSSM, Kind: ErrStoreFailure, cause: errors.New("raw " + testKey)},
			want: "secret: tencent-ssm: store failure", is: []error{ErrStoreFailure}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
			for _, target := range tt.is {
				if !errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v) = false", target)
				}
			}
		})
	}
}
