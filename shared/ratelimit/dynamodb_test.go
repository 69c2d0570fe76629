package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/awsapi/dynamodb"
)

// scriptedAPI answers the limiter's DynamoDB calls from functions.
type scriptedAPI struct {
	update  func(in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error)
	get     func(in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)
	updates atomic.Int64
	gets    atomic.Int64
}

func (s *scriptedAPI) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
	s.updates.Add(1)
	return s.update(in)
}

func (s *scriptedAPI) GetItem(_ context.Context, in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
	s.gets.Add(1)
	if s.get == nil {
		return nil, errors.New("unexpected GetItem")
	}
	return s.get(in)
}

// isPhaseB tells the two conditional updates apart.
func isPhaseB(in *dynamodb.UpdateItemInput) bool {
	return strings.Contains(in.UpdateExpression, "#tat + :t")
}

// ccfWith is a condition failure carrying an item with tat (nil: no item).
func ccfWith(tat *string) error {
	e := &dynamodb.ConditionalCheckFailedError{}
	if tat != nil {
		e.Item = dynamodb.Item{attrTAT: dynamodb.N(*tat)}
	}
	return e
}

// TestDynamoDBErrors: store failures and unusable items are wrapped errors
// that name neither the key nor any value.
func TestDynamoDBErrors(t *testing.T) {
	clk := newFakeClock()
	nowPlus := func(d time.Duration) string { return strconv.FormatInt(clk.Now().Add(d).UnixMicro(), 10) }
	p := Policy{Rate: 5, Period: time.Minute, Burst: 5}
	boom := errors.New("boom")
	tests := []struct {
		name    string
		api     *scriptedAPI
		wantErr string
		wantIs  error
	}{
		{
			name:    "update fails",
			api:     &scriptedAPI{update: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) { return nil, boom }},
			wantErr: "ratelimit: dynamodb update: boom",
			wantIs:  boom,
		},
		{
			name: "get fails",
			api: &scriptedAPI{
				update: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) { return nil, ccfWith(nil) },
				get:    func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) { return nil, boom },
			},
			wantErr: "ratelimit: dynamodb get: boom",
			wantIs:  boom,
		},
		{
			name: "tat is a string",
			api: &scriptedAPI{update: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
				return nil, &dynamodb.ConditionalCheckFailedError{Item: dynamodb.Item{attrTAT: dynamodb.S("secret-ish")}}
			}},
			wantErr: "ratelimit: dynamodb: tat attribute is not a number",
		},
		{
			name: "tat is not an integer",
			api: &scriptedAPI{update: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
				return nil, ccfWith(new("1.5e3"))
			}},
			wantErr: "ratelimit: dynamodb: tat attribute is not a non-negative integer (5 bytes)",
		},
		{
			name: "phase B answer without tat",
			api: &scriptedAPI{update: func(in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
				if isPhaseB(in) {
					return &dynamodb.UpdateItemOutput{}, nil
				}
				return nil, ccfWith(new(nowPlus(12 * time.Second)))
			}},
			wantErr: "ratelimit: dynamodb: update returned no usable tat: tat attribute missing",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lim := NewDynamoDB(tc.api, "limits", "callsign:test:", WithDynamoDBClock(clk.Now))
			d, err := lim.Allow(context.Background(), "usersig:alice", p)
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("err does not wrap %v", tc.wantIs)
			}
			if d != (Decision{}) {
				t.Fatalf("decision %+v with an error", d)
			}
		})
	}
}

// TestDynamoDBAttemptsBounded: when every write loses (here: another
// writer's clock keeps setting a tat this instance already sees as idle),
// the decision ends after the configured attempts with a denial.
func TestDynamoDBAttemptsBounded(t *testing.T) {
	clk := newFakeClock()
	stale := strconv.FormatInt(clk.Now().Add(-time.Second).UnixMicro(), 10)
	api := &scriptedAPI{update: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		return nil, ccfWith(&stale)
	}}
	p := Policy{Rate: 5, Period: time.Minute, Burst: 5}
	lim := NewDynamoDB(api, "limits", "", WithDynamoDBClock(clk.Now), WithDynamoDBAttempts(3))
	d, err := lim.Allow(context.Background(), "k", p)
	if err != nil {
		t.Fatal(err)
	}
	want := Decision{Limit: 5, RetryAfter: 12 * time.Second, ResetAfter: time.Minute}
	if d != want || api.updates.Load() != 3 || api.gets.Load() != 0 {
		t.Fatalf("got %+v after %d updates and %d gets; want %+v after 3 updates", d, api.updates.Load(), api.gets.Load(), want)
	}
}

