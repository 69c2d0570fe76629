package callrecord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/callsign-dev/callsign/shared/awsapi/dynamodb"
)

// DynamoDBAPI is the part of the DynamoDB client the store uses;
// *dynamodb.Client satisfies it. These are the two actions the rate limiter
// already needs, so the function role needs no new permission.
type DynamoDBAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)
}

// DynamoDB is a shared Store in the rate-limit table (partition key "pk"
// of type S). An item holds "rec" (S, the record's JSON), "ver" (N, bumped
// by every write), "until" (N, Unix ms when the entry stops being live) and
// "exp" (N, Unix s, the table's TTL attribute). Liveness is decided on
// "until" at the store's clock, so correctness never depends on TTL
// deletion. Every write is a conditional UpdateItem: Create only over a
// dead item, Update only over the version it read, Claim only over a dead
// claim; Release sets "until" to 0.
type DynamoDB struct {
	client DynamoDBAPI
	table  string
	prefix string
	now    func() time.Time
}

// NewDynamoDB returns a DynamoDB store on table. prefix separates stages
// sharing the table (the rate limiter's prefix); now is the clock (nil:
// time.Now).
func NewDynamoDB(client DynamoDBAPI, table, prefix string, now func() time.Time) *DynamoDB {
	if now == nil {
		now = time.Now
	}
	return &DynamoDB{client: client, table: table, prefix: prefix, now: now}
}

// DynamoDB attribute names.
const (
	attrPK    = "pk"
	attrRec   = "rec"
	attrVer   = "ver"
	attrUntil = "until"
	attrExp   = "exp"
	attrRooms = "rooms"
)

var ddbNames = map[string]string{"#rec": attrRec, "#ver": attrVer, "#until": attrUntil, "#exp": attrExp}

func (s *DynamoDB) key(k string) dynamodb.Item {
	return dynamodb.Item{attrPK: dynamodb.S(s.prefix + k)}
}

func num(v int64) dynamodb.AttributeValue { return dynamodb.Int(v) }

// expOf is the TTL attribute for an entry live until t: one second after.
func expOf(t time.Time) dynamodb.AttributeValue { return num(t.Unix() + 1) }

// isConditionFailed reports a failed condition expression.
func isConditionFailed(err error) bool {
	return dynamodb.IsConditionalCheckFailed(err)
}

// Create implements Store.
func (s *DynamoDB) Create(ctx context.Context, r Record) error {
	b, err := encode(r)
	if err != nil {
		return err
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                s.table,
		Key:                      s.key(recordKeyPrefix + r.Room.Key()),
		UpdateExpression:         "SET #rec = :rec, #ver = :one, #until = :until, #exp = :exp",
		ConditionExpression:      "attribute_not_exists(#until) OR #until <= :now",
		ExpressionAttributeNames: ddbNames,
		ExpressionAttributeValues: dynamodb.Item{
			":rec":   dynamodb.S(string(b)),
			":one":   num(1),
			":until": num(r.ExpiresAt.UnixMilli()),
			":exp":   expOf(r.ExpiresAt),
			":now":   num(s.now().UnixMilli()),
		},
	})
	if isConditionFailed(err) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("callrecord: dynamodb: %w", err)
	}
	return nil
}

// get reads the live record at key with its version.
func (s *DynamoDB) get(ctx context.Context, key dynamodb.Item) (Record, string, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      s.table,
		Key:            key,
		ConsistentRead: true,
	})
	if err != nil {
		return Record{}, "", fmt.Errorf("callrecord: dynamodb: %w", err)
	}
	until, ok := out.Item[attrUntil].AsN()
	if !ok {
		return Record{}, "", ErrNotFound
	}
	if ms, err := strconv.ParseInt(until, 10, 64); err != nil || ms <= s.now().UnixMilli() {
		return Record{}, "", ErrNotFound
	}
	rec, ok1 := out.Item[attrRec].AsS()
	ver, ok2 := out.Item[attrVer].AsN()
	if !ok1 || !ok2 {
		return Record{}, "", errors.New("callrecord: dynamodb: item is not a call record")
	}
	r, err := decode([]byte(rec))
	return r, ver, err
}

// Get implements Store.
func (s *DynamoDB) Get(ctx context.Context, room Room) (Record, error) {
	r, _, err := s.get(ctx, s.key(recordKeyPrefix+room.Key()))
	return r, err
}

// Update implements Store.
func (s *DynamoDB) Update(ctx context.Context, room Room, fn func(*Record) error) (Record, error) {
	key := s.key(recordKeyPrefix + room.Key())
	for range maxUpdateAttempts {
		r, ver, err := s.get(ctx, key)
		if err != nil {
			return Record{}, err
		}
		if err := fn(&r); err != nil {
			return Record{}, err
		}
		b, err := encode(r)
		if err != nil {
			return Record{}, err
		}
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                s.table,
			Key:                      key,
			UpdateExpression:         "SET #rec = :rec, #ver = #ver + :one, #until = :until, #exp = :exp",
			ConditionExpression:      "#ver = :ver",
			ExpressionAttributeNames: ddbNames,
			ExpressionAttributeValues: dynamodb.Item{
				":rec":   dynamodb.S(string(b)),
				":one":   num(1),
				":ver":   dynamodb.N(ver),
				":until": num(r.ExpiresAt.UnixMilli()),
				":exp":   expOf(r.ExpiresAt),
			},
		})
		if err == nil {
			return r, nil
		}
		if !isConditionFailed(err) {
			return Record{}, fmt.Errorf("callrecord: dynamodb: %w", err)
		}
	}
	return Record{}, ErrConflict
}

