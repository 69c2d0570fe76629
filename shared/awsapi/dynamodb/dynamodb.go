// Package dynamodb is the part of the Amazon DynamoDB API that callsign's
// stores use (conditional UpdateItem, GetItem), with typed attribute
// values, over the awsapi client.
package dynamodb

import (
	"context"
	"errors"
	"strconv"

	"github.com/callsign-dev/callsign/shared/awsapi"
)

// AttributeValue is a DynamoDB attribute value of type S or N (the only
// types callsign stores); exactly one field is set. A value of another type
// read from the table decodes with neither set.
type AttributeValue struct {
	S *string `json:"S,omitempty"`
	N *string `json:"N,omitempty"`
}

// S is a string attribute value.
func S(v string) AttributeValue { return AttributeValue{S: &v} }

// N is a number attribute value in DynamoDB's decimal text.
func N(v string) AttributeValue { return AttributeValue{N: &v} }

// Int is a number attribute value.
func Int(v int64) AttributeValue { return N(strconv.FormatInt(v, 10)) }

// AsS returns the string of an S value.
func (a AttributeValue) AsS() (string, bool) {
	if a.S == nil {
		return "", false
	}
	return *a.S, true
}

// AsN returns the decimal text of an N value.
func (a AttributeValue) AsN() (string, bool) {
	if a.N == nil {
		return "", false
	}
	return *a.N, true
}

// Item is a DynamoDB item, or a key, by attribute name.
type Item map[string]AttributeValue

// ReturnValues and ReturnValuesOnConditionCheckFailure settings.
const (
	// ReturnUpdatedNew returns the updated attributes as they are after
	// the update.
	ReturnUpdatedNew = "UPDATED_NEW"
	// ReturnAllOld returns the whole item as it was (with a failed
	// condition: as it is).
	ReturnAllOld = "ALL_OLD"
)

// UpdateItemInput is the request of UpdateItem.
type UpdateItemInput struct {
	TableName                           string            `json:"TableName"`
	Key                                 Item              `json:"Key"`
	UpdateExpression                    string            `json:"UpdateExpression,omitempty"`
	ConditionExpression                 string            `json:"ConditionExpression,omitempty"`
	ExpressionAttributeNames            map[string]string `json:"ExpressionAttributeNames,omitempty"`
	ExpressionAttributeValues           Item              `json:"ExpressionAttributeValues,omitempty"`
	ReturnValues                        string            `json:"ReturnValues,omitempty"`
	ReturnValuesOnConditionCheckFailure string            `json:"ReturnValuesOnConditionCheckFailure,omitempty"`
}

// UpdateItemOutput is the answer of UpdateItem.
type UpdateItemOutput struct {
	// Attributes are the attributes ReturnValues asked for.
	Attributes Item `json:"Attributes"`
}

// GetItemInput is the request of GetItem.
type GetItemInput struct {
	TableName                string            `json:"TableName"`
	Key                      Item              `json:"Key"`
	ConsistentRead           bool              `json:"ConsistentRead,omitempty"`
	ProjectionExpression     string            `json:"ProjectionExpression,omitempty"`
	ExpressionAttributeNames map[string]string `json:"ExpressionAttributeNames,omitempty"`
}

// GetItemOutput is the answer of GetItem.
type GetItemOutput struct {
	// Item is nil when there is no item with the key.
	Item Item `json:"Item"`
}

// CodeConditionalCheckFailed is the error code of a failed condition.
const CodeConditionalCheckFailed = "ConditionalCheckFailedException"

// ConditionalCheckFailedError is a write whose condition expression was
// false. Item is the item as it is when the request asked for it with
// ReturnValuesOnConditionCheckFailure=ALL_OLD and the store returned it
// (DynamoDB does; dynalite does not), otherwise nil.
type ConditionalCheckFailedError struct {
	Item Item
	// Err is the service error, nil when built by hand.
	Err *awsapi.Error
}

// Error implements error.
func (e *ConditionalCheckFailedError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "dynamodb: " + CodeConditionalCheckFailed
}

// Unwrap returns the service error.
func (e *ConditionalCheckFailedError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// IsConditionalCheckFailed reports whether err is a failed condition.
func IsConditionalCheckFailed(err error) bool {
	var ccf *ConditionalCheckFailedError
	return errors.As(err, &ccf)
}

// Client calls DynamoDB. It is safe for concurrent use.
type Client struct {
	api *awsapi.Client
}

// New returns a DynamoDB client; opts.Service is set to awsapi.DynamoDB.
func New(opts awsapi.Options) (*Client, error) {
	opts.Service = awsapi.DynamoDB
	c, err := awsapi.New(opts)
	if err != nil {
		return nil, err
	}
	return &Client{api: c}, nil
}

// UpdateItem edits or creates one item. A false condition is a
// *ConditionalCheckFailedError.
func (c *Client) UpdateItem(ctx context.Context, in *UpdateItemInput) (*UpdateItemOutput, error) {
	var out UpdateItemOutput
	var detail struct {
		Item Item `json:"Item"`
	}
	err := c.api.Do(ctx, awsapi.Request{Operation: "UpdateItem", Input: in, Output: &out, ErrorDetail: &detail})
	if err != nil {
		var e *awsapi.Error
		if errors.As(err, &e) && e.Code == CodeConditionalCheckFailed {
			return nil, &ConditionalCheckFailedError{Item: detail.Item, Err: e}
		}
		return nil, err
	}
	return &out, nil
}

// GetItem reads one item.
func (c *Client) GetItem(ctx context.Context, in *GetItemInput) (*GetItemOutput, error) {
	var out GetItemOutput
	if err := c.api.Call(ctx, "GetItem", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Call sends any other DynamoDB operation (table administration in
// tests); see awsapi.Client.Call.
func (c *Client) Call(ctx context.Context, op string, in, out any) error {
	return c.api.Call(ctx, op, in, out)
}
