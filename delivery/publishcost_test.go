package delivery

import (
	"testing"
	"time"
)

func TestPublishCostInitialCrossover(t *testing.T) {
	c := newPublishCost()
	for _, tc := range []struct {
		n    int
		want bool
	}{{0, false}, {1, false}, {2, false}, {20, false}, {21, true}, {256, true}} {
		if got := c.batch(tc.n); got != tc.want {
			t.Errorf("batch(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestPublishCostFollowsLoad(t *testing.T) {
	c := newPublishCost()
	// Under load each message published alone took 1ms.
	for range 20 {
		c.single(8, 8*time.Millisecond)
	}
	if !c.batch(4) {
		t.Errorf("batch(4) = false after messages took 1ms each, want true (estimates %v a message, %v a batch)", c.perMessage, c.perBatch)
	}
	if c.batch(1) {
		t.Error("batch(1) = true, want false: one message is never batched")
	}
	// Once the disk is idle again, small sets go one at a time.
	for range 40 {
		c.single(4, 400*time.Microsecond)
	}
	if c.batch(4) {
		t.Errorf("batch(4) = true after messages took 0.1ms each, want false (estimates %v a message, %v a batch)", c.perMessage, c.perBatch)
	}
}

func TestPublishCostDampsOneStall(t *testing.T) {
	c := newPublishCost()
	c.batched(2 * time.Second)
	if want := initialPerBatch + time.Duration(costWeight*float64((maxJump-1)*initialPerBatch)); c.perBatch > want+time.Microsecond {
		t.Errorf("after one 2s batch the estimate is %v, want at most %v", c.perBatch, want)
	}
	if !c.batch(256) {
		t.Error("batch(256) = false after one slow batch, want true")
	}
}
