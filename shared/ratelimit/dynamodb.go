package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/callsign-dev/callsign/shared/awsapi/dynamodb"
)

// DynamoDBAPI is the part of the DynamoDB client the DynamoDB limiter uses;
// *dynamodb.Client (shared/awsapi/dynamodb) satisfies it. IAM needs
// dynamodb:UpdateItem and dynamodb:GetItem on the table.
type DynamoDBAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)
}

// DefaultDynamoDBAttempts is how many conditional writes one DynamoDB
// decision may make before it gives up on a contended key.
const DefaultDynamoDBAttempts = 8

// DynamoDBOption configures NewDynamoDB.
type DynamoDBOption func(*DynamoDB)

// WithDynamoDBClock sets the clock decisions are made at (default
// time.Now).
func WithDynamoDBClock(now func() time.Time) DynamoDBOption {
	return func(d *DynamoDB) {
		if now != nil {
			d.now = now
		}
	}
}

// WithDynamoDBAttempts sets how many conditional writes a decision may make
// when other instances keep winning the race for the same key (default
// DefaultDynamoDBAttempts; values below 2 are raised to 2).
func WithDynamoDBAttempts(n int) DynamoDBOption {
	return func(d *DynamoDB) { d.attempts = max(n, 2) }
}

// DynamoDB is a shared Limiter on one DynamoDB table, GCRA in two
// conditional UpdateItem phases (no transactions, no locks, no
// read-modify-write race: every write is conditional on the state it was
// computed from).
//
// Table: partition key "pk" (S), on-demand billing. Items hold "tat" (N,
// the theoretical arrival time in microseconds since the Unix epoch) and
// "exp" (N, epoch seconds when the bucket is full again, plus 2 s), meant
// as the table's TTL attribute. Expiry only saves storage: a stale item
// decides like a missing one, so correctness never depends on TTL
// deletion (which is lazy on AWS and absent in dynalite).
//
// Time is the function's clock (Lambda and SCF hosts are NTP-synced).
// Cost per decision: 1 write for a new or idle key, 2 for an active key, 1
// for a denial, plus a strongly consistent read when DynamoDB does not
// return the old item on a failed condition (dynalite; real DynamoDB does).
//
// When other writers win the race for the same key DefaultDynamoDBAttempts
// times in a row, the request is denied with RetryAfter of one interval:
// every lost race means another request on that key was admitted, so the
// key is hot and denying is the conservative answer.
type DynamoDB struct {
	client   DynamoDBAPI
	table    string
	prefix   string
	now      func() time.Time
	attempts int
}

// NewDynamoDB returns a DynamoDB limiter on table. prefix separates stages
// sharing a table, e.g. "callsign:prod:".
func NewDynamoDB(client DynamoDBAPI, table, prefix string, opts ...DynamoDBOption) *DynamoDB {
	d := &DynamoDB{client: client, table: table, prefix: prefix, now: time.Now, attempts: DefaultDynamoDBAttempts}
	for _, o := range opts {
		o(d)
	}
	return d
}

// DynamoDB item attribute names.
const (
	attrPK  = "pk"
	attrTAT = "tat"
	attrExp = "exp"
)

// gcra holds one decision's quantities, all in microseconds since the epoch
// or microsecond durations.
type gcra struct {
	p      Policy
	now    int64 // decision time
	t      int64 // emission interval T = Period/Rate
	tau    int64 // T × Burst: how long an empty bucket takes to fill
	maxTat int64 // now + tau − T: the latest tat that still admits a request
	exp    string
}

// Allow decides one request for key under p. Errors are store failures or
// an invalid policy.
func (d *DynamoDB) Allow(ctx context.Context, key string, p Policy) (Decision, error) {
	if err := p.Validate(); err != nil {
		return Decision{}, err
	}
	now := d.now().UnixMicro()
	t := p.Interval().Microseconds()
	g := gcra{p: p, now: now, t: t, tau: t * int64(p.Burst)}
	g.maxTat = now + g.tau - t
	g.exp = strconv.FormatInt((now+g.tau)/1e6+2, 10)
	pk := dynamodb.Item{attrPK: dynamodb.S(d.prefix + key)}

	tat, known := int64(0), false
	for range d.attempts {
		if !known || tat <= now {
			// Phase A: new or idle bucket (tat missing or in the past).
			old, ok, err := d.phaseA(ctx, pk, g)
			if err != nil {
				return Decision{}, err
			}
			if ok {
				return g.allowed(now + t), nil
			}
			tat, known = old, true
			if tat <= now {
				// Missing, or a writer with a slower clock set a tat we
				// already consider idle; phase A again with fresh state.
				continue
			}
		}
		if tat > g.maxTat {
			return g.denied(tat), nil
		}
		// Phase B: active bucket with room; tat' = tat + T.
		newTat, old, ok, err := d.phaseB(ctx, pk, g)
		if err != nil {
			return Decision{}, err
		}
		if ok {
			return g.allowed(newTat), nil
		}
		tat = old // lost a race: decide again with the winner's state
	}
	return Decision{Limit: p.Burst, RetryAfter: p.Interval(), ResetAfter: time.Duration(g.tau) * time.Microsecond}, nil
}