// TestDynamoDBRequests pins the wire contract: table, prefixed key, the two
// conditions, ALL_OLD and the exp attribute.
func TestDynamoDBRequests(t *testing.T) {
	clk := newFakeClock()
	now := clk.Now().UnixMicro()
	var seen []*dynamodb.UpdateItemInput
	api := &scriptedAPI{update: func(in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		seen = append(seen, in)
		if isPhaseB(in) {
			return &dynamodb.UpdateItemOutput{Attributes: dynamodb.Item{attrTAT: dynamodb.N(strconv.FormatInt(now+24e6, 10))}}, nil
		}
		return nil, ccfWith(new(strconv.FormatInt(now+12e6, 10)))
	}}
	lim := NewDynamoDB(api, "limits", "callsign:prod:", WithDynamoDBClock(clk.Now))
	d, err := lim.Allow(context.Background(), "usersig:alice", Policy{Rate: 5, Period: time.Minute, Burst: 5})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Decision{Allowed: true, Limit: 5, Remaining: 3, ResetAfter: 24 * time.Second}); d != want {
		t.Fatalf("decision %+v, want %+v", d, want)
	}
	if len(seen) != 2 {
		t.Fatalf("%d updates, want 2", len(seen))
	}
	exp := strconv.FormatInt((now+60e6)/1e6+2, 10)
	for i, want := range []struct{ update, cond string }{
		{"SET #tat = :nowPlusT, #exp = :exp", "attribute_not_exists(#tat) OR #tat <= :now"},
		{"SET #tat = #tat + :t, #exp = :exp", "#tat > :now AND #tat <= :maxTat"},
	} {
		in := seen[i]
		pk, _ := in.Key[attrPK].AsS()
		expGot, _ := in.ExpressionAttributeValues[":exp"].AsN()
		if in.TableName != "limits" || pk != "callsign:prod:usersig:alice" || in.UpdateExpression != want.update ||
			in.ConditionExpression != want.cond || in.ReturnValuesOnConditionCheckFailure != dynamodb.ReturnAllOld ||
			expGot != exp {
			t.Errorf("update %d: table %s pk %s update %q cond %q rv %q exp %v", i, in.TableName, pk, in.UpdateExpression, in.ConditionExpression, in.ReturnValuesOnConditionCheckFailure, in.ExpressionAttributeValues[":exp"])
		}
	}
}

// TestDynamoDBLostRace: another instance takes the last tokens between
// this instance's read and its conditional write; the write fails and the
// request is denied with the winner's state, against dynalite.
func TestDynamoDBLostRace(t *testing.T) {
	client := sharedDynamoDB(t)
	clk := newFakeClock()
	prefix := uniquePrefix(t)
	p := Policy{Rate: 3, Period: time.Minute, Burst: 3} // T = 20s
	other := NewDynamoDB(client, limitsTable, prefix, WithDynamoDBClock(clk.Now))
	var raced atomic.Bool
	api := &racingAPI{Client: client, before: func(in *dynamodb.UpdateItemInput) {
		if isPhaseB(in) && raced.CompareAndSwap(false, true) {
			for range 2 {
				if d, err := other.Allow(context.Background(), "k", p); err != nil || !d.Allowed {
					t.Errorf("competitor: %+v, %v", d, err)
				}
			}
		}
	}}
	lim := NewDynamoDB(api, limitsTable, prefix, WithDynamoDBClock(clk.Now))
	if d := allow(t, lim, "k", p); !d.Allowed {
		t.Fatalf("first: %+v", d)
	}
	d := allow(t, lim, "k", p)
	if want := (Decision{Limit: 3, RetryAfter: 20 * time.Second, ResetAfter: time.Minute}); d != want {
		t.Fatalf("after losing the race: %+v, want %+v", d, want)
	}
	if !raced.Load() {
		t.Fatal("the race hook never ran")
	}
}

// racingAPI runs before() ahead of each UpdateItem.
type racingAPI struct {
	*dynamodb.Client
	before func(in *dynamodb.UpdateItemInput)
}

func (r *racingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
	r.before(in)
	return r.Client.UpdateItem(ctx, in)
}

// TestDynamoDBStaleItemIgnored: an item whose TTL passed but which was never
// deleted (dynalite; AWS deletes lazily) decides like a missing one.
func TestDynamoDBStaleItemIgnored(t *testing.T) {
	lim, clk := NewDynamoDB(sharedDynamoDB(t), limitsTable, uniquePrefix(t)), newFakeClock()
	lim.now = clk.Now
	p := Policy{Rate: 2, Period: time.Minute, Burst: 2}
	allow(t, lim, "k", p)
	allow(t, lim, "k", p)
	clk.Advance(24 * time.Hour)
	if d := allow(t, lim, "k", p); !d.Allowed || d.Remaining != 1 || d.ResetAfter != 30*time.Second {
		t.Fatalf("after a day: %+v, want allowed, Remaining 1, ResetAfter 30s", d)
	}
}

// FuzzDynamoDBStoredTat feeds arbitrary stored tat values through both
// phases: never a panic, and every decision is consistent.
func FuzzDynamoDBStoredTat(f *testing.F) {
	for _, s := range []string{"0", "1", "1795780800000000", "1795780812000000", "9223372036854775807", "-5", "1e6", "", " 12", "99999999999999999999"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, old, updated string) {
		clk := newFakeClock()
		api := &scriptedAPI{update: func(in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
			if isPhaseB(in) {
				return &dynamodb.UpdateItemOutput{Attributes: dynamodb.Item{attrTAT: dynamodb.N(updated)}}, nil
			}
			return nil, ccfWith(&old)
		}}
		p := Policy{Rate: 5, Period: time.Minute, Burst: 5}
		d, err := NewDynamoDB(api, "t", "", WithDynamoDBClock(clk.Now)).Allow(context.Background(), "k", p)
		if err != nil {
			if d != (Decision{}) {
				t.Fatalf("decision %+v with error %v", d, err)
			}
			return
		}
		if d.Limit != 5 || d.Remaining < 0 || d.Remaining > 5 || d.ResetAfter < 0 ||
			d.Allowed && d.RetryAfter != 0 || !d.Allowed && (d.RetryAfter <= 0 || d.Remaining != 0) {
			t.Fatalf("inconsistent decision %+v for stored %q / %q", d, old, updated)
		}
	})
}