// Claim implements Store.
func (s *DynamoDB) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	now := s.now()
	until := now.Add(ttl)
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                s.table,
		Key:                      s.key(claimKeyPrefix + key),
		UpdateExpression:         "SET #until = :until, #exp = :exp",
		ConditionExpression:      "attribute_not_exists(#until) OR #until <= :now",
		ExpressionAttributeNames: map[string]string{"#until": attrUntil, "#exp": attrExp},
		ExpressionAttributeValues: dynamodb.Item{
			":until": num(until.UnixMilli()),
			":exp":   expOf(until),
			":now":   num(now.UnixMilli()),
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("callrecord: dynamodb: %w", err)
	}
	return true, nil
}

// Extend implements Store.
func (s *DynamoDB) Extend(ctx context.Context, key string, ttl time.Duration) error {
	return s.setUntil(ctx, key, s.now().Add(ttl))
}

// Release implements Store.
func (s *DynamoDB) Release(ctx context.Context, key string) error {
	return s.setUntil(ctx, key, time.UnixMilli(0))
}

func (s *DynamoDB) setUntil(ctx context.Context, key string, until time.Time) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                s.table,
		Key:                      s.key(claimKeyPrefix + key),
		UpdateExpression:         "SET #until = :until, #exp = :exp",
		ExpressionAttributeNames: map[string]string{"#until": attrUntil, "#exp": attrExp},
		ExpressionAttributeValues: dynamodb.Item{
			":until": num(until.UnixMilli()),
			":exp":   expOf(until),
		},
	})
	if err != nil {
		return fmt.Errorf("callrecord: dynamodb: %w", err)
	}
	return nil
}

// AddUserRoom implements Store: the index is an item holding "rooms" (S,
// the JSON of room key → Unix ms), updated with the same versioned
// compare-and-swap as a record.
func (s *DynamoDB) AddUserRoom(ctx context.Context, userID string, room Room, until time.Time) error {
	key := s.key(userKeyPrefix + userID)
	for range maxUpdateAttempts {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: key, ConsistentRead: true})
		if err != nil {
			return fmt.Errorf("callrecord: dynamodb: %w", err)
		}
		u, ver := userRooms{}, "0"
		if v, ok := out.Item[attrVer].AsN(); ok {
			ver = v
		}
		if r, ok := out.Item[attrRooms].AsS(); ok {
			if err := json.Unmarshal([]byte(r), &u); err != nil {
				return fmt.Errorf("callrecord: stored user index is not valid JSON: %w", err)
			}
		}
		u.add(room, until.UnixMilli(), s.now().UnixMilli())
		b, err := json.Marshal(u)
		if err != nil {
			return fmt.Errorf("callrecord: encoding: %w", err)
		}
		latest := time.UnixMilli(u.latest())
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                s.table,
			Key:                      key,
			UpdateExpression:         "SET #rooms = :rooms, #ver = :next, #until = :until, #exp = :exp",
			ConditionExpression:      "attribute_not_exists(#ver) OR #ver = :ver",
			ExpressionAttributeNames: map[string]string{"#rooms": attrRooms, "#ver": attrVer, "#until": attrUntil, "#exp": attrExp},
			ExpressionAttributeValues: dynamodb.Item{
				":rooms": dynamodb.S(string(b)),
				":ver":   dynamodb.N(ver),
				":next":  num(mustInt(ver) + 1),
				":until": num(latest.UnixMilli()),
				":exp":   expOf(latest),
			},
		})
		if err == nil {
			return nil
		}
		if !isConditionFailed(err) {
			return fmt.Errorf("callrecord: dynamodb: %w", err)
		}
	}
	return ErrConflict
}

// UserRooms implements Store.
func (s *DynamoDB) UserRooms(ctx context.Context, userID string) ([]Room, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: s.table, Key: s.key(userKeyPrefix + userID), ConsistentRead: true,
	})
	if err != nil {
		return nil, fmt.Errorf("callrecord: dynamodb: %w", err)
	}
	r, ok := out.Item[attrRooms].AsS()
	if !ok {
		return nil, nil
	}
	u := userRooms{}
	if err := json.Unmarshal([]byte(r), &u); err != nil {
		return nil, fmt.Errorf("callrecord: stored user index is not valid JSON: %w", err)
	}
	return u.rooms(s.now().UnixMilli()), nil
}

// mustInt parses a version number read from the table (0 when malformed:
// the conditional write then fails and the loop reads again).
func mustInt(v string) int64 {
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}