// phaseA sets tat = now + T if the key has no tat or tat <= now. On a failed
// condition it returns the current tat (0 when the item is gone).
func (d *DynamoDB) phaseA(ctx context.Context, pk dynamodb.Item, g gcra) (int64, bool, error) {
	_, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                d.table,
		Key:                      pk,
		UpdateExpression:         "SET #tat = :nowPlusT, #exp = :exp",
		ConditionExpression:      "attribute_not_exists(#tat) OR #tat <= :now",
		ExpressionAttributeNames: map[string]string{"#tat": attrTAT, "#exp": attrExp},
		ExpressionAttributeValues: dynamodb.Item{
			":nowPlusT": number(g.now + g.t),
			":now":      number(g.now),
			":exp":      dynamodb.N(g.exp),
		},
		ReturnValuesOnConditionCheckFailure: dynamodb.ReturnAllOld,
	})
	if err == nil {
		return 0, true, nil
	}
	tat, err := d.currentTat(ctx, pk, err)
	return tat, false, err
}

// phaseB adds T to tat if now < tat <= maxTat, returning the new tat. On a
// failed condition it returns the current tat (0 when the item is gone).
func (d *DynamoDB) phaseB(ctx context.Context, pk dynamodb.Item, g gcra) (newTat, current int64, ok bool, err error) {
	out, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                d.table,
		Key:                      pk,
		UpdateExpression:         "SET #tat = #tat + :t, #exp = :exp",
		ConditionExpression:      "#tat > :now AND #tat <= :maxTat",
		ExpressionAttributeNames: map[string]string{"#tat": attrTAT, "#exp": attrExp},
		ExpressionAttributeValues: dynamodb.Item{
			":t":      number(g.t),
			":now":    number(g.now),
			":maxTat": number(g.maxTat),
			":exp":    dynamodb.N(g.exp),
		},
		ReturnValues:                        dynamodb.ReturnUpdatedNew,
		ReturnValuesOnConditionCheckFailure: dynamodb.ReturnAllOld,
	})
	if err == nil {
		tat, present, derr := decodeTat(out.Attributes)
		if derr != nil || !present {
			return 0, 0, false, fmt.Errorf("ratelimit: dynamodb: update returned no usable tat: %w", errors.Join(derr, errMissingTat))
		}
		return tat, 0, true, nil
	}
	current, err = d.currentTat(ctx, pk, err)
	return 0, current, false, err
}

// errMissingTat reports an UpdateItem answer without the tat attribute.
var errMissingTat = errors.New("tat attribute missing")

// currentTat turns a failed conditional write into the item's current tat:
// from the exception's old item when DynamoDB returned it, otherwise from a
// strongly consistent GetItem (dynalite ignores
// ReturnValuesOnConditionCheckFailure). Other errors are store failures.
func (d *DynamoDB) currentTat(ctx context.Context, pk dynamodb.Item, updateErr error) (int64, error) {
	var ccf *dynamodb.ConditionalCheckFailedError
	if !errors.As(updateErr, &ccf) {
		return 0, fmt.Errorf("ratelimit: dynamodb update: %w", updateErr)
	}
	item := ccf.Item
	if item == nil {
		out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:                d.table,
			Key:                      pk,
			ConsistentRead:           true,
			ProjectionExpression:     "#tat",
			ExpressionAttributeNames: map[string]string{"#tat": attrTAT},
		})
		if err != nil {
			return 0, fmt.Errorf("ratelimit: dynamodb get: %w", err)
		}
		item = out.Item
	}
	tat, _, err := decodeTat(item)
	if err != nil {
		return 0, fmt.Errorf("ratelimit: dynamodb: %w", err)
	}
	return tat, nil // a missing item reads as tat 0: idle
}

// decodeTat reads the tat attribute of a stored item. present is false when
// the item or the attribute is absent; a tat that is not a non-negative
// integer number is an error (the item was not written by this limiter).
func decodeTat(item dynamodb.Item) (tat int64, present bool, err error) {
	av, ok := item[attrTAT]
	if !ok {
		return 0, false, nil
	}
	n, ok := av.AsN()
	if !ok {
		return 0, false, errors.New("tat attribute is not a number")
	}
	tat, err = strconv.ParseInt(n, 10, 64)
	if err != nil || tat < 0 {
		return 0, false, fmt.Errorf("tat attribute is not a non-negative integer (%d bytes)", len(n))
	}
	return tat, true, nil
}

// number is an N attribute value.
func number(v int64) dynamodb.AttributeValue { return dynamodb.Int(v) }

// allowed is the decision after a write that set the bucket's tat to tat.
func (g gcra) allowed(tat int64) Decision {
	return Decision{
		Allowed:    true,
		Limit:      g.p.Burst,
		Remaining:  int(min(max((g.now+g.tau-tat)/g.t, 0), int64(g.p.Burst))),
		ResetAfter: micros(max(tat-g.now, 0)),
	}
}

// denied is the decision when tat > maxTat.
func (g gcra) denied(tat int64) Decision {
	return Decision{
		Limit:      g.p.Burst,
		RetryAfter: micros(tat - g.maxTat),
		ResetAfter: micros(tat - g.now),
	}
}

// micros converts microseconds to a Duration, saturating instead of
// overflowing (a corrupt stored tat must not produce a negative wait).
func micros(us int64) time.Duration {
	const maxMicros = math.MaxInt64 / int64(time.Microsecond)
	if us > maxMicros {
		return math.MaxInt64
	}
	return time.Duration(us) * time.Microsecond
}
