package teststore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/callsign-dev/callsign/shared/awsapi"
	"github.com/callsign-dev/callsign/shared/awsapi/dynamodb"
)

// DynamoDBClient returns a DynamoDB client for endpoint (a dynalite URL or
// any loopback stand-in) with static dummy credentials and region
// us-east-1, so that it never looks for real AWS credentials. It panics on
// an endpoint the client refuses (not loopback http, not https).
func DynamoDBClient(endpoint string) *dynamodb.Client {
	c, err := dynamodb.New(awsapi.Options{
		Region:   "us-east-1",
		Endpoint: endpoint,
		Credentials: func(context.Context) (awsapi.Credentials, error) {
			return awsapi.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		},
	})
	if err != nil {
		panic(fmt.Sprintf("teststore: DynamoDB client: %v", err))
	}
	return c
}

// TableDescription is the part of DescribeTable's answer the tests read.
type TableDescription struct {
	TableStatus string
	KeySchema   []struct{ AttributeName, KeyType string }
	// BillingModeSummary is absent for provisioned tables.
	BillingModeSummary *struct{ BillingMode string }
}

// DescribeTable returns the description of table.
func DescribeTable(ctx context.Context, client *dynamodb.Client, table string) (TableDescription, error) {
	var out struct{ Table TableDescription }
	if err := client.Call(ctx, "DescribeTable", map[string]string{"TableName": table}, &out); err != nil {
		return TableDescription{}, fmt.Errorf("teststore: describe table %s: %w", table, err)
	}
	return out.Table, nil
}

// CreateLimitsTable creates the rate-limit table layout (partition key "pk"
// of type S, on-demand billing) and waits until it is active. An existing
// table is not an error. TTL is not configured: dynalite rejects
// UpdateTimeToLive and the limiter does not depend on it.
func CreateLimitsTable(ctx context.Context, client *dynamodb.Client, table string) error {
	in := map[string]any{
		"TableName":            table,
		"AttributeDefinitions": []map[string]string{{"AttributeName": "pk", "AttributeType": "S"}},
		"KeySchema":            []map[string]string{{"AttributeName": "pk", "KeyType": "HASH"}},
		"BillingMode":          "PAY_PER_REQUEST",
	}
	err := client.Call(ctx, "CreateTable", in, nil)
	var ae *awsapi.Error
	if err != nil && !(errors.As(err, &ae) && ae.Code == "ResourceInUseException") {
		return fmt.Errorf("teststore: create table %s: %w", table, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		d, err := DescribeTable(ctx, client, table)
		if err == nil && d.TableStatus == "ACTIVE" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("teststore: wait for table %s: %w", table, errors.Join(ctx.Err(), err))
		case <-time.After(delay):
		}
	}
}
