package ban

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/callsign-dev/callsign/shared/awsapi/dynamodb"
)

// Memory is an in-instance Store (tests, the local server). Entries past
// their Keep time are forgotten.
type Memory struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]Entry
}

// NewMemory returns an empty Memory store; now is the clock (nil: time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, entries: make(map[string]Entry)}
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, userID string) (Entry, bool, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[userID]
	if ok && !e.Keep.IsZero() && !m.now().Before(e.Keep) {
		delete(m.entries, userID)
		return Entry{}, false, nil
	}
	return e, ok, nil
}

// Put implements Store.
func (m *Memory) Put(ctx context.Context, userID string, e Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[userID] = e
	return nil
}

// DynamoDBAPI is the part of the DynamoDB client the store uses; the rate
// limiter needs the same two actions, so the function role needs no new
// permission.
type DynamoDBAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)
}

// DynamoDB is a shared Store in the rate-limit table (partition key "pk"):
// an item holds "ban" (S, the entry's JSON), "until" (N, Unix ms when the
// item stops being live; the largest int64 for no end) and "exp" (N, Unix
// s, the table's TTL attribute, absent for no end). Liveness is decided on
// "until", so correctness never depends on TTL deletion.
type DynamoDB struct {
	client DynamoDBAPI
	table  string
	prefix string
	now    func() time.Time
}

// NewDynamoDB returns a DynamoDB store on table with the rate limiter's
// prefix; now is the clock (nil: time.Now).
func NewDynamoDB(client DynamoDBAPI, table, prefix string, now func() time.Time) *DynamoDB {
	if now == nil {
		now = time.Now
	}
	return &DynamoDB{client: client, table: table, prefix: prefix, now: now}
}

func (s *DynamoDB) key(userID string) dynamodb.Item {
	return dynamodb.Item{"pk": dynamodb.S(s.prefix + keyPrefix + userID)}
}

func num(v int64) dynamodb.AttributeValue { return dynamodb.Int(v) }

// Get implements Store.
func (s *DynamoDB) Get(ctx context.Context, userID string) (Entry, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      s.table,
		Key:            s.key(userID),
		ConsistentRead: true,
	})
	if err != nil {
		return Entry{}, false, fmt.Errorf("ban: dynamodb: %w", err)
	}
	until, ok1 := out.Item["until"].AsN()
	rec, ok2 := out.Item["ban"].AsS()
	if !ok1 || !ok2 {
		return Entry{}, false, nil
	}
	if ms, err := strconv.ParseInt(until, 10, 64); err != nil || ms <= s.now().UnixMilli() {
		return Entry{}, false, nil
	}
	e, err := decode([]byte(rec))
	return e, err == nil, err
}

// Put implements Store.
func (s *DynamoDB) Put(ctx context.Context, userID string, e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("ban: encoding: %w", err)
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                s.table,
		Key:                      s.key(userID),
		ExpressionAttributeNames: map[string]string{"#ban": "ban", "#until": "until"},
		ExpressionAttributeValues: dynamodb.Item{
			":ban": dynamodb.S(string(b)),
		},
	}
	if e.Keep.IsZero() {
		in.UpdateExpression = "SET #ban = :ban, #until = :until REMOVE #exp"
		in.ExpressionAttributeNames["#exp"] = "exp"
		in.ExpressionAttributeValues[":until"] = num(1<<63 - 1)
	} else {
		in.UpdateExpression = "SET #ban = :ban, #until = :until, #exp = :exp"
		in.ExpressionAttributeNames["#exp"] = "exp"
		in.ExpressionAttributeValues[":until"] = num(e.Keep.UnixMilli())
		in.ExpressionAttributeValues[":exp"] = num(e.Keep.Unix() + 1)
	}
	if _, err := s.client.UpdateItem(ctx, in); err != nil {
		return fmt.Errorf("ban: dynamodb: %w", err)
	}
	return nil
}
